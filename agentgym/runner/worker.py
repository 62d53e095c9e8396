"""Env worker processes: one env per process, driven over a socket, restartable.

:class:`EnvWorker` is the parent's handle. It starts ``python -m agentgym.runner.child`` (a fresh
interpreter: the caller's ``__main__`` is never re-imported, so scripts need no ``if __name__ ==
"__main__"`` guard), sends ``reset``/``step``/``expert_action`` calls, and turns a dead or silent process into
:class:`~agentgym.error.WorkerCrashed`. The child runs :func:`serve`, which builds the env with
``gymnasium.make`` and answers calls until told to stop. Workers see the parent's ``sys.path``; an env
registered by a user module is reached with gymnasium's ``"module:EnvId-v0"`` form.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any

from agentgym.error import WorkerCrashed
from agentgym.runner.backend import EnvBackend, EnvConfig, RemoteEnvError, answer_call, process_memory_mb

#: Building an env may take longer than a step (imports, data indexes, a JVM): the start gets at least this.
START_TIMEOUT_S = 120.0


def serve(conn: Connection) -> None:
    """Child main loop: receive the :class:`EnvConfig`, build the env, answer calls until ``close``."""
    env = None
    try:
        config: EnvConfig = conn.recv()
        try:
            env = config.make()
        except Exception as e:  # noqa: BLE001  (construction failed: report it, then exit)
            conn.send(("error", (type(e).__name__, str(e), traceback.format_exc())))
            return
        conn.send(("ok", os.getpid()))
        while True:
            method, kwargs = conn.recv()
            if method == "close":
                break
            conn.send(answer_call(env, method, kwargs))
    except (EOFError, BrokenPipeError, ConnectionResetError, KeyboardInterrupt):
        pass  # the parent went away
    finally:
        if env is not None:
            with contextlib.suppress(Exception):  # closing after a failure is best effort
                env.close()


class EnvWorker(EnvBackend):
    """A process hosting one env, driven from the parent's event loop (the local executor's backend).

    Args:
        config: how to build the env.
        timeout_s: a call that takes longer kills the worker and raises ``WorkerCrashed`` (the start gets
            at least :data:`START_TIMEOUT_S`).
    """

    def __init__(self, config: EnvConfig, *, timeout_s: float = 300.0) -> None:
        """Record the settings; :meth:`start` launches the process."""
        self.config = config
        self.timeout_s = timeout_s
        self._process: subprocess.Popen | None = None
        self._conn: Connection | None = None

    @property
    def pid(self) -> int | None:
        """The worker's process id (``None`` when not running)."""
        return self._process.pid if self._process else None

    @property
    def name(self) -> str:
        """``local:<pid>``."""
        return f"local:{self.pid}"

    async def start(self) -> None:
        """Launch the process and wait until its env is built."""
        parent, child = socket.socketpair()
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "agentgym.runner.child", str(child.fileno())],
            pass_fds=[child.fileno()],
            env=environment,
            stdin=subprocess.DEVNULL,
            # Its own session: killing the worker also kills what its env started (a JVM, a browser), and
            # a Ctrl-C in the terminal reaches only the parent, which then closes workers cleanly.
            start_new_session=True,
        )
        child.close()
        self._conn = Connection(parent.detach())
        self._conn.send(self.config)
        await self._receive("start", max(self.timeout_s, START_TIMEOUT_S))

    async def call(self, method: str, **kwargs: Any) -> Any:
        """Run ``env.<method>(**kwargs)`` in the worker and return its result.

        Raises:
            WorkerCrashed: the process died, or did not answer within ``timeout_s`` (it is then killed).
            RemoteEnvError: the env raised; the worker is still alive.
        """
        if self._conn is None:
            raise WorkerCrashed(f"env worker for {self.config.env_id} is not running")
        try:
            self._conn.send((method, kwargs))
        except OSError as e:
            self.kill()
            raise WorkerCrashed(f"env worker for {self.config.env_id} is gone ({e})") from e
        return await self._receive(method, self.timeout_s)

    async def _receive(self, method: str, timeout_s: float) -> Any:
        assert self._conn is not None  # set by start
        loop = asyncio.get_running_loop()
        readable = loop.create_future()
        fd = self._conn.fileno()
        loop.add_reader(fd, lambda: readable.done() or readable.set_result(None))
        try:
            await asyncio.wait_for(readable, timeout_s)
            status, payload = self._conn.recv()  # a dead worker makes the socket readable: recv raises EOFError
        except TimeoutError:
            self.kill()
            raise WorkerCrashed(
                f"env worker for {self.config.env_id} did not answer {method} within {timeout_s:.0f} s"
            ) from None
        except (EOFError, OSError) as e:
            code = self.kill()
            raise WorkerCrashed(f"env worker for {self.config.env_id} died (exit code {code}) during {method}") from e
        finally:
            with contextlib.suppress(Exception):
                loop.remove_reader(fd)
        if status == "error":
            raise RemoteEnvError(*payload)
        return payload

    async def memory_mb(self) -> float | None:
        """Resident memory of the worker process in MB (Linux only; ``None`` elsewhere)."""
        return process_memory_mb(self.pid) if self.pid is not None else None

    async def close(self, grace_s: float = 10.0) -> None:
        """Ask the worker to stop (it closes its env), wait up to ``grace_s``, then make sure it is gone."""
        if self._conn is not None and self._process is not None and self._process.poll() is None:
            with contextlib.suppress(OSError):
                self._conn.send(("close", {}))
                deadline = time.monotonic() + grace_s
                while self._process.poll() is None and time.monotonic() < deadline:
                    await asyncio.sleep(0.02)
        self.kill()

    def kill(self) -> int | None:
        """Kill the worker's whole process group at once; returns its exit code."""
        code = None
        if self._process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
                os.killpg(self._process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = self._process.wait(timeout=10)
        if self._conn is not None:
            self._conn.close()
        self._process = None
        self._conn = None
        return code
