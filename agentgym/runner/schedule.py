"""Scheduling a run's episodes: which to play, in what order, and what each trial is told of the earlier ones.

A run plays ``episodes_per_task`` independent episodes of each task, or ``trials`` sequential attempts per task
that stop at the first win, each told the ``memory`` its failed predecessors left (a reflection, say). Tasks run
concurrently (the executor's capacity is the limit); agents with ``lockstep_trials`` (their memory is shared
across tasks) play trial t of every task before any trial t+1. Episodes a resumed run finished are not played again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

#: An episode's identity within a run: ``(task_id, index)`` (the index is the trial, in multi-trial runs).
EpisodeKey = tuple[str, int]
#: Plays one episode, given its task, index and the earlier trials' memory; returns its record.
PlayEpisode = Callable[[str, int, list[str]], Awaitable[dict[str, Any]]]


def planned_episodes(task_ids: Sequence[str], per_task: int) -> list[EpisodeKey]:
    """Every episode a run may play, in task order (``per_task``: its trials or its episodes per task)."""
    return [(task_id, i) for task_id in task_ids for i in range(per_task)]


class TrialScheduler:
    """Plays a run's episodes through ``play``.

    Args:
        task_ids: the tasks, in order.
        episodes_per_task: independent episodes per task.
        trials: sequential attempts per task (stopping at the first win).
        lockstep: with ``trials > 1``, finish trial t of every task before starting any trial t+1.
        results: every record so far, by episode (a resumed run's included); ``play`` adds to it.
        done: whether an episode is finished (has a record without an error).
        play: plays one episode and records it.
        skipped: told how many episodes a task won early will not play (for the progress bar).
    """

    def __init__(
        self,
        task_ids: Sequence[str],
        *,
        episodes_per_task: int,
        trials: int,
        lockstep: bool,
        results: dict[EpisodeKey, dict[str, Any]],
        done: Callable[[EpisodeKey], bool],
        play: PlayEpisode,
        skipped: Callable[[int], None],
    ) -> None:
        """Keep the plan; :meth:`run` plays it."""
        self.task_ids = list(task_ids)
        self.episodes_per_task = episodes_per_task
        self.trials = trials
        self.lockstep = lockstep
        self.results = results
        self.done = done
        self.play = play
        self.skipped = skipped

    async def run(self) -> None:
        """Play every episode not yet done; the first error cancels the episodes in flight and is raised."""
        if self.trials > 1 and self.lockstep:
            await self._trials_in_lockstep()
        else:
            await all_or_first_error([self._task(task_id) for task_id in self.task_ids])

    async def _task(self, task_id: str) -> None:
        if self.trials == 1:
            todo = [i for i in range(self.episodes_per_task) if not self.done((task_id, i))]
            await asyncio.gather(*(self.play(task_id, i, []) for i in todo))
            return
        memory: list[str] = []
        for trial in range(self.trials):
            if await self._trial(task_id, trial, memory):
                return
            memory = self._remembered(task_id, trial, memory)

    async def _trials_in_lockstep(self) -> None:
        memories: dict[str, list[str]] = {task_id: [] for task_id in self.task_ids}
        open_tasks = list(self.task_ids)
        for trial in range(self.trials):
            if not open_tasks:
                return

            async def attempt(task_id: str, trial: int = trial) -> None:
                if await self._trial(task_id, trial, memories[task_id]):
                    open_tasks.remove(task_id)
                else:
                    memories[task_id] = self._remembered(task_id, trial, memories[task_id])

            await all_or_first_error([attempt(task_id) for task_id in list(open_tasks)])

    async def _trial(self, task_id: str, trial: int, memory: list[str]) -> bool:
        """Play (or find) one trial; ``True`` if it won (the task's later trials are then skipped)."""
        key = (task_id, trial)
        record = self.results[key] if self.done(key) else await self.play(task_id, trial, memory)
        if record["won"]:
            self.skipped(sum(not self.done((task_id, t)) for t in range(trial + 1, self.trials)))
        return bool(record["won"])

    def _remembered(self, task_id: str, trial: int, memory: list[str]) -> list[str]:
        """The memory the next trial gets: this one's, plus what the failed trial left."""
        left = self.results[task_id, trial].get("memory")
        return [*memory, left] if left else memory


async def all_or_first_error(coroutines: list[Coroutine[Any, Any, Any]]) -> None:
    """Run ``coroutines`` concurrently; the first one to raise cancels the others, and its error is raised."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()
