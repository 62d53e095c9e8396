"""``Task``: the rules of one benchmark, which the one generic env (:class:`agentgym.core.TextEnv`) plays.

As BrowserGym separates a task from its browser env, a benchmark writes only its rules, as a :class:`Task`:
its task set, how a task is set up (the first observation and the instruction), what an action does (an
:class:`Outcome`), its scripted expert, the actions it admits, its own ``info`` keys, the settings its metric
depends on (the protocol card) and the resources it holds. :class:`~agentgym.core.TextEnv` does the gymnasium
side the same way for every task: seeding, reset options, step counting, ``terminated`` and ``truncated``,
the ``info`` keys, the episode-over rule, the expert guard, render and close.

Example (a complete task; the env plays it):
    >>> from agentgym.core import TextEnv
    >>> from agentgym.tasks import TaskSet
    >>> class Echo(Task):
    ...     env_name = "echo"
    ...     def task_set(self):
    ...         return TaskSet(ids=("hi", "bye"), splits={"test": ("hi", "bye")}, default_split="test")
    ...     def setup(self, task_id, options):
    ...         self.word = task_id
    ...         return Setup(f"Say {task_id!r}.", instruction=f"Say {task_id!r}.")
    ...     def act(self, action):
    ...         won = action == self.word
    ...         return Outcome("Right." if won else "No.", reward=float(won), done=won, won=won, score=float(won))
    ...     def expert(self):
    ...         return self.word
    >>> env = TextEnv(Echo())
    >>> env.reset(options={"task_id": "bye"})[0]
    "Say 'bye'."
    >>> env.step(env.expert_action())[:3]
    ('Right.', 1.0, True)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from agentgym.tasks import TaskSet

__all__ = ["Outcome", "Setup", "Task"]


@dataclass
class Setup:
    """A task once set up: what the agent sees first (:meth:`Task.setup`).

    Attributes:
        observation: the first observation; it includes the instruction as the original benchmark shows it.
        instruction: the task's instruction alone (``info["task"]``).
        score: the benchmark's metric before the first action, in [0, 1] (a simulator can award points for
            the state a task starts in).
    """

    observation: str
    instruction: str
    score: float = 0.0


@dataclass
class Outcome:
    """What one action did, as :meth:`Task.act` reports it.

    Attributes:
        observation: the text the agent sees next.
        reward: the benchmark's own reward for this step.
        done: the episode ended (task solved or failed): the env's ``terminated``.
        won: the task is solved.
        score: the benchmark's metric so far, in [0, 1].
        invalid: the action was malformed or not applicable (it still counts as a step).
        truncated: the benchmark's own step limit is reached (ignored when ``done``); the runner's step cap
            and the registered ``max_episode_steps`` are separate.
        extra: env-specific info keys for this step.
    """

    observation: str
    reward: float = 0.0
    done: bool = False
    won: bool = False
    score: float = 0.0
    invalid: bool = False
    truncated: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class Task(ABC):
    """The rules of one benchmark: its tasks, their set-up, what an action does, its expert.

    The env calls :meth:`task_set` once (lazily), :meth:`setup` at every reset, then :meth:`act` once per
    step until an :class:`Outcome` is ``done``; :meth:`expert`, :meth:`admissible_actions` and :meth:`info`
    are only called after a set-up (:meth:`expert` only while the episode is not over), and :meth:`close`
    when the env closes. Settings (data folders, modes, simulator options) are the task's constructor
    arguments; heavy resources load at first use, not in the constructor.
    """

    #: The benchmark's short name, as ``info["env_name"]`` reports it.
    env_name: ClassVar[str]
    #: Reset option keys this task accepts beyond :data:`agentgym.tasks.RESET_OPTION_KEYS`.
    reset_options: ClassVar[frozenset[str]] = frozenset()

    @abstractmethod
    def task_set(self) -> TaskSet:
        """Return the benchmark's task ids and splits."""

    @abstractmethod
    def setup(self, task_id: str, options: Mapping[str, Any]) -> Setup:
        """Load ``task_id`` (``options`` are the reset options) and return what the agent sees first."""

    @abstractmethod
    def act(self, action: str) -> Outcome:
        """Apply one action string and report what it did; a malformed action is answered, never raised."""

    @abstractmethod
    def expert(self) -> str | None:
        """Return the scripted expert's next action from the current state, or ``None`` if it has none."""

    def admissible_actions(self) -> list[str] | None:
        """Return the valid actions in the current state, or ``None`` where the benchmark cannot list them."""
        return None

    def info(self) -> dict[str, Any]:
        """Return the benchmark's own info keys, present after reset and after every step."""
        return {}

    def protocol(self) -> dict[str, Any]:
        """The settings a metric depends on, for the run's protocol card.

        For example data files with their sha256 (:func:`agentgym.protocol.file_sha256`), catalog size, goal
        type, simplifications.
        """
        return {}

    def close(self) -> None:
        """Release what the task holds (simulators, browsers, servers); idempotent."""
        return None
