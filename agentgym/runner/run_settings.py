"""The checks of :func:`~agentgym.runner.evaluate`'s settings, run before any env, model or worker starts.

The ranges (README, "Run options") keep every setting meaningful: a step cap that ends episodes, a number of
workers a pool can hold, and at most :data:`MAX_EPISODES` episodes in one run's plan.
"""

from __future__ import annotations

from collections.abc import Sequence

from agentgym.error import SettingError
from agentgym.runner.executor import EXECUTORS, Executor
from agentgym.validate import integer, number, optional_integer, optional_number

#: Most env workers (processes or Ray actors) of one run.
MAX_WORKERS = 4096
#: Largest step cap of an episode.
MAX_STEPS = 100_000
#: Most episodes per task (``trials`` or ``episodes_per_task``), and most episodes of a whole run.
MAX_PER_TASK = 100_000
MAX_EPISODES = 10_000_000
#: Seeds are unsigned 64-bit integers.
MAX_SEED = 2**64 - 1


def check_run_settings(
    *,
    limit: object,
    episodes_per_task: object,
    trials: object,
    workers: object,
    max_steps: object,
    seed: object,
    max_retries: object,
    timeout_s: object,
    recycle_episodes: object,
    recycle_memory_mb: object,
    executor: object,
    ray_address: object,
) -> None:
    """Raise :class:`SettingError` for the first setting of a wrong type or out of its range."""
    optional_integer("limit", limit, low=1)
    integer("episodes_per_task", episodes_per_task, low=1, high=MAX_PER_TASK)
    integer("trials", trials, low=1, high=MAX_PER_TASK)
    integer("workers", workers, low=0, high=MAX_WORKERS)
    optional_integer("max_steps", max_steps, low=1, high=MAX_STEPS)
    integer("seed", seed, low=0, high=MAX_SEED)
    integer("max_retries", max_retries, low=0, high=100)
    number("timeout_s", timeout_s, above=0)
    optional_integer("recycle_episodes", recycle_episodes, low=1)
    optional_number("recycle_memory_mb", recycle_memory_mb, above=0)
    if executor is not None and not isinstance(executor, Executor) and executor not in EXECUTORS:
        raise SettingError(f"unknown executor {executor!r}; use {' or '.join(map(repr, EXECUTORS))}")
    if executor in (None, "local") and ray_address not in (None, "auto"):
        raise SettingError(f"a Ray address ({ray_address!r}) is for the ray executor; add --executor ray")
    if trials > 1 and episodes_per_task > 1:  # type: ignore[operator]  # both checked above
        raise SettingError("use either trials (sequential retries of a task) or episodes_per_task, not both")


def unique_task_ids(task_ids: Sequence[str] | None) -> list[str] | None:
    """The task ids to play, each once, in the order given (``None``: play a split).

    Raises:
        SettingError: for an empty list, a bare string (a list of ids is expected) or an id that is not a string.
    """
    if task_ids is None:
        return None
    if isinstance(task_ids, str):
        raise SettingError(f"task_ids must be a list of task ids, not one string ({task_ids!r})")
    ids = list(task_ids)
    if not ids:
        raise SettingError("task_ids is empty: name at least one task, or play a split")
    wrong = [task_id for task_id in ids if not isinstance(task_id, str) or not task_id]
    if wrong:
        raise SettingError(f"task ids must be non-empty strings, got {wrong[0]!r}")
    return list(dict.fromkeys(ids))


def check_episode_count(tasks: int, per_task: int) -> None:
    """Raise :class:`SettingError` when a run would plan more than :data:`MAX_EPISODES` episodes."""
    if tasks * per_task > MAX_EPISODES:
        raise SettingError(
            f"{tasks} tasks x {per_task} episodes each is more than {MAX_EPISODES:,} episodes in one run; "
            "use --limit or fewer episodes per task"
        )
