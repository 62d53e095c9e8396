"""``evaluate``: play many episodes of one env with one agent and policy, in parallel, to disk, resumably.

A run goes through four parts, one module each: :mod:`~agentgym.runner.plan` settles everything before the first
episode (cheap checks first), :mod:`~agentgym.runner.schedule` decides which episodes to play and in what order,
:mod:`~agentgym.runner.episode` plays one episode on an env from the :mod:`~agentgym.runner.executor`, and
:mod:`~agentgym.runner.records` writes each record as its episode ends. This module ties them together.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentgym.agent import Agent
from agentgym.error import OutputError
from agentgym.policies import Policy
from agentgym.runner.episode import EpisodePlayer
from agentgym.runner.executor import Executor, make_executor
from agentgym.runner.plan import RunPlan, plan_run
from agentgym.runner.progress import ProgressBar
from agentgym.runner.records import episode_key, summarize
from agentgym.runner.schedule import EpisodeKey, TrialScheduler, planned_episodes
from agentgym.runner.seeding import episode_seed

logger = logging.getLogger(__name__)

#: Called after every finished episode with its record (the CLI's progress bar uses it).
EpisodeCallback = Callable[[dict[str, Any]], None]


@dataclass
class RunResult:
    """What :func:`evaluate` returns.

    Attributes:
        summary: aggregate numbers (``episodes``, ``success_rate``, ``mean_score``, ``mean_steps``, ...).
        records: one record per episode of the run (resumed ones included), in task order.
        out: the output folder, if the run wrote one.

    An episode that ended in an error does not make :func:`evaluate` raise: ``summary["errors"]`` counts such
    episodes and :attr:`failed` lists their records (the ``agentgym run`` command then exits with status 3).
    """

    summary: dict[str, Any]
    records: list[dict[str, Any]]
    out: Path | None

    @property
    def failed(self) -> list[dict[str, Any]]:
        """The records of the episodes that ended in an error (a rerun with the same ``out`` plays them again)."""
        return [record for record in self.records if record.get("error") is not None]


def evaluate(env_id: str, agent: str | type[Agent] = "expert", policy: str | Policy = "expert", **kwargs: Any):
    """Play episodes of ``env_id`` with an agent and a policy; see :func:`aevaluate` for every argument.

    Example (``ENV_ID``: any registered id, as ``agentgym list`` shows them)::

        result = agentgym.evaluate(ENV_ID, agent="expert", split="test", limit=3, workers=0, progress=False)
        result.summary["success_rate"]  # the expert wins every task: 1.0
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(aevaluate(env_id, agent, policy, **kwargs))
    raise RuntimeError("evaluate() cannot run inside an event loop (e.g. Jupyter): use `await agentgym.aevaluate(...)`")


async def aevaluate(
    env_id: str,
    agent: str | type[Agent] = "expert",
    policy: str | Policy = "expert",
    *,
    split: str | None = None,
    task_ids: Sequence[str] | None = None,
    limit: int | None = None,
    episodes_per_task: int = 1,
    trials: int = 1,
    workers: int = 1,
    max_steps: int | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
    agent_kwargs: dict[str, Any] | None = None,
    policy_kwargs: dict[str, Any] | None = None,
    max_retries: int = 2,
    timeout_s: float = 300.0,
    recycle_episodes: int | None = None,
    recycle_memory_mb: float | None = None,
    executor: Executor | str | None = None,
    ray_address: str | None = "auto",
    preset: str | None = None,
    on_episode: EpisodeCallback | None = None,
    progress: bool = True,
    debug: bool = False,
) -> RunResult:
    """Play episodes of one env with one agent and policy, many at once.

    Args:
        env_id: a registered id (``agentgym/<Name>-v0``) or its short name (``<name>``, lower case).
        agent: an agent name (``expert``, ``direct``, ...), a ``"module:Class"`` path, or an Agent subclass.
        policy: a policy spec (``expert``, ``random``, ...) or a :class:`~agentgym.policies.Policy`.
        split: the split to play (default: the env's default split, its test split).
        task_ids: play exactly these tasks instead of a split (an id given twice is played once).
        limit: play only the first ``limit`` tasks of the split (>= 1).
        episodes_per_task: independent episodes per task (different seeds; for best-of-N, pass@k).
        trials: sequential attempts per task, stopping at the first win; what the agent's ``after_episode``
            returns after a failed trial reaches the next one (a reflection). ``summary["success_by_trial"]``
            is the cumulative success after each trial. Agents with ``lockstep_trials`` (memory shared across
            tasks) play trial t of every task before any trial t+1.
        workers: env worker processes (= episodes in flight); 0 runs envs in this process.
        max_steps: step cap per episode, 1 to 100,000 (default: the env's registered cap).
        out: output folder (``run.json``, ``episodes.jsonl``, ``summary.json``); an existing run there is
            resumed (a line of ``episodes.jsonl`` that is not a valid record is skipped with a warning naming
            the file and line, and its episode is played again). One run at a time holds it. ``None`` keeps
            everything in memory.
        overwrite: replace a different run found in ``out`` instead of refusing.
        seed: base seed; each episode's seed (its env reset) derives from it and the episode's identity, and each
            policy request's sampling seed from it, the episode and the step (:mod:`agentgym.runner.seeding`).
        env_kwargs: extra ``gymnasium.make`` arguments.
        agent_kwargs: agent settings.
        policy_kwargs: policy settings, when ``policy`` is a spec string (``retry_timeout_s=60``, ...).
        max_retries: retries of an episode whose env worker crashed or whose env raised.
        timeout_s: limit on one env call (reset/step); a worker exceeding it is killed, the episode retried.
        recycle_episodes: restart each worker after this many episodes (default: the env's hint).
        recycle_memory_mb: restart a worker above this resident memory (default: the env's hint).
        executor: where envs run: an :class:`Executor`, ``"local"`` (the default: processes on this machine,
            or in-process for ``workers=0``) or ``"ray"`` (actors on a Ray cluster; ``pip install
            'agentgym[ray]'``).
        ray_address: the Ray cluster for ``executor="ray"``: ``"auto"``, ``"HOST:PORT"``, or ``None`` to
            start a private one on this machine.
        preset: the paper preset these settings come from (recorded, for ``agentgym report``).
        on_episode: called with each finished episode's record.
        progress: show a progress bar.
        debug: re-raise agent and policy errors instead of recording them.

    Raises:
        SettingError: a setting of a wrong type or out of its range (the README's "Run options"), raised before
            any env, model or worker starts.
        PolicyUnavailable: the LLM server stayed unreachable past the policy's retry budget. The run stops;
            finished episodes are saved, the ones in flight are not recorded, and re-running resumes.
        OutputError: a record could not be written (a full disk). The run stops; ``out`` holds every record
            written before, intact. Its subclass ``OutputFolderUnavailable``: ``out`` cannot be written at all
            (read-only); nothing was played.
        RunLocked: another process is running in ``out`` (the message names its process id and host).
        NotARunFolder: ``out`` holds something other than a run: records but no ``run.json``, a ``run.json``
            that is not a JSON object, a records file that is a link or not a regular file. Its subclass
            ``RunConfigMismatch``: a run with another configuration (and ``overwrite`` is off). Nothing in
            ``out`` was changed.
    """
    plan = await plan_run(
        env_id,
        agent,
        policy,
        split=split,
        task_ids=task_ids,
        limit=limit,
        episodes_per_task=episodes_per_task,
        trials=trials,
        workers=workers,
        max_steps=max_steps,
        out=out,
        overwrite=overwrite,
        seed=seed,
        env_kwargs=env_kwargs,
        agent_kwargs=agent_kwargs,
        policy_kwargs=policy_kwargs,
        max_retries=max_retries,
        timeout_s=timeout_s,
        recycle_episodes=recycle_episodes,
        recycle_memory_mb=recycle_memory_mb,
        executor=executor,
        ray_address=ray_address,
        preset=preset,
    )
    try:
        plan.open_store()
        executor = _executor(plan, executor, workers, recycle_episodes, recycle_memory_mb, timeout_s, ray_address)
    except BaseException:
        plan.close()
        raise
    player = EpisodePlayer(
        executor, plan.env_id, plan.make_agent, plan.config, seed=seed, max_retries=max_retries, debug=debug
    )
    return await _play(plan, player, episodes_per_task, trials, on_episode, progress)


def _executor(
    plan: RunPlan,
    executor: Executor | str | None,
    workers: int,
    recycle_episodes: int | None,
    recycle_memory_mb: float | None,
    timeout_s: float,
    ray_address: str | None,
) -> Executor:
    """The executor given, or the one named (recycling as the env's registry row advises unless told)."""
    if executor is not None and not isinstance(executor, str):
        return executor
    entry = plan.entry
    return make_executor(
        executor or "local",
        plan.env_config,
        workers,
        recycle_episodes=recycle_episodes or (entry.worker_episodes if entry else None),
        recycle_memory_mb=recycle_memory_mb or (entry.worker_memory_mb if entry else None),
        timeout_s=timeout_s,
        ray_address=ray_address,
    )


class _Recorder:
    """Plays episodes through ``player`` and keeps each record: in memory, in the output folder, on the bar."""

    def __init__(
        self,
        plan: RunPlan,
        player: EpisodePlayer,
        episodes: list[EpisodeKey],
        *,
        progress: bool,
        on_episode: EpisodeCallback | None,
    ) -> None:
        self.store = plan.store
        self.player = player
        self.on_episode = on_episode
        self.results: dict[EpisodeKey, dict[str, Any]] = dict(self.store.records) if self.store is not None else {}
        self.bar = ProgressBar(len(episodes), sum(map(self.done, episodes)), self.results, enabled=progress)

    def done(self, key: EpisodeKey) -> bool:
        """Whether the episode has a record without an error (from this run or the one it resumes)."""
        return self.store is not None and self.store.done(key)

    async def play(self, task_id: str, index: int, memory: list[str]) -> dict[str, Any]:
        """Play one episode and record it."""
        record = await self.player.play(task_id, index, memory)
        self.results[task_id, index] = record
        if self.store is not None:
            self.store.add(record)
        self.bar.update()
        if self.on_episode is not None:
            self.on_episode(record)
        return record


async def _play(
    plan: RunPlan,
    player: EpisodePlayer,
    episodes_per_task: int,
    trials: int,
    on_episode: EpisodeCallback | None,
    progress: bool,
) -> RunResult:
    """Play the planned episodes, recording each as it ends; close everything; return the run's result."""
    episodes = planned_episodes(plan.facts.task_ids, max(trials, episodes_per_task))
    recorder = _Recorder(plan, player, episodes, progress=progress, on_episode=on_episode)
    scheduler = TrialScheduler(
        plan.facts.task_ids,
        episodes_per_task=episodes_per_task,
        trials=trials,
        lockstep=plan.agent_class.lockstep_trials,
        results=recorder.results,
        done=recorder.done,
        play=recorder.play,
        skipped=recorder.bar.update,
    )
    started = time.perf_counter()
    failed = False
    try:
        with recorder.bar:
            await scheduler.run()
    except BaseException:
        failed = True
        raise
    finally:
        await player.executor.close()
        if plan.owns_policy:
            plan.policy.close()
        ordered = [recorder.results[key] for key in episodes if key in recorder.results]
        summary = {
            "env_id": plan.env_id,
            "split": plan.facts.split,
            **summarize(ordered, trials=trials, wall_time_s=time.perf_counter() - started),
        }
        if plan.store is not None:
            try:
                plan.store.write_summary(summary)
            except OutputError as e:
                if not failed:
                    raise
                logger.error("%s", e)  # the error that stopped the run is the one to report
            finally:
                plan.store.close()
    return RunResult(summary, ordered, plan.store.folder if plan.store is not None else None)


__all__ = ["RunResult", "aevaluate", "episode_key", "episode_seed", "evaluate"]
