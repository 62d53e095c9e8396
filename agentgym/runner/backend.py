"""What every env backend shares: how an env is built, the interface, the env-call dispatch, the memory read.

A backend hosts one env somewhere (a local process, this process, a Ray actor) and implements
:class:`EnvBackend`; :class:`~agentgym.runner.executor.PoolExecutor` does the rest (slots, restarts, recycling).
Where the env runs apart from the runner, :func:`answer_call` is what that side runs for each call, and the
runner raises :class:`RemoteEnvError` for an ``"error"`` answer.
"""

from __future__ import annotations

import os
import traceback
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from agentgym.error import Error


@dataclass(frozen=True)
class EnvConfig:
    """How a backend builds its env: ``gymnasium.make(env_id, max_episode_steps=..., **kwargs)``."""

    env_id: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    max_episode_steps: int | None = None

    def make(self) -> Any:
        """Build the env (in the calling process)."""
        import gymnasium

        import agentgym  # noqa: F401  (registers the ids in a fresh process)

        extra = {} if self.max_episode_steps is None else {"max_episode_steps": self.max_episode_steps}
        return gymnasium.make(self.env_id, **extra, **self.kwargs)


class RemoteEnvError(Error):
    """An exception raised by an env in another process, re-raised in the runner with that process's traceback."""

    def __init__(self, type_name: str, message: str, remote_traceback: str) -> None:
        """Keep the remote exception's type name, message and traceback."""
        super().__init__(f"{type_name}: {message}")
        self.type_name = type_name
        self.remote_traceback = remote_traceback


class EnvBackend(ABC):
    """One env, hosted somewhere: started, called, measured, stopped.

    ``pid`` is the id of the process hosting the env while it runs (``None`` if none of its own).
    """

    pid: int | None

    @property
    @abstractmethod
    def name(self) -> str:
        """Where the env runs, for episode records (``local:<pid>``, ``in-process``, ``ray:<node>:<pid>``)."""

    @abstractmethod
    async def start(self) -> None:
        """Build the env (again, after :meth:`kill` or :meth:`close`).

        Raises:
            WorkerCrashed: the host did not start or answer in time.
            RemoteEnvError: building the env raised.
        """

    @abstractmethod
    async def call(self, method: str, **kwargs: Any) -> Any:
        """Run ``reset``/``step``/``expert_action`` (see :func:`call_env`) and return the result.

        Raises:
            WorkerCrashed: the host died or did not answer within the call limit (it is then killed).
            RemoteEnvError: the env raised in another process (an in-process env's exception is raised as it is).
        """

    @abstractmethod
    async def memory_mb(self) -> float | None:
        """Resident memory of the host process in MB (``None`` if unknown or shared with the runner)."""

    @abstractmethod
    async def close(self) -> None:
        """Stop the env cleanly (its simulator too), then its host; idempotent."""

    @abstractmethod
    def kill(self) -> int | None:
        """Stop the host at once (idempotent); its exit code, when it has one."""


def call_env(env: Any, method: str, kwargs: dict[str, Any]) -> Any:
    """Run one call on an env: ``reset``/``step`` through its wrappers, ``expert_action`` on the env itself."""
    target = env.unwrapped.expert_action if method == "expert_action" else getattr(env, method)
    return target(**kwargs)


def answer_call(env: Any, method: str, kwargs: dict[str, Any]) -> tuple[str, Any]:
    """:func:`call_env` as a message: ``("ok", result)`` or ``("error", (type name, message, traceback))``."""
    try:
        return "ok", call_env(env, method, kwargs)
    except Exception as e:  # noqa: BLE001  (every env error goes back to the runner)
        return "error", (type(e).__name__, str(e), traceback.format_exc())


def process_memory_mb(pid: int | str = "self") -> float | None:
    """Resident memory of a process in MB, from ``/proc`` (Linux only; ``None`` elsewhere or if it is gone)."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return None
