"""Protocol cards: everything a run's numbers depend on, recorded in its ``run.json``.

A card names the env and its version, the data files (with sha256), the split and a hash of its task list,
the step cap and trials, the agent and its settings (with a hash of its prompt and demonstrations), the policy
backend, model and sampling, the seed, and the software (agentgym version and git commit, Python, key
packages). Two runs are comparable when their cards agree on :data:`METRIC_FIELDS`.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import platform
import subprocess
from pathlib import Path
from typing import Any

import agentgym

#: Card fields that change what a metric means; runs that differ on one are not comparable.
METRIC_FIELDS = ("env_id", "env_version", "env_kwargs", "env_protocol", "split", "task_ids_hash", "max_steps", "trials")

#: Packages of the core whose versions can change results (recorded when installed); the plugins name theirs
#: (:attr:`agentgym.plugins.Plugin.packages`).
KEY_PACKAGES = ("gymnasium", "numpy", "torch", "transformers", "sglang", "openai", "httpx")

#: The ``prompts`` value of an agent card whose agent used agentgym's own prompts (also meant by no value).
OWN_PROMPTS = "agentgym"


def package_versions() -> dict[str, str]:
    """Installed versions of :data:`KEY_PACKAGES` and the plugins' packages (absent ones are left out)."""
    from agentgym.plugins import packages

    versions = {}
    for name in dict.fromkeys((*KEY_PACKAGES, *packages())):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[name] = importlib.metadata.version(name)
    return versions


def git_commit() -> str | None:
    """The git commit of the agentgym source, when it runs from a checkout (``None`` otherwise)."""
    source = Path(agentgym.__file__).resolve().parent
    try:
        result = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode != 0:
        return None
    dirty = subprocess.run(
        ["git", "-C", str(source), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        timeout=5,
        check=False,
    ).stdout.strip()
    return result.stdout.strip() + ("-dirty" if dirty else "")


def software() -> dict[str, Any]:
    """The software part of a card."""
    return {
        "agentgym_version": agentgym.__version__,
        "agentgym_commit": git_commit(),
        "python": platform.python_version(),
        "packages": package_versions(),
    }


def file_sha256(path: str | Path) -> str:
    """The sha256 of a data file, cached on disk by path, size and modification time (files can be GBs)."""
    from agentgym.data import cache_dir, sha256_of

    path = Path(path).resolve()
    stat = path.stat()
    key = f"{path}|{stat.st_size}|{stat.st_mtime_ns}"
    cache = cache_dir("fingerprints") / (hashlib.sha256(key.encode()).hexdigest()[:24] + ".txt")
    if cache.exists():
        return cache.read_text().strip()
    digest = sha256_of(path)
    cache.write_text(digest)
    return digest


def prompt_provenance(agent_card: dict[str, Any]) -> tuple[str, tuple[tuple[str, str], ...]]:
    """What a run's prompts were, from its card's ``agent`` entry: the setting and each file's (name, sha256).

    An agent records ``prompts`` (which prompts it used: :data:`OWN_PROMPTS`, or for example a paper's) and
    ``prompt_files`` (``{"file", "sha256"}`` of each file it read); agents without them used agentgym's own.

    Example:
        >>> prompt_provenance({"name": "echo"})
        ('agentgym', ())
        >>> prompt_provenance({"prompts": "paper", "prompt_files": [{"file": "p.json", "sha256": "ab"}]})
        ('paper', (('p.json', 'ab'),))
    """
    files = tuple((f.get("file", ""), f.get("sha256", "")) for f in agent_card.get("prompt_files") or ())
    return agent_card.get("prompts", OWN_PROMPTS), files


def differences(first: dict[str, Any], second: dict[str, Any]) -> list[str]:
    """The :data:`METRIC_FIELDS` on which two cards disagree."""
    return [key for key in METRIC_FIELDS if _canonical(first.get(key)) != _canonical(second.get(key))]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
