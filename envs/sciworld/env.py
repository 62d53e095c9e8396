r"""``agentgym/ScienceWorld-v0``: the ScienceWorld simulator (``scienceworld`` 1.2.3, Java) as a TextEnv.

Tasks and splits: see :mod:`agentgym.envs.sciworld.catalog` (ids ``"<task-name>-<variation>"``; official
``train``/``dev``/``test`` of all 30 tasks; ETO's ``eto_seen``/``eto_unseen``/``eto_train``; AgentGym's
``agentgym``). A seed-only reset draws from the official ``test`` split.

Observation after reset: the task description as the stock wrapper's ``info["taskDesc"]`` shows it
("Task Description:\n..."), a blank line, then the output of ``look around`` (what ``ScienceWorldEnv.reset``
returns). After a step: the simulator's answer, unchanged ("No known action matches that input." for an
action it cannot parse; such a step is flagged ``info["invalid_action"]``).

Scoring: the simulator's score is 0..100, and -100 once the task is failed (a wrong ``focus on``, say).
``info["score"]`` is that score / 100, with a failure counted as 0; ``won`` is set when the simulator reports
the task completed; ``terminated`` when it is completed or failed (as the stock wrapper's ``done``, minus
its step limit). The reward is the score delta of the step / 100, as the original (a failure gives a negative
reward). ``info["max_score"]`` is the highest score of the episode so far: ETO's metric, which ignores a
later failure. ``info["raw_score"]`` is the simulator's own integer.

Step limits: ``info["max_steps"]`` is the loaded task's limit, and the env sets ``truncated`` once that many
steps were taken (every step counts, invalid ones too), as ETO stops. By default (``step_limit="eto"``) these
are ETO's per-task limits (10-120) for ETO's 24 tasks and 200 for the other 6 (ETO's ``envStepLimit``, also
the registered ``max_episode_steps``). ``step_limit=None``
turns the per-task limits off; an int sets one limit for every task (AgentGym uses 30).
Simplifications: ``"easy"`` by default, as ETO (the suite's reference numbers); AgentGym uses none (``""``).

Change logs:
    v0: initial version.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
from collections.abc import Mapping
from typing import Any

from agentgym import data, validate
from agentgym.core import TextEnv
from agentgym.envs.sciworld import catalog, jvm
from agentgym.envs.sciworld.simulator import DEFAULT_TIMEOUT_S, Simulator
from agentgym.error import DependencyNotInstalled, EnvCrashed, SettingError
from agentgym.protocol import file_sha256
from agentgym.task import Outcome, Setup, Task
from agentgym.tasks import TaskSet

logger = logging.getLogger(__name__)

#: The simulator's answer to an action it cannot parse.
UNKNOWN_ACTION = "No known action matches that input."
#: Actions longer than this are answered with :data:`UNKNOWN_ACTION` without reaching the simulator (the
#: longest real action is under 200 characters; the parser's time grows with the input's length).
MAX_ACTION_CHARS = 4096
#: The simplifications the simulator knows; ``"easy"`` is all of them (except ``noElectricalAction`` on
#: the electrical tasks, which need those actions).
SIMPLIFICATIONS = frozenset(
    {"easy", "teleportAction", "selfWateringFlowerPots", "openContainers", "openDoors", "noElectricalAction"}
)
_ELECTRICAL_TASKS = ("power-component", "conductivity")


def _clean_action(action: str) -> str:
    """Replace what py4j cannot send (lone surrogates) so that no action string can break the connection."""
    return action.encode("utf-8", "replace").decode("utf-8")


class ScienceWorldTask(Task):
    """ScienceWorld's rules, played in a JVM started at the first set-up (see the module docstring).

    Args: see :class:`ScienceWorldEnv` (all but ``split``, ``admissible_actions`` and ``render_mode``).
    """

    env_name = "sciworld"

    def __init__(
        self,
        *,
        simplification: str = "easy",
        step_limit: int | str | None = "eto",
        jvm_heap_mb: int | None = jvm.DEFAULT_HEAP_MB,
        share_jvm: bool = False,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        """Check the settings; the JVM starts at the first set-up."""
        if importlib.util.find_spec("scienceworld") is None:
            raise DependencyNotInstalled("scienceworld", "sciworld")
        unknown = {s for s in simplification.split(",") if s} - SIMPLIFICATIONS
        if unknown:
            raise ValueError(f"unknown simplification(s) {sorted(unknown)}; known: {sorted(SIMPLIFICATIONS)}")
        whole = isinstance(step_limit, int) and not isinstance(step_limit, bool) and step_limit > 0
        if step_limit not in (None, "eto") and not whole:
            raise SettingError(f"step_limit must be 'eto', a positive integer or None, got {step_limit!r}")
        validate.number("timeout_s", timeout_s, above=0)
        validate.optional_integer("jvm_heap_mb", jvm_heap_mb, low=64)
        self.simplification = simplification
        self.step_limit = step_limit
        self.jvm_heap_mb = jvm_heap_mb
        self.share_jvm = share_jvm
        self.timeout_s = timeout_s
        self._jvm: jvm.Jvm | None = None
        self._sim: Simulator | None = None
        self._gold_sim: Simulator | None = None
        self._gold: list[str] | None = None
        self._history: list[str] = []
        self._raw_score = 0
        self._max_score = 0.0
        self._max_steps: int | None = None
        self._task_id = ""

    # --- tasks ---------------------------------------------------------------------------------------------

    def task_set(self) -> TaskSet:
        """The official splits of the 30 tasks, ETO's and AgentGym's (see :mod:`agentgym.envs.sciworld.catalog`)."""
        tasks = catalog.official_tasks()
        official = {
            split: tuple(tid for task in tasks for tid in task.ids(getattr(task, split)))
            for split in ("train", "dev", "test")
        }
        lazy = {name: (lambda name=name: catalog.eto_split(name)) for name in catalog.ETO_SPLIT_FILES}
        lazy["agentgym"] = catalog.agentgym_split
        ids = tuple(tid for task in tasks for tid in task.ids())
        return TaskSet(ids=ids, splits=catalog.Splits(official, lazy), default_split="test")

    def max_steps_for(self, task_id: str) -> int | None:
        """The step limit this env applies to ``task_id`` (``None``: no limit of its own)."""
        if self.step_limit == "eto":
            return catalog.max_steps_for(catalog.parse_task_id(task_id)[0])
        return self.step_limit  # type: ignore[return-value]  (an int or None, checked in __init__)

    # --- the simulator -----------------------------------------------------------------------------------

    def _simulator(self) -> Simulator:
        if self._sim is None:
            self._jvm = jvm.acquire(heap_mb=self.jvm_heap_mb, shared=self.share_jvm)
            try:
                self._sim = Simulator(self._jvm, timeout_s=self.timeout_s)
            except BaseException:
                self._drop_simulator()
                raise
        return self._sim

    def _drop_simulator(self) -> None:
        """Free the simulators and this env's hold on the JVM (after a crash, or on close)."""
        for sim in (self._sim, self._gold_sim):
            if sim is not None:
                sim.close()
        self._sim = self._gold_sim = None
        if self._jvm is not None:
            jvm.release(self._jvm)
            self._jvm = None

    @property
    def jvm_pid(self) -> int | None:
        """The process id of the JVM this env uses (``None`` before the first reset)."""
        return self._jvm.pid if self._jvm is not None else None

    # --- the task ----------------------------------------------------------------------------------------

    def setup(self, task_id: str, options: Mapping[str, Any]) -> Setup:
        """Load the variation and look around; ``score`` is what ``look around`` already earned.

        Raises:
            EnvCrashed: the JVM died or hung while loading (a later set-up starts a new one).
        """
        task_name, variation = catalog.parse_task_id(task_id)
        if "noElectricalAction" in self.simplification and any(t in task_name for t in _ELECTRICAL_TASKS):
            raise ValueError(f"{task_id} needs electrical actions: drop 'noElectricalAction' from the simplification")
        try:
            look, heading, task = self._load(task_name, variation)
        except EnvCrashed as e:
            # No episode is under way yet, so nothing is lost: a JVM that died since the last episode (or
            # dies now) gets one replacement before the crash is reported.
            logger.warning("ScienceWorld's JVM failed at reset (%s); starting a new one", e)
            look, heading, task = self._load(task_name, variation)
        self._task_id = task_id
        self._history = []
        self._gold = None
        # With simplifications, "look around" can already earn points (a subgoal is met at the start).
        self._max_score = max(self._raw_score, 0) / 100
        self._max_steps = self.max_steps_for(task_id)
        return Setup(f"{heading}\n\n{look}", task, score=self._max_score)

    def _load(self, task_name: str, variation: int) -> tuple[str, str, str]:
        """Load a variation and look around; return ``(look output, task heading block, task text)``."""
        try:
            sim = self._simulator()
            sim.load(task_name, variation, self.simplification)
            look, self._raw_score, _ = sim.step("look around")
            return look, sim.task_description_block(), sim.task_description()
        except EnvCrashed:
            self._drop_simulator()
            raise

    def act(self, action: str) -> Outcome:
        """Play one action; ``truncated`` once the task's step limit is reached (every step counts).

        Raises:
            EnvCrashed: the JVM died or hung (it is gone; a new set-up starts a new one).
        """
        if self._sim is None:
            raise EnvCrashed("the simulator crashed earlier in this episode; call reset() to start a new one")
        self._history.append(action)
        action = _clean_action(action)
        if len(action) > MAX_ACTION_CHARS:
            observation, raw, completed = UNKNOWN_ACTION, self._raw_score, False
        else:
            try:
                observation, raw, completed = self._sim.step(action)
            except EnvCrashed:
                self._drop_simulator()
                raise
        reward = (raw - self._raw_score) / 100
        self._raw_score = raw
        failed = raw < 0
        score = max(raw, 0) / 100
        self._max_score = max(self._max_score, score)
        return Outcome(
            observation,
            reward=reward,
            done=completed or failed,
            won=completed and not failed,
            score=score,
            invalid=observation == UNKNOWN_ACTION,
            truncated=self._max_steps is not None and len(self._history) >= self._max_steps,
        )

    def admissible_actions(self) -> list[str] | None:
        """The simulator's valid actions (several times the cost of a step)."""
        if self._sim is None:
            return None
        try:
            return self._sim.valid_actions()
        except EnvCrashed:
            self._drop_simulator()
            raise

    def protocol(self) -> dict[str, Any]:
        """What scores depend on: the simulator (version, jar sha256), the settings, ETO's split files."""
        from scienceworld.constants import JAR_PATH

        files = {}
        for name in catalog.ETO_SPLIT_FILES.values():
            path = data.find(f"sciworld/eto/{name}")
            if path is not None:
                files[f"sciworld/eto/{name}"] = file_sha256(path)
        return {
            "scienceworld": importlib.metadata.version("scienceworld"),
            "jar_sha256": file_sha256(JAR_PATH),
            "simplification": self.simplification,
            "step_limit": self.step_limit,
            "jvm_options": list(jvm.JVM_OPTIONS),
            "data_files": files,
        }

    def info(self) -> dict[str, Any]:
        """``max_steps`` (the task's step limit), ``max_score`` (ETO's metric) and ``raw_score``."""
        return {"max_steps": self._max_steps, "max_score": self._max_score, "raw_score": self._raw_score}

    def expert(self) -> str | None:
        """The next action of the loaded variation's gold action sequence.

        ``None`` once the episode left the gold path (an action other than the gold one was taken), the path is
        used up, or the episode ended (the task can be completed before the path's last actions). The gold path
        is generated, on the first call of an episode, by a second simulator in the same JVM, so asking for it
        never disturbs the episode. It is the same path every time (see
        :data:`~agentgym.envs.sciworld.jvm.JVM_OPTIONS`).
        """
        if self._gold is None:
            self._gold = self._gold_path(self._task_id)
        done = len(self._history)
        if done >= len(self._gold) or self._history != self._gold[:done]:
            return None
        return self._gold[done]

    def _gold_path(self, task_id: str) -> list[str]:
        task_name, variation = catalog.parse_task_id(task_id)
        if self._sim is None:
            raise EnvCrashed("the simulator crashed earlier in this episode; call reset() to start a new one")
        try:
            if self._gold_sim is None:
                self._gold_sim = Simulator(self._jvm, timeout_s=self.timeout_s)  # type: ignore[arg-type]
            self._gold_sim.load(task_name, variation, self.simplification, gold_path=True)
            return self._gold_sim.gold_actions()
        except EnvCrashed:
            self._drop_simulator()
            raise

    def close(self) -> None:
        """Free the simulator and the JVM (idempotent)."""
        self._drop_simulator()


class ScienceWorldEnv(TextEnv):
    """``agentgym/ScienceWorld-v0``: :class:`ScienceWorldTask` in the generic env (see the module docstring).

    Example:
        >>> import gymnasium, agentgym
        >>> env = gymnasium.make("agentgym/ScienceWorld-v0")
        >>> obs, info = env.reset(options={"task_id": "find-living-thing-0"})  # doctest: +SKIP
        >>> obs.splitlines()[0], info["max_steps"]  # doctest: +SKIP
        ('Task Description:', 15)
        >>> env.step("open door to kitchen")[0]  # doctest: +SKIP
        'The door is now open.'
    """

    task: ScienceWorldTask

    def __init__(
        self,
        *,
        simplification: str = "easy",
        step_limit: int | str | None = "eto",
        jvm_heap_mb: int | None = jvm.DEFAULT_HEAP_MB,
        share_jvm: bool = False,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        split: str | None = None,
        admissible_actions: bool = False,
        render_mode: str | None = None,
    ) -> None:
        """Check the settings; the JVM starts at the first reset.

        Args:
            simplification: comma-separated simplifications (``"easy"``: all; ``""``: none), see
                :data:`SIMPLIFICATIONS`.
            step_limit: ``"eto"`` (ETO's per-task limits), an int (the same for every task) or ``None``.
            jvm_heap_mb: the JVM's heap cap in MB (``None``: Java's default, a quarter of the memory).
            share_jvm: run this env's simulator in a JVM shared with the other envs of this process that have
                the same heap cap: 4 envs then take ~345 MB instead of ~4 x 275 MB, but a JVM crash, hang or
                full heap hits all of them. Off by default (the runner runs one env per worker process).
            timeout_s: a simulator call that takes longer means a hung JVM: it is killed and
                :class:`~agentgym.error.EnvCrashed` raised.
            split: see :class:`~agentgym.core.TextEnv`.
            admissible_actions: list the valid actions in ``info["admissible_actions"]`` (this costs several
                times a step).
            render_mode: see :class:`~agentgym.core.TextEnv`.
        """
        task = ScienceWorldTask(
            simplification=simplification,
            step_limit=step_limit,
            jvm_heap_mb=jvm_heap_mb,
            share_jvm=share_jvm,
            timeout_s=timeout_s,
        )
        super().__init__(task, split=split, admissible_actions=admissible_actions, render_mode=render_mode)

    def max_steps_for(self, task_id: str) -> int | None:
        """The step limit this env applies to ``task_id`` (``None``: no limit of its own)."""
        return self.task.max_steps_for(task_id)

    @property
    def jvm_pid(self) -> int | None:
        """The process id of the JVM this env uses (``None`` before the first reset)."""
        return self.task.jvm_pid
