"""Installs that coexist: every CPU extra in one environment, nothing pinned or replaced under the user."""

import configparser
import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
#: Packages users already have in their environment, which agentgym must never downgrade or pin.
SHARED = {"torch", "transformers", "numpy", "gymnasium"}


def requirements() -> list[Requirement]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    lines = config["options"]["install_requires"].splitlines()
    for extra in config["options.extras_require"].values():
        lines += extra.splitlines()
    return [Requirement(line) for line in lines if line.strip() and not line.strip().startswith("agentgym")]


def test_no_upper_bound_on_shared_packages():
    for requirement in requirements():
        if requirement.name.lower() in SHARED:
            assert all(spec.operator in (">=", ">", "!=") for spec in requirement.specifier), requirement


def test_every_cpu_extra_resolves_into_this_environment_without_replacing_anything(tmp_path):
    report = tmp_path / "report.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--quiet",
            "--report",
            str(report),
            "-e",
            f"{ROOT}[all,test]",
        ],
        check=True,
        timeout=600,
        capture_output=True,
    )
    planned = {
        item["metadata"]["name"].lower(): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }
    installed = {name: _version(name) for name in SHARED}
    replaced = {name: (installed[name], planned[name]) for name in SHARED if installed[name] and name in planned}
    assert replaced == {}, f"installing agentgym[all] would replace (installed, planned): {replaced}"


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None
