"""``TextEnv``: the gymnasium base class of every agentgym env (uniform spaces, reset options, info schema).

A benchmark subclasses :class:`TextEnv` and implements four hooks: ``_load_tasks`` (its task ids and splits),
``_start`` (load a task, return the first observation and the instruction), ``_act`` (apply one action string)
and ``expert_action``; optionally ``_admissible_actions``. The base class does the rest the same way on every
env: seeding, reset options, step counting, the ``info`` keys, and the rule that an action never raises.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import gymnasium

from agentgym.actions import FREE_TEXT, ActionGrammar
from agentgym.error import ResetNeeded
from agentgym.spaces import FreeText
from agentgym.tasks import RESET_OPTION_KEYS, TaskSet

#: The keys every env puts in ``info`` after ``reset`` and after every ``step``.
INFO_KEYS = ("task_id", "task", "won", "score", "env_name", "step", "admissible_actions")

#: The most characters of an action an observation quotes (see :func:`quote`).
QUOTE_CHARS = 200

#: The observation of a step taken after the episode ended (the env is not stepped, the step pays nothing).
EPISODE_OVER = "The episode is over: reset() starts a new one."


def quote(text: str, limit: int = QUOTE_CHARS) -> str:
    """``repr(text)``, cut to its first ``limit`` characters with the full length said, for echoing an action.

    An env that repeats what the agent wrote (``'xyz' is not a valid step``) quotes it with this, so that an
    observation stays small whatever the action's size (it lands in the next prompt and in the records).

    Example:
        >>> quote("look")
        "'look'"
        >>> quote("x" * 1000, limit=5)
        "'xxxxx'... (1,000 characters)"
    """
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)"


@dataclass
class Outcome:
    """What one action did, as a benchmark's ``_act`` reports it.

    Attributes:
        observation: the text the agent sees next.
        reward: the benchmark's own reward for this step.
        done: the episode ended (task solved or failed); the runner's step cap is separate (truncation).
        won: the task is solved.
        score: the benchmark's metric so far, in [0, 1].
        invalid: the action was malformed or not applicable (it still counts as a step).
        extra: env-specific info keys for this step.
    """

    observation: str
    reward: float = 0.0
    done: bool = False
    won: bool = False
    score: float = 0.0
    invalid: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class TextEnv(gymnasium.Env[str, str]):
    """Base class of agentgym envs: text in, text out, one info schema.

    Contract (every subclass):
        - ``observation_space`` and ``action_space`` are the same :class:`~agentgym.spaces.FreeText`.
        - ``reset(seed=None, options=None)``: ``{"task_id": id}``, ``{"split": s, "index": i}``,
          ``{"index": i}`` (entry i of the full list) or ``{"split": s}``/nothing (a task drawn from the
          seed) pick the task. The observation includes the instruction as the original benchmark shows it.
        - ``info`` has :data:`INFO_KEYS` after reset and after each step; ``admissible_actions`` is a list
          only when the env was made with ``admissible_actions=True`` and can list them, else ``None``.
        - ``step`` never raises on a malformed action: it answers with an observation and counts the step.
          An observation quotes at most :data:`QUOTE_CHARS` characters of an action (:func:`quote`).
        - A ``step`` after the episode ended (``terminated``) does not reach the benchmark: it returns
          :data:`EPISODE_OVER`, reward 0, ``terminated`` again and the final ``info`` (score and ``won``
          unchanged, ``invalid_action`` true, the step not counted).
        - ``expert_action()`` returns the scripted expert's next action, or ``None`` (always once the episode
          ended).
        - ``action_grammar`` (a class attribute) describes and parses the env's action syntax
          (:class:`~agentgym.actions.ActionGrammar`; :func:`agentgym.actions.grammar_of` finds it from an env id).

    Args:
        split: the split a seed-only reset draws from (default: the benchmark's test split).
        admissible_actions: compute ``info["admissible_actions"]`` after reset and every step.
        render_mode: ``"ansi"`` returns the last observation from ``render()``.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 1}
    #: The benchmark's short name, as ``info["env_name"]`` reports it.
    env_name: ClassVar[str]
    #: How the env's actions are written (:mod:`agentgym.actions`); any string unless the env declares its own.
    action_grammar: ClassVar[ActionGrammar] = FREE_TEXT
    #: Reset option keys this env accepts beyond :data:`agentgym.tasks.RESET_OPTION_KEYS`.
    extra_reset_options: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self, *, split: str | None = None, admissible_actions: bool = False, render_mode: str | None = None
    ) -> None:
        """Set up spaces and settings; heavy resources (simulators, data) load lazily on first use."""
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.observation_space = FreeText()
        self.action_space = FreeText()
        self.render_mode = render_mode
        self.want_admissible_actions = admissible_actions
        self._split = split
        self._tasks: TaskSet | None = None
        self._task_id: str | None = None
        self._task_text = ""
        self._last_observation = ""
        self._steps = 0
        self._won = False
        self._score = 0.0
        self._ended = False

    # --- hooks for subclasses ------------------------------------------------------------------------

    @abstractmethod
    def _load_tasks(self) -> TaskSet:
        """Return the benchmark's task ids and splits (called once, lazily)."""

    @abstractmethod
    def _start(self, task_id: str, options: dict[str, Any]) -> tuple[str, str]:
        """Load ``task_id`` and return ``(first observation, task instruction)``."""

    @abstractmethod
    def _act(self, action: str) -> Outcome:
        """Apply one action string and report what it did; must not raise on malformed actions."""

    @abstractmethod
    def expert_action(self) -> str | None:
        """Return the scripted expert's next action from the current state, or ``None`` if it has none."""

    def _admissible_actions(self) -> list[str] | None:
        """Return the valid actions in the current state, or ``None`` where the env cannot list them."""
        return None

    def _extra_info(self) -> dict[str, Any]:
        """Return env-specific info keys present after reset and after every step."""
        return {}

    def protocol(self) -> dict[str, Any]:
        """The env settings a metric depends on, for the run's protocol card.

        For example data files with their sha256 (:func:`agentgym.protocol.file_sha256`), catalog size, goal
        type, simplifications.
        """
        return {}

    # --- the gymnasium API ---------------------------------------------------------------------------

    @property
    def tasks(self) -> TaskSet:
        """The benchmark's task ids and splits."""
        if self._tasks is None:
            tasks = self._load_tasks()
            if self._split is not None:
                tasks.split(self._split)  # raises for an unknown split name
                if self._split != tasks.default_split:
                    tasks = TaskSet(ids=tasks.ids, splits=tasks.splits, default_split=self._split)
            self._tasks = tasks
        return self._tasks

    @property
    def task_id(self) -> str | None:
        """The id of the loaded task (``None`` before the first reset)."""
        return self._task_id

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict]:
        """Load a task (see the class docstring for ``options``) and return ``(observation, info)``."""
        super().reset(seed=seed)
        options = dict(options or {})
        unknown = set(options) - RESET_OPTION_KEYS - self.extra_reset_options
        if unknown:
            allowed = sorted(RESET_OPTION_KEYS | self.extra_reset_options)
            raise ValueError(f"unknown reset option(s) {sorted(unknown)}; {type(self).__name__} takes {allowed}")
        task_id = self.tasks.resolve(options, self.np_random)
        observation, self._task_text = self._start(task_id, options)
        self._task_id = task_id
        self._steps = 0
        self._won = False
        self._score = 0.0
        self._ended = False
        self._last_observation = observation
        return observation, self._info({})

    def step(self, action: str) -> tuple[str, float, bool, bool, dict]:
        """Apply ``action``; returns ``(observation, reward, terminated, truncated, info)``."""
        if self._task_id is None:
            raise ResetNeeded("call reset() before step()")
        if not isinstance(action, str):
            action = "" if action is None else str(action)
        if self._ended:
            self._last_observation = EPISODE_OVER
            return EPISODE_OVER, 0.0, True, False, self._info({"invalid_action": True})
        self._steps += 1
        outcome = self._act(action)
        self._won = self._won or outcome.won
        self._score = float(outcome.score)
        self._ended = bool(outcome.done)
        self._last_observation = outcome.observation
        info = self._info({"invalid_action": outcome.invalid, **outcome.extra})
        return outcome.observation, float(outcome.reward), bool(outcome.done), False, info

    def render(self) -> str | None:
        """Return the last observation in ``"ansi"`` mode."""
        return self._last_observation if self.render_mode == "ansi" else None

    def _info(self, step_info: dict[str, Any]) -> dict[str, Any]:
        admissible = self._admissible_actions() if self.want_admissible_actions else None
        return {
            "task_id": self._task_id,
            "task": self._task_text,
            "won": self._won,
            "score": self._score,
            "env_name": self.env_name,
            "step": self._steps,
            "admissible_actions": admissible,
            **self._extra_info(),
            **step_info,
        }
