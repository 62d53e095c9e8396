"""``ServerProcess``: a model server in a child process, started, health-checked and stopped as a unit.

Used by ``agentgym serve policy`` (SGLang, llama.cpp) and by the tests. The health poll also watches the
process, so a server that crashes during start fails at once with the end of its log instead of waiting out
the timeout; stopping kills the whole process group (servers start helper processes).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from agentgym.error import PolicyError


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on ``host`` that is free right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """A server started from ``command`` and reachable at ``url``.

    Args:
        command: the argument list to run (``[sys.executable, "-m", ...]``).
        url: the server root, e.g. ``http://127.0.0.1:30000``.
        health_path: the path that answers HTTP 200 once the server can serve.
        startup_timeout_s: seconds to wait for health before giving up.
        log_path: file for the server's stdout and stderr (default: a temporary file, removed by :meth:`stop`).
        env: extra environment variables for the server.
    """

    def __init__(
        self,
        command: Sequence[str],
        url: str,
        *,
        health_path: str = "/health",
        startup_timeout_s: float = 600.0,
        log_path: str | Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """Describe the server; :meth:`start` runs it."""
        self.command = list(command)
        self.url = url.rstrip("/")
        self.health_path = health_path
        self.startup_timeout_s = startup_timeout_s
        self._named_log = Path(log_path) if log_path else None
        self.log_path = self._named_log  # set by start: the named file, or a new temporary one
        self.env = dict(env or {})
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible API root (``{url}/v1``)."""
        return self.url + "/v1"

    def start(self) -> ServerProcess:
        """Start the server and wait until it is healthy.

        Raises:
            PolicyError: if it exits or stays unhealthy past ``startup_timeout_s`` (the log's end is shown).
        """
        if self.alive:
            return self
        self.log_path = self._named_log or _temporary_log()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **self.env},
                start_new_session=True,
            )
        try:
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def healthy(self) -> bool:
        """Return whether the health path answers HTTP 200 now."""
        try:
            with urllib.request.urlopen(self.url + self.health_path, timeout=5) as response:  # noqa: S310
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def wait_healthy(self) -> None:
        """Poll health (and the process) until healthy, the process exits, or the startup timeout."""
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise PolicyError(
                    f"server exited with code {self.process.returncode} during start: "
                    f"{' '.join(self.command)}\n{self.log_tail()}"
                )
            if self.healthy():
                return
            time.sleep(0.25)
        raise PolicyError(
            f"server not healthy at {self.url}{self.health_path} after {self.startup_timeout_s:.0f}s\n{self.log_tail()}"
        )

    @property
    def alive(self) -> bool:
        """Whether the server process is running."""
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        """Return the last lines of the server's log."""
        if self.log_path is None:
            return ""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout_s: float = 15.0) -> None:
        """Stop the server's process group (SIGTERM, then SIGKILL after ``timeout_s``); remove a temporary log."""
        try:
            self._stop_process(timeout_s)
        finally:
            if self.log_path is not None and self.log_path != self._named_log:
                self.log_path.unlink(missing_ok=True)

    def _stop_process(self, timeout_s: float) -> None:
        if self.process is None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if self.process.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout_s)
        # Helpers may outlive the leader; the group is gone once the leader is reaped, so kill it again.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def wait(self) -> int:
        """Block until the server exits (``agentgym serve``); return its exit code."""
        if self.process is None:
            raise PolicyError("server not started")
        return self.process.wait()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _temporary_log() -> Path:
    descriptor, name = tempfile.mkstemp(prefix="agentgym-server-", suffix=".log")
    os.close(descriptor)
    return Path(name)


def python_module_command(module: str, *args: str) -> list[str]:
    """Return ``[sys.executable, "-m", module, *args]``: run a server with this interpreter."""
    return [sys.executable, "-m", module, *args]
