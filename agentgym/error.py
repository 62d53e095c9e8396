"""The exceptions agentgym raises: one root, :class:`Error`, and a subclass per kind of failure."""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable
from types import ModuleType


class Error(Exception):
    """Root of every agentgym exception."""


class DependencyNotInstalled(Error, ImportError):
    """An optional dependency is missing; the message names the extra to install."""

    def __init__(self, package: str, extra: str, *, command: str | None = None) -> None:
        """Name the package and the extra (or the exact install ``command``, when an extra cannot do it)."""
        command = command or f"pip install 'agentgym[{extra}]'"
        super().__init__(f"{package} is not installed: run `{command}`")
        self.package = package
        self.extra = extra


def import_optional(module: str, extra: str, *, package: str | None = None) -> ModuleType:
    """Import an optional dependency, or raise :class:`DependencyNotInstalled` naming the extra that installs it.

    Example:
        >>> import_optional("json", "test").__name__
        'json'
        >>> import_optional("plotting_not_here.pyplot", "report")
        Traceback (most recent call last):
        agentgym.error.DependencyNotInstalled: plotting_not_here is not installed: run `pip install 'agentgym[report]'`
    """
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise DependencyNotInstalled(package or module.partition(".")[0], extra) from e


class DataNotFound(Error, FileNotFoundError):
    """A benchmark's data files are not where agentgym looks for them."""


class ChecksumMismatch(Error):
    """A downloaded or supplied file does not have the expected sha256."""


class TaskNotFound(Error, KeyError):
    """A reset option names a task, split or index the env does not have."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class NameNotFound(Error, KeyError):
    """A name (of an env, agent, policy, preset, dataset...) that nothing is registered under.

    ``str()`` is the one-line message: what was asked for, the closest known names, and the known names.

    Example:
        >>> error = NameNotFound("agent", "exprt", ["direct", "expert"])
        >>> error.suggestions
        ['expert']
        >>> print(error)
        unknown agent 'exprt'; did you mean 'expert'? known: direct, expert
    """

    def __init__(
        self,
        kind: str,
        name: str,
        known: Iterable[str],
        *,
        message: str | None = None,
        note: str = "",
        names: Iterable[str] | None = None,
    ) -> None:
        """Name the ``kind`` of thing, the ``name`` asked for and the ``known`` names (or a full ``message``).

        Args:
            kind: what was looked up (``"env"``, ``"agent"``...).
            name: the name asked for.
            known: the names that exist, listed in the message in this order.
            message: replaces ``unknown KIND 'NAME'`` at the start of the message.
            note: appended to the message (a plugin that failed to load).
            names: the names suggestions are drawn from, when ``known`` lists spellings (default: ``known``).
        """
        self.kind, self.name, self.known = kind, name, list(known)
        candidates = self.known if names is None else list(names)
        self.suggestions = difflib.get_close_matches(name, candidates, n=3) if isinstance(name, str) else []
        hint = f"; did you mean {' or '.join(map(repr, self.suggestions))}?" if self.suggestions else ";"
        super().__init__(f"{message or f'unknown {kind} {name!r}'}{hint} known: {', '.join(self.known)}{note}")

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class PluginError(Error):
    """A plugin could not be loaded, or declares something another plugin declares too."""


class ResetNeeded(Error):
    """``step`` or ``expert_action`` was called before ``reset``."""


class EnvCrashed(Error):
    """The simulator behind an env died or stopped answering; the env must be rebuilt."""


class WorkerCrashed(Error):
    """An env worker process died or timed out; the runner restarts it and retries the episode."""


class PolicyError(Error):
    """A policy (LLM backend) could not produce completions."""


class PolicyUnavailable(PolicyError):
    """The LLM server could not be reached (or kept failing) past the retry budget: the runner stops the run."""


class OutputError(Error, OSError):
    """A run's output could not be written (a full disk, a read-only folder); finished records are intact."""


class OutputFolderUnavailable(OutputError):
    """A run's output folder cannot be written (it is read-only, or cannot be created); nothing in it was changed."""


class NotARunFolder(Error):
    """A folder, or a records file in it, is not what an agentgym run writes; nothing in it was changed.

    For example a link, a folder or a FIFO where a records file belongs, records without ``run.json``, or a
    ``run.json`` that is not a JSON object.
    """


class RunConfigMismatch(NotARunFolder):
    """An output folder holds a run with another configuration than the one asked to resume."""


class RunLocked(Error):
    """Another process is running in this output folder; ``pid`` and ``host`` name it (``None`` if unknown)."""

    def __init__(self, folder: object, pid: object, host: object) -> None:
        """Say which folder is held and by which process."""
        who = f"process {pid}" if isinstance(pid, int) else "another process"
        host = host if isinstance(host, str) and 0 < len(host) <= 255 and host.isprintable() else None
        where = f" on {host}" if host else ""
        super().__init__(f"{folder} is in use by a run in {who}{where}; wait for it to finish or use another --out")
        self.pid = pid if isinstance(pid, int) else None
        self.host = host


class SettingError(Error, ValueError):
    """A setting (a run option, a policy or agent setting, a policy spec) has a wrong type or value."""
