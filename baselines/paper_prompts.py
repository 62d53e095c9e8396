r"""The papers' own prompt files, read as data: ``agentgym data download prompts`` installs them under ``prompts/``.

The paper presets (ReAct, Reflexion, CoPS, ETO, Tree-of-Thoughts, RAFA) build their prompts from these files,
verbatim, so that a run sends what the original code sent. Nothing here imports or executes a downloaded file:
Python prompt files are parsed with :mod:`ast` and only their string constants are read; ReAct's WebShop prompt
is read the same way from the code cell of its notebook that defines it.

Example:
    >>> python_strings_from_source('a = "x"\nb = ("y"\n     "z")\nc = f(1)')
    {'a': 'x', 'b': 'yz'}
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentgym import data
from agentgym.error import ChecksumMismatch, DataNotFound

DATASET = "prompts"


@dataclass(frozen=True)
class PromptSource:
    """Where a preset's prompt file came from, as its protocol card records it."""

    name: str
    url: str
    sha256: str

    def as_card(self) -> dict[str, str]:
        """The card's entry: the file's name, its pinned URL (repository and commit) and its sha256."""
        return {"file": self.name, "url": self.url, "sha256": self.sha256}


def source(name: str) -> PromptSource:
    """The pinned origin of prompt file ``name`` (e.g. ``"tot/game24.py"``)."""
    for remote in data.DATASETS[DATASET].files:
        if remote.path == f"{DATASET}/{name}":
            return PromptSource(name=name, url=remote.url, sha256=remote.sha256 or "")
    known = ", ".join(remote.path.removeprefix(f"{DATASET}/") for remote in data.DATASETS[DATASET].files)
    raise DataNotFound(f"no paper prompt file named {name!r}; known: {known}")


def path(name: str) -> Path:
    """The installed file ``name``, checked against its pinned sha256.

    Raises:
        DataNotFound: the file is not installed (the message gives the command that installs it).
        ChecksumMismatch: the installed file is not the pinned one (edited, or another version).
    """
    pinned = source(name)
    installed = data.require(f"{DATASET}/{name}", DATASET)
    actual = data.sha256_of(installed)
    if actual != pinned.sha256:
        raise ChecksumMismatch(
            f"{installed} has sha256 {actual}, expected {pinned.sha256} (the file at {pinned.url}); "
            f"run `agentgym data download {DATASET} --force`"
        )
    return installed


def text(name: str) -> str:
    """The content of a text prompt file, exactly as its repository holds it."""
    return path(name).read_text(encoding="utf-8")


def json_file(name: str) -> Any:
    """The parsed content of a JSON prompt file."""
    return json.loads(text(name))


def python_strings(name: str) -> dict[str, str]:
    """The module-level string constants of a Python prompt file (``NAME = "..."``), without running it."""
    return python_strings_from_source(text(name))


def notebook_strings(name: str) -> dict[str, str]:
    """The string constants assigned in a notebook's code cells (later cells override earlier ones)."""
    strings: dict[str, str] = {}
    for cell in json_file(name)["cells"]:
        if cell.get("cell_type") == "code":
            source_text = "".join(cell.get("source", []))
            try:
                strings.update(python_strings_from_source(source_text))
            except SyntaxError:  # cells with notebook magics (!pip ...) hold no prompt
                continue
    return strings


def python_strings_from_source(source_text: str) -> dict[str, str]:
    """The string constants assigned to plain names at the top level of ``source_text``."""
    strings = {}
    for node in ast.parse(source_text).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    strings[target.id] = node.value.value
    return strings
