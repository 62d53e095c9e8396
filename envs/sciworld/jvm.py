"""The Java side of ScienceWorld: one ``java`` process running the simulator jar, reached over py4j.

:class:`Jvm` starts ``java`` on the jar that ships in the ``scienceworld`` wheel (with a capped heap, see
:data:`DEFAULT_HEAP_MB`), connects a py4j gateway to it, and creates simulator objects inside it. Several
simulators can live in one JVM: they keep no shared state on the Java side. :func:`acquire` and
:func:`release` hand out one JVM per env, or one JVM shared by every env of a process.

The stock ``scienceworld.ScienceWorldEnv`` uses ``py4j.launch_gateway``, which blocks for ever if ``java``
never prints its port and throws the JVM's own messages away. This module starts the process itself, so that
start-up has a deadline and the last lines ``java`` printed (an ``OutOfMemoryError``, say) can be shown when
the JVM dies.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import shutil
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import IO, Any

from agentgym.error import DependencyNotInstalled, EnvCrashed

#: Default JVM heap cap in MB. One simulator with ``-Xmx256m`` stays near 275 MB resident and still solves
#: the longest gold paths; Java's default (a quarter of the machine's memory) lets one env grow past 1 GB.
DEFAULT_HEAP_MB = 256
#: Seconds allowed for ``java`` to start and print its py4j port.
START_TIMEOUT_S = 120.0
#: Options of every JVM: a lean collector; exit on a full heap (a crash the env reports) rather than go on
#: with a broken simulator; and one identity hash code for every object (``hashCode=2``). The simulator keeps
#: objects in hash sets, so with Java's default (per-thread random) hash codes the order in which it lists a
#: room's contents, and the gold agent's choice among equivalent objects and routes, change from one load of
#: a variation to the next. With one hash code, iteration follows insertion order: the same variation gives
#: the same observations and gold path every time, in every JVM. Step time is unchanged within noise.
JVM_OPTIONS = (
    "-XX:+UseSerialGC",
    "-XX:+ExitOnOutOfMemoryError",
    "-XX:+UnlockExperimentalVMOptions",
    "-XX:hashCode=2",
)


class _NoPy4jTracebacks(logging.Filter):
    """Strip the traceback from the records py4j logs when a connection fails (the message stays).

    Such a failure reaches the env as :class:`EnvCrashed`, which says what happened. The traceback would be
    formatted on the call's worker thread, and on CPython 3.11 formatting one there (``traceback`` parses
    source lines with ``ast``) makes the next ``ast.parse`` on another thread fail with "AST constructor
    recursion depth mismatch". py4j logs some of these on the root logger, some on its own.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.pathname.endswith(os.path.join("py4j", "java_gateway.py")):
            record.exc_info = None
            record.exc_text = None
        return True


_PY4J_FILTER = _NoPy4jTracebacks()


def _jar_paths() -> tuple[str, str]:
    try:
        from py4j.java_gateway import find_jar_path
        from scienceworld.constants import JAR_PATH
    except ImportError as e:
        raise DependencyNotInstalled("scienceworld", "sciworld") from e
    return find_jar_path(), JAR_PATH


class Jvm:
    """One ``java`` process running the ScienceWorld simulator jar, with a py4j gateway to it.

    Args:
        heap_mb: the ``-Xmx`` heap cap in MB (``None``: Java's default, a quarter of the machine's memory).
        start_timeout_s: how long ``java`` may take to start before it is killed (:class:`EnvCrashed`).
    """

    def __init__(self, heap_mb: int | None = DEFAULT_HEAP_MB, *, start_timeout_s: float = START_TIMEOUT_S) -> None:
        """Start ``java`` and connect to it (blocks until the gateway answers)."""
        from py4j.java_gateway import GatewayParameters, JavaGateway

        java = shutil.which("java")
        if java is None:
            raise DependencyNotInstalled(
                "java (Java 17 or newer, e.g. `apt-get install openjdk-17-jre-headless`)", "sciworld"
            )
        py4j_jar, sim_jar = _jar_paths()
        heap = [f"-Xmx{int(heap_mb)}m"] if heap_mb is not None else []
        command = [java, "-classpath", os.pathsep.join((py4j_jar, sim_jar)), *heap, *JVM_OPTIONS,
                   "py4j.GatewayServer", "--die-on-broken-pipe", "0"]  # fmt: skip
        self.heap_mb = heap_mb
        self.owner_pid = os.getpid()
        self._output: collections.deque[str] = collections.deque(maxlen=40)
        self._killed_reason: str | None = None
        # stdin stays open: --die-on-broken-pipe makes java exit when this process (the pipe's writer) dies.
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=os.path.dirname(sim_jar),
            text=True,
            errors="replace",
        )
        port = self._read_port(start_timeout_s)
        # Keep java's stderr (errors: an OutOfMemoryError, say) for crash messages; its stdout is the
        # simulator's debug chatter, read only so that the pipe never fills up and blocks java.
        threading.Thread(target=self._drain, args=(self.process.stdout, None), daemon=True).start()
        threading.Thread(target=self._drain, args=(self.process.stderr, self._output), daemon=True).start()
        for logger in (logging.getLogger(), logging.getLogger("py4j.java_gateway")):
            if _PY4J_FILTER not in logger.filters:
                logger.addFilter(_PY4J_FILTER)
        self.gateway = JavaGateway(
            gateway_parameters=GatewayParameters(port=port, auto_field=True), java_process=self.process
        )
        self.refs = 0

    @property
    def pid(self) -> int:
        """The ``java`` process id."""
        return self.process.pid

    def _read_port(self, timeout_s: float) -> int:
        assert self.process.stdout is not None
        with ThreadPoolExecutor(max_workers=1) as pool:
            line = pool.submit(self.process.stdout.readline)
            try:
                text = line.result(timeout=timeout_s)
            except FutureTimeout:
                self.kill(f"it did not start within {timeout_s:.0f} s")
                raise EnvCrashed(self.death_message("starting")) from None
        try:
            return int(text)
        except ValueError:
            self.process.wait(timeout=10)
            raise EnvCrashed(self.death_message("starting") + f"; it printed {text!r}") from None

    @staticmethod
    def _drain(stream: IO[str] | None, keep: collections.deque[str] | None) -> None:
        if stream is None:
            return
        for line in stream:
            if keep is not None:
                keep.append(line.rstrip("\n")[:300])

    def alive(self) -> bool:
        """Whether the ``java`` process is still running."""
        return self._killed_reason is None and self.process.poll() is None

    def new_simulator(self) -> Any:
        """Create a new, independent simulator object inside this JVM (a py4j proxy)."""
        return self.gateway.jvm.scienceworld.runtime.pythonapi.PythonInterface()

    def death_message(self, during: str) -> str:
        """Describe why this JVM is gone, for an :class:`EnvCrashed` raised ``during`` some call."""
        code = self.process.poll()
        if self._killed_reason is not None:
            why = f"was killed because {self._killed_reason}"
        elif code is None:
            why = "stopped answering"
        else:
            why = f"exited with code {code}"
        tail = "; its last error output: " + " | ".join(list(self._output)[-5:]) if self._output else ""
        return f"ScienceWorld's JVM (pid {self.pid}) {why} while {during}{tail}"

    def kill(self, reason: str) -> None:
        """Kill the ``java`` process (a hung or broken JVM); later calls on it fail at once."""
        if self._killed_reason is None:
            self._killed_reason = reason
        if self.process.poll() is None:
            self.process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)

    def close(self) -> None:
        """Shut the gateway and the ``java`` process down (idempotent)."""
        from py4j.protocol import Py4JError

        if self.alive():
            with contextlib.suppress(Py4JError, OSError):  # it may die meanwhile: nothing left to shut
                self.gateway.shutdown()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


_shared: dict[int | None, Jvm] = {}
_lock = threading.Lock()


def acquire(*, heap_mb: int | None, shared: bool) -> Jvm:
    """Return a running JVM for one env: a new one, or (``shared``) this process's JVM with that heap cap.

    A shared JVM that died is replaced by a new one. Pair every call with :func:`release`.
    """
    with _lock:
        jvm = _shared.get(heap_mb) if shared else None
        if jvm is None or not jvm.alive() or jvm.owner_pid != os.getpid():
            jvm = Jvm(heap_mb)
            if shared:
                _shared[heap_mb] = jvm
        jvm.refs += 1
        return jvm


def release(jvm: Jvm) -> None:
    """Give back a JVM from :func:`acquire`; the last user shuts it down."""
    with _lock:
        jvm.refs -= 1
        last = jvm.refs <= 0
        if last and _shared.get(jvm.heap_mb) is jvm:
            del _shared[jvm.heap_mb]
    if last or not jvm.alive():
        jvm.close()
