r"""The papers' own prompt files, read as data: ``agentgym data download prompts`` installs them under ``prompts/``.

The paper presets (ReAct, Reflexion, CoPS, ETO, Tree-of-Thoughts, RAFA) build their prompts from these files,
verbatim, so that a run sends what the original code sent. Nothing here imports or executes a downloaded file:
Python prompt files are parsed with :mod:`ast` and only their string constants are read; ReAct's WebShop prompt
is read the same way from the code cell of its notebook that defines it.

Presets use it the same way (:class:`PromptChoice`): an agent setting ``prompts`` is ``"paper"`` (the files, which
must be installed: else the run stops with the command that installs them) or ``"agentgym"`` (the same protocol
with agentgym's own prompts); the agent's card records the choice and each file's source and sha256
(:meth:`PromptChoice.card`), and ``agentgym report`` warns when two runs' prompts differ
(:func:`agentgym.protocol.prompt_provenance`).

Example:
    >>> python_strings_from_source('a = "x"\nb = ("y"\n     "z")\nc = f(1)')
    {'a': 'x', 'b': 'yz'}
    >>> fstring_template_from_source('def f(x):\n    q: str = f"Hi {x}, {{ok}}"', "f", "q")
    'Hi {x}, {{ok}}'
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentgym import data
from agentgym.error import ChecksumMismatch, DataNotFound
from agentgym.protocol import OWN_PROMPTS, prompt_provenance

DATASET = "prompts"

#: The values of a preset agent's ``prompts`` setting: the paper's own files, or agentgym's prompts.
PAPER, AGENTGYM = "paper", OWN_PROMPTS
#: What a run's prompts were, read from its agent card (the reader ``agentgym report`` uses).
provenance = prompt_provenance


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


def fstring_template(name: str, function: str, target: str) -> str:
    """The f-string assigned to ``target`` in ``function`` of a Python prompt file, as a ``str.format`` template.

    Prompts built inline by the original code (Reflexion's reflection query) are read this way, without running
    the file: ``fstring_template(...).format(**fields)`` rebuilds the string the original's f-string made.
    """
    return fstring_template_from_source(text(name), function, target)


def fstring_template_from_source(source_text: str, function: str, target: str) -> str:
    """See :func:`fstring_template`; fields must be plain names (no conversions or format specs).

    Raises:
        ValueError: the function, the assignment or a plain-name f-string is not there.
    """
    for node in ast.walk(ast.parse(source_text)):
        if isinstance(node, ast.FunctionDef) and node.name == function:
            for statement in node.body:
                value = _assigned_value(statement, target)
                if isinstance(value, ast.JoinedStr):
                    return "".join(_template_part(part) for part in value.values)
            raise ValueError(f"{function}() assigns no f-string to {target!r}")
    raise ValueError(f"no function {function}() in the file")


def _assigned_value(statement: ast.stmt, target: str) -> ast.expr | None:
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
        return statement.value if statement.target.id == target else None
    if isinstance(statement, ast.Assign) and any(isinstance(t, ast.Name) and t.id == target for t in statement.targets):
        return statement.value
    return None


def _template_part(part: ast.expr) -> str:
    if isinstance(part, ast.Constant) and isinstance(part.value, str):
        return part.value.replace("{", "{{").replace("}", "}}")
    if (
        isinstance(part, ast.FormattedValue)
        and isinstance(part.value, ast.Name)
        and part.conversion == -1
        and part.format_spec is None
    ):
        return "{" + part.value.id + "}"
    raise ValueError(f"an f-string field that is not a plain name: {ast.unparse(part)!r}")


@dataclass(frozen=True)
class PromptChoice:
    """A preset agent's ``prompts`` setting and the paper files it reads when that is :data:`PAPER`.

    Args:
        setting: :data:`PAPER` or :data:`AGENTGYM`.
        files: the prompt files (dataset names, e.g. ``"reflexion/alfworld_3prompts.json"``) the paper's protocol
            reads.

    Raises:
        ValueError: for another ``setting``.
    """

    setting: str
    files: tuple[str, ...]

    def __post_init__(self) -> None:
        """Check the setting."""
        if self.setting not in (PAPER, AGENTGYM):
            raise ValueError(f"prompts must be {PAPER!r} (the paper's files) or {AGENTGYM!r}, got {self.setting!r}")

    @property
    def paper(self) -> bool:
        """Whether the paper's files are used."""
        return self.setting == PAPER

    def require(self) -> None:
        """Check that every file is installed and verifies (nothing to check for agentgym's prompts).

        Raises:
            DataNotFound: a file is missing; the message gives ``agentgym data download prompts``.
            ChecksumMismatch: a file is not the pinned one.
        """
        if self.paper:
            for name in self.files:
                path(name)

    def card(self) -> dict[str, Any]:
        """The agent card's entries: ``prompts`` (the setting) and ``prompt_files`` (source and sha256 of each)."""
        files = [source(name).as_card() for name in self.files] if self.paper else []
        return {"prompts": self.setting, "prompt_files": files}
