"""One ScienceWorld simulator inside a :class:`~agentgym.envs.sciworld.jvm.Jvm`, a deadline on every call.

:class:`Simulator` is the thin layer the env talks to. Unlike ``scienceworld.ScienceWorldEnv.step``, its
:meth:`Simulator.step` does only the work a step needs (the action, the score, the completion flag: one
round trip to a worker thread, three py4j calls); listing the valid actions, which the stock wrapper does on
every step and which is most of its step time, is a separate call made only when asked.

Every call runs on a worker thread with a deadline. A JVM that dies, or does not answer in time (it is then
killed), turns into :class:`~agentgym.error.EnvCrashed`; so does a Java exception inside the simulator, after
which its state is unknown. The env then needs a new simulator (its next ``reset`` makes one).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

from agentgym.envs.sciworld.jvm import START_TIMEOUT_S, Jvm
from agentgym.error import EnvCrashed

T = TypeVar("T")
#: Default deadline (seconds) for one simulator call.
DEFAULT_TIMEOUT_S = 60.0
#: Deadline for a load that generates the gold path: the Mendelian genetics tasks take 10-45 s on a busy
#: 2-core machine.
GOLD_PATH_TIMEOUT_S = 300.0


class Simulator:
    """A ScienceWorld simulator object living in ``jvm``.

    Args:
        jvm: the JVM to create the simulator in (it may host other simulators too).
        timeout_s: the deadline of each call; a JVM that takes longer is considered hung and killed.
    """

    def __init__(self, jvm: Jvm, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        """Create the simulator object inside ``jvm``."""
        self.jvm = jvm
        self.timeout_s = timeout_s
        self.broken: str | None = None
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sciworld-call")
        self._server = self._call("creating a simulator", jvm.new_simulator, timeout_s=START_TIMEOUT_S)

    def _call(self, during: str, fn: Callable[..., T], *args: Any, timeout_s: float | None = None) -> T:
        """Run ``fn(*args)`` on the worker thread; turn a dead, hung or failing simulator into EnvCrashed."""
        from py4j.protocol import Py4JError, Py4JJavaError

        if self.broken is not None:
            raise EnvCrashed(self.broken + "; call reset() to start a new simulator")
        if not self.jvm.alive():
            self.broken = self.jvm.death_message(during)
            raise EnvCrashed(self.broken + "; call reset() to start a new simulator")
        deadline = self.timeout_s if timeout_s is None else timeout_s
        future = self._worker.submit(fn, *args)
        try:
            return future.result(timeout=deadline)
        except FutureTimeout:
            self.jvm.kill(f"{during} took longer than {deadline:g} s")
            self.broken = self.jvm.death_message(during)
        except Py4JJavaError as e:
            first_line = str(e.java_exception).splitlines()[0] if e.java_exception is not None else str(e)
            self.broken = f"ScienceWorld's simulator raised {first_line} while {during}; its state is unknown"
            raise EnvCrashed(self.broken + "; call reset() to start a new simulator") from e
        except Py4JError as e:
            # Give a JVM that was just killed a moment to be reaped, so that the message says so.
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.jvm.process.wait(timeout=1)
            self.broken = self.jvm.death_message(during)
            raise EnvCrashed(self.broken + "; call reset() to start a new simulator") from e
        raise EnvCrashed(self.broken + "; call reset() to start a new simulator")

    # --- the simulator's API, as the env uses it -----------------------------------------------------------

    def load(self, task_name: str, variation: int, simplification: str, *, gold_path: bool = False) -> None:
        """Load a task variation (the world is ready at once; no ``reset`` is needed after it).

        Raises:
            ValueError: when the simulator rejects the task name or simplification string.
        """
        message = self._call(
            f"loading {task_name}-{variation}",
            self._server.load,
            task_name,
            variation,
            simplification,
            gold_path,
            timeout_s=max(self.timeout_s, GOLD_PATH_TIMEOUT_S) if gold_path else None,
        )
        if message:
            raise ValueError(f"ScienceWorld could not load {task_name}-{variation} ({simplification!r}): {message}")

    def step(self, action: str) -> tuple[str, int, bool]:
        """Apply ``action``; return ``(observation, score 0..100 or -100 when failed, completed)``."""
        server = self._server

        def run() -> tuple[str, int, bool]:
            observation = server.step(action)
            return observation, round(100 * server.getScore()), bool(server.getCompleted())

        return self._call(f"stepping {action[:60]!r}", run)

    def task_description(self) -> str:
        """The task text, as ``getTaskDescription`` gives it (no heading)."""
        return self._call("reading the task description", self._server.getTaskDescription)

    def task_description_block(self) -> str:
        """The task text as the stock wrapper's ``info['taskDesc']`` shows it (under "Task Description:")."""
        return self._call("reading the task description", self._server.freeActionTaskDesc)

    def valid_actions(self) -> list[str]:
        """The valid action strings in the current state (one JSON round trip, not one call per action)."""
        text = self._call("listing valid actions", self._server.getValidActionObjectCombinationsJSON)
        return [entry["action"] for entry in json.loads(text)["validActions"]]

    def gold_actions(self) -> list[str]:
        """The gold action sequence of the loaded variation (it must have been loaded with ``gold_path``)."""
        return list(self._call("reading the gold path", self._server.getGoldActionSequence))

    def split_variations(self) -> tuple[list[int], list[int], list[int]]:
        """The loaded task's official train, dev and test variation ids."""
        server = self._server

        def run() -> tuple[list[int], list[int], list[int]]:
            return (
                [int(v) for v in server.getVariationsTrain()],
                [int(v) for v in server.getVariationsDev()],
                [int(v) for v in server.getVariationsTest()],
            )

        return self._call("reading the task's variations", run)

    def task_names(self) -> list[str]:
        """The simulator's task names, in its own order."""
        return [str(name) for name in self._call("listing tasks", self._server.getTaskNames)]

    def max_variations(self, task_name: str) -> int:
        """The number of variations of ``task_name``."""
        return int(self._call("counting variations", self._server.getTaskMaxVariations, task_name))

    def close(self) -> None:
        """Free the Java object (the JVM itself belongs to whoever acquired it) and the worker thread."""
        if self.broken is None and self.jvm.alive():
            with contextlib.suppress(EnvCrashed):
                self._call("closing", self.jvm.gateway.detach, self._server, timeout_s=5)
        self._worker.shutdown(wait=False)
