"""Env worker processes: one env per process, driven over a pipe, restartable.

:class:`EnvWorker` is the parent's handle: it starts the process, sends ``reset``/``step``/``expert_action``
calls, and turns a dead or silent process into :class:`~agentgym.error.WorkerCrashed`. The child runs
:func:`_serve`, which builds the env with ``gymnasium.make`` and answers calls until told to stop.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from agentgym.error import WorkerCrashed

_POLL_S = 0.2
#: Building an env may take longer than a step (imports, data indexes, a JVM): the start gets at least this.
_START_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class EnvConfig:
    """How a worker builds its env: ``gymnasium.make(env_id, max_episode_steps=..., **kwargs)``."""

    env_id: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    max_episode_steps: int | None = None

    def make(self) -> Any:
        """Build the env (in the calling process)."""
        import gymnasium

        import agentgym  # noqa: F401  (registers the ids in a fresh process)

        extra = {} if self.max_episode_steps is None else {"max_episode_steps": self.max_episode_steps}
        return gymnasium.make(self.env_id, **extra, **self.kwargs)


class RemoteEnvError(Exception):
    """An exception raised inside the worker's env, re-raised in the parent with the worker's traceback."""

    def __init__(self, type_name: str, message: str, remote_traceback: str) -> None:
        """Keep the remote exception's type name, message and traceback."""
        super().__init__(f"{type_name}: {message}")
        self.type_name = type_name
        self.remote_traceback = remote_traceback


def _serve(config: EnvConfig, conn: Connection) -> None:
    """Child process main loop: build the env, then answer ``(method, kwargs)`` calls until ``close``."""
    if hasattr(os, "setpgrp"):
        # Own process group: killing the worker also kills what its env started (a JVM, a browser), and a
        # Ctrl-C in the terminal reaches only the parent, which then closes workers cleanly.
        os.setpgrp()
    env = None
    try:
        env = config.make()
        conn.send(("ok", None))
        while True:
            method, kwargs = conn.recv()
            if method == "close":
                break
            try:
                if method == "expert_action":
                    result = env.unwrapped.expert_action()
                else:
                    result = getattr(env, method)(**kwargs)
                conn.send(("ok", result))
            except Exception as e:
                conn.send(("error", (type(e).__name__, str(e), traceback.format_exc())))
    except (EOFError, KeyboardInterrupt, BrokenPipeError):
        pass  # the parent went away
    except Exception as e:
        with contextlib.suppress(BrokenPipeError, OSError):
            conn.send(("error", (type(e).__name__, str(e), traceback.format_exc())))
    finally:
        if env is not None:
            with contextlib.suppress(Exception):  # closing after a failure is best effort
                env.close()


class EnvWorker:
    """A process hosting one env; calls block the calling thread (the runner calls from a thread pool).

    Args:
        config: how to build the env.
        timeout_s: a call (or the start) that takes longer kills the worker and raises ``WorkerCrashed``.
        context: the multiprocessing start method.
    """

    def __init__(self, config: EnvConfig, *, timeout_s: float = 300.0, context: str = "spawn") -> None:
        """Record the settings; :meth:`start` launches the process."""
        self.config = config
        self.timeout_s = timeout_s
        self._ctx = mp.get_context(context)
        self._process: mp.process.BaseProcess | None = None
        self._conn: Connection | None = None
        self.episodes = 0

    @property
    def pid(self) -> int | None:
        """The worker's process id (``None`` before start)."""
        return self._process.pid if self._process else None

    def start(self) -> None:
        """Launch the process and wait until its env is built."""
        parent, child = self._ctx.Pipe()
        self._process = self._ctx.Process(target=_serve, args=(self.config, child), daemon=True)
        self._process.start()
        child.close()
        self._conn = parent
        self.episodes = 0
        self._receive("start", max(self.timeout_s, _START_TIMEOUT_S))

    def call(self, method: str, **kwargs: Any) -> Any:
        """Run ``env.<method>(**kwargs)`` in the worker and return its result.

        Raises:
            WorkerCrashed: the process died, or did not answer within ``timeout_s`` (it is then killed).
            RemoteEnvError: the env raised; the worker is still alive.
        """
        if self._conn is None:
            raise WorkerCrashed("the worker is not running")
        try:
            self._conn.send((method, kwargs))
        except (BrokenPipeError, OSError) as e:
            self.kill()
            raise WorkerCrashed(f"env worker for {self.config.env_id} is gone ({e})") from e
        return self._receive(method)

    def _receive(self, method: str, timeout_s: float | None = None) -> Any:
        assert self._conn is not None and self._process is not None  # set by start
        timeout_s = self.timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + timeout_s
        while not self._conn.poll(_POLL_S):
            if not self._process.is_alive():
                code = self._process.exitcode
                self.kill()
                raise WorkerCrashed(
                    f"env worker for {self.config.env_id} died (exit code {code}) during {method}"
                )
            if time.monotonic() > deadline:
                self.kill()
                limit = f"{timeout_s:.0f} s"
                raise WorkerCrashed(
                    f"env worker for {self.config.env_id} did not answer {method} within {limit}"
                )
        try:
            status, payload = self._conn.recv()
        except (EOFError, OSError) as e:
            self.kill()
            raise WorkerCrashed(f"env worker for {self.config.env_id} closed its pipe during {method}") from e
        if status == "error":
            raise RemoteEnvError(*payload)
        return payload

    def memory_mb(self) -> float | None:
        """Resident memory of the worker process in MB (Linux only; ``None`` elsewhere)."""
        try:
            with open(f"/proc/{self.pid}/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        except (OSError, ValueError, IndexError):
            return None

    def close(self) -> None:
        """Ask the worker to stop (it closes its env), then make sure it is gone."""
        if self._conn is not None and self._process is not None and self._process.is_alive():
            try:
                self._conn.send(("close", {}))
                self._process.join(timeout=10)
            except (BrokenPipeError, OSError):
                pass
        self.kill()

    def kill(self) -> None:
        """Terminate the process at once (used after a crash or a timeout)."""
        if self._process is not None:
            if self._process.pid is not None and hasattr(os, "killpg"):
                with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
                    os.killpg(self._process.pid, signal.SIGKILL)
            if self._process.is_alive():
                self._process.kill()
            self._process.join(timeout=10)
        if self._conn is not None:
            self._conn.close()
        self._process = None
        self._conn = None
