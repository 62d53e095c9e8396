"""``TextEnv``: the one gymnasium env of agentgym, generic over a benchmark's :class:`~agentgym.task.Task`.

A benchmark writes its rules as a :class:`~agentgym.task.Task` (:mod:`agentgym.task`); :class:`TextEnv` plays
any task and does the gymnasium side the same way on every benchmark: seeding, reset options, step counting,
``terminated`` and ``truncated``, the ``info`` keys, the rule that an action never raises, the episode-over
rule, the expert guard, render and close. A benchmark's gymnasium entry point is a thin subclass that builds
its task from the env's keyword arguments.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium

from agentgym.actions import FREE_TEXT, ActionGrammar
from agentgym.error import ResetNeeded, SettingError
from agentgym.spaces import FreeText
from agentgym.task import Outcome, Setup, Task
from agentgym.tasks import RESET_OPTION_KEYS, TaskSet

__all__ = ["EPISODE_OVER", "INFO_KEYS", "QUOTE_CHARS", "Outcome", "Setup", "Task", "TextEnv", "quote"]

#: The keys every env puts in ``info`` after ``reset`` and after every ``step``.
INFO_KEYS = ("task_id", "task", "won", "score", "env_name", "step", "admissible_actions", "invalid_action")

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


class TextEnv(gymnasium.Env[str, str]):
    """The gymnasium env of every agentgym benchmark: text in, text out, one info schema.

    Contract (every env):
        - ``observation_space`` and ``action_space`` are the same :class:`~agentgym.spaces.FreeText`.
        - ``reset(seed=None, options=None)``: ``{"task_id": id}``, ``{"split": s, "index": i}``,
          ``{"index": i}`` (entry i of the full list) or ``{"split": s}``/nothing (a task drawn from the
          seed) pick the task. The observation includes the instruction as the original benchmark shows it.
        - ``info`` has :data:`INFO_KEYS` after reset and after each step (``invalid_action`` is ``False``
          after reset); ``admissible_actions`` is a list only when the env was made with
          ``admissible_actions=True`` and the task can list them, else ``None``.
        - ``step`` never raises on a malformed action: it answers with an observation and counts the step.
          An observation quotes at most :data:`QUOTE_CHARS` characters of an action (:func:`quote`).
          ``truncated`` is set when the task's own step limit is reached (:attr:`Outcome.truncated`).
        - A ``step`` after the episode ended (``terminated``) does not reach the task: it returns
          :data:`EPISODE_OVER`, reward 0, ``terminated`` again and the final ``info`` (score and ``won``
          unchanged, ``invalid_action`` true, the step not counted).
        - ``expert_action()`` returns the scripted expert's next action, or ``None`` (always once the episode
          ended). Before the first reset (and after ``close``) it raises
          :class:`~agentgym.error.ResetNeeded`, as ``step`` does: there is no state to act from, and ``None``
          would read as an expert that gave up.
        - ``close()`` releases the task's resources (idempotent); a later ``reset`` starts afresh.
        - ``action_grammar`` (a class attribute) describes and parses the env's action syntax
          (:class:`~agentgym.actions.ActionGrammar`; :func:`agentgym.actions.grammar_of` finds it from an env id).

    Args:
        task: the benchmark's rules.
        split: the split a seed-only reset draws from (default: the benchmark's default split).
        admissible_actions: compute ``info["admissible_actions"]`` after reset and every step.
        render_mode: ``"ansi"`` returns the last observation from ``render()``.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 1}
    #: How the env's actions are written (:mod:`agentgym.actions`); any string unless the env declares its own.
    action_grammar: ClassVar[ActionGrammar] = FREE_TEXT

    def __init__(
        self,
        task: Task,
        *,
        split: str | None = None,
        admissible_actions: bool = False,
        render_mode: str | None = None,
    ) -> None:
        """Set up spaces and settings; the task loads its heavy resources (simulators, data) at first use."""
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise SettingError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.task = task
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

    @property
    def env_name(self) -> str:
        """The benchmark's short name, as ``info["env_name"]`` reports it."""
        return self.task.env_name

    @property
    def tasks(self) -> TaskSet:
        """The benchmark's task ids and splits."""
        if self._tasks is None:
            tasks = self.task.task_set()
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
        accepted = RESET_OPTION_KEYS | self.task.reset_options
        unknown = set(options) - accepted
        if unknown:
            name = type(self).__name__
            raise SettingError(f"unknown reset option(s) {sorted(unknown)}; {name} takes {sorted(accepted)}")
        task_id = self.tasks.resolve(options, self.np_random)
        setup = self.task.setup(task_id, options)
        self._task_id = task_id
        self._task_text = setup.instruction
        self._steps = 0
        self._won = False
        self._score = float(setup.score)
        self._ended = False
        self._last_observation = setup.observation
        return setup.observation, self._info({"invalid_action": False})

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
        outcome = self.task.act(action)
        self._won = self._won or outcome.won
        self._score = float(outcome.score)
        self._ended = bool(outcome.done)
        self._last_observation = outcome.observation
        info = self._info({"invalid_action": outcome.invalid, **outcome.extra})
        truncated = bool(outcome.truncated) and not self._ended
        return outcome.observation, float(outcome.reward), self._ended, truncated, info

    def expert_action(self) -> str | None:
        """Return the task's scripted expert action from the current state; ``None`` once the episode ended.

        Raises:
            ResetNeeded: before the first reset (or after ``close``).
        """
        if self._task_id is None:
            raise ResetNeeded("call reset() before expert_action()")
        if self._ended:
            return None
        return self.task.expert()

    def protocol(self) -> dict[str, Any]:
        """The settings a metric depends on, for the run's protocol card (:meth:`Task.protocol`)."""
        return self.task.protocol()

    def render(self) -> str | None:
        """Return the last observation in ``"ansi"`` mode."""
        return self._last_observation if self.render_mode == "ansi" else None

    def close(self) -> None:
        """Release the task's resources (idempotent); ``step`` and ``expert_action`` then need a ``reset``."""
        self.task.close()
        self._task_id = None
        super().close()

    def _info(self, step_info: dict[str, Any]) -> dict[str, Any]:
        admissible = self.task.admissible_actions() if self.want_admissible_actions else None
        return {
            "task_id": self._task_id,
            "task": self._task_text,
            "won": self._won,
            "score": self._score,
            "env_name": self.env_name,
            "step": self._steps,
            "admissible_actions": admissible,
            **self.task.info(),
            **step_info,
        }
