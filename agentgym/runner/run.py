"""``evaluate``: play many episodes of one env with one agent and policy, in parallel, to disk, resumably."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium

from agentgym.agent import Agent, AgentStep, EpisodeContext, RunSetup, resolve_agent
from agentgym.error import OutputError, PolicyUnavailable, WorkerCrashed
from agentgym.policies import Policy, make_policy
from agentgym.protocol import software
from agentgym.registry import entry_for, resolve_env_id
from agentgym.runner.executor import EnvHandle, Executor, make_executor
from agentgym.runner.records import EpisodeStore, episode_key, summarize
from agentgym.runner.run_settings import check_episode_count, check_run_settings, unique_task_ids
from agentgym.runner.seeding import SeededPolicy
from agentgym.runner.worker import EnvConfig, RemoteEnvError
from agentgym.tasks import task_list_hash
from agentgym.validate import folder
from agentgym.wrappers.record import Trajectory

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


def episode_seed(base_seed: int, env_id: str, task_id: str, episode: int) -> int:
    """A 31-bit seed derived from the run seed and the episode's identity (never from the clock)."""
    digest = hashlib.sha256(f"{base_seed}|{env_id}|{task_id}|{episode}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def evaluate(env_id: str, agent: str | type[Agent] = "expert", policy: str | Policy = "expert", **kwargs: Any):
    """Play episodes of ``env_id`` with an agent and a policy; see :func:`aevaluate` for every argument.

    Example:
        >>> import agentgym
        >>> result = agentgym.evaluate("game24", agent="expert", split="test", limit=3, workers=0, progress=False)
        >>> result.summary["success_rate"]
        1.0
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
        env_id: a registered id (``agentgym/Game24-v0``) or a short name (``game24``).
        agent: an agent name (``expert``, ``direct``, ...), a ``"module:Class"`` path, or an Agent subclass.
        policy: a policy spec (``expert``, ``random``, ...) or a :class:`~agentgym.policies.Policy`.
        split: the split to play (default: the env's default split, its test split).
        task_ids: play exactly these tasks instead of a split (an id given twice is played once).
        limit: play only the first ``limit`` tasks of the split (>= 1).
        episodes_per_task: independent episodes per task (different seeds; for best-of-N, pass@k).
        trials: sequential attempts per task, stopping at the first win; what the agent's ``after_episode``
            returns after a failed trial reaches the next one (Reflexion). ``summary["success_by_trial"]``
            is the cumulative success after each trial. Agents with ``lockstep_trials`` (CoPS) play trial t of
            every task before any trial t+1.
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
    check_run_settings(
        limit=limit,
        episodes_per_task=episodes_per_task,
        trials=trials,
        workers=workers,
        max_steps=max_steps,
        seed=seed,
        max_retries=max_retries,
        timeout_s=timeout_s,
        recycle_episodes=recycle_episodes,
        recycle_memory_mb=recycle_memory_mb,
        executor=executor,
        ray_address=ray_address,
    )
    task_ids = unique_task_ids(task_ids)
    out = folder("out", out) if out is not None else None
    env_id = resolve_env_id(env_id)
    entry = entry_for(env_id)
    policy_obj = make_policy(policy, **dict(policy_kwargs or {})) if isinstance(policy, str) else policy
    agent_cls = resolve_agent(agent)
    cap = max_steps if max_steps is not None else gymnasium.spec(env_id).max_episode_steps
    env_config = EnvConfig(env_id, dict(env_kwargs or {}), max_episode_steps=cap)
    facts = _env_facts(env_config, split, task_ids, limit)
    ids, split_name = facts.task_ids, facts.split
    check_episode_count(len(ids), max(trials, episodes_per_task))
    store = EpisodeStore(out, overwrite=overwrite) if out is not None else None  # read only, for now
    history = tuple(store.records.values()) if store is not None else ()
    make_agent = agent_cls.factory(
        policy_obj,
        RunSetup(env_id, facts.env_name, env_config.kwargs, split_name, tuple(ids), history),
        **dict(agent_kwargs or {}),
    )
    if inspect.isawaitable(make_agent):  # Agent.factory is async; an agent written before may override it sync
        make_agent = await make_agent
    config = {
        "env_id": env_id,
        "env_version": gymnasium.spec(env_id).version,
        "env_kwargs": env_config.kwargs,
        "env_protocol": facts.protocol,
        "split": split_name,
        "num_tasks": len(ids),
        "task_ids_hash": task_list_hash(ids),
        "episodes_per_task": episodes_per_task,
        "trials": trials,
        "agent": make_agent().config(),
        "policy": policy_obj.config(),
        "max_steps": cap,
        "seed": seed,
        "preset": preset,
        "workers": workers,
        **software(),
    }
    try:
        if store is not None:
            store.open(config)
        if executor is None or isinstance(executor, str):
            executor = make_executor(
                executor or "local",
                env_config,
                workers,
                recycle_episodes=recycle_episodes or (entry.worker_episodes if entry else None),
                recycle_memory_mb=recycle_memory_mb or (entry.worker_memory_mb if entry else None),
                timeout_s=timeout_s,
                ray_address=ray_address,
            )
    except BaseException:
        if store is not None:
            store.close()
        if isinstance(policy, str):
            policy_obj.close()
        raise
    per_task = max(trials, episodes_per_task)
    episodes = [(task_id, i) for task_id in ids for i in range(per_task)]
    results: dict[tuple[str, int], dict[str, Any]] = dict(store.records) if store else {}
    player = _EpisodePlayer(env_id, make_agent, policy_obj, config, seed, max_retries, debug)
    done = (lambda key: store.done(key)) if store is not None else (lambda key: False)

    started = time.perf_counter()
    bar = _progress_bar(len(episodes), sum(map(done, episodes)), results, enabled=progress)

    async def play(task_id: str, index: int, memory: list[str]) -> dict[str, Any]:
        record = await player.run(executor, task_id, index, memory)
        results[task_id, index] = record
        if store is not None:
            store.add(record)
        bar.update()
        if on_episode is not None:
            on_episode(record)
        return record

    async def run_task(task_id: str) -> None:
        if trials == 1:
            todo = [i for i in range(episodes_per_task) if not done((task_id, i))]
            await asyncio.gather(*(play(task_id, i, []) for i in todo))
            return
        memory: list[str] = []
        for trial in range(trials):
            record = results[task_id, trial] if done((task_id, trial)) else await play(task_id, trial, memory)
            if record["won"]:
                bar.update(sum(not done((task_id, t)) for t in range(trial + 1, trials)))
                return
            if record.get("memory"):
                memory = [*memory, record["memory"]]

    async def run_trials_in_lockstep() -> None:
        """Trial t of every task ends before any trial t+1 starts (agents whose memory is shared across tasks)."""
        memories: dict[str, list[str]] = {task_id: [] for task_id in ids}
        open_tasks = list(ids)
        for trial in range(trials):

            async def attempt(task_id: str, trial: int = trial) -> None:
                key = (task_id, trial)
                record = results[key] if done(key) else await play(task_id, trial, memories[task_id])
                if record["won"]:
                    open_tasks.remove(task_id)
                    bar.update(sum(not done((task_id, t)) for t in range(trial + 1, trials)))
                elif record.get("memory"):
                    memories[task_id] = [*memories[task_id], record["memory"]]

            if not open_tasks:
                return
            await _all_or_first_error([attempt(task_id) for task_id in list(open_tasks)])

    failed = False
    try:
        with bar:
            if trials > 1 and agent_cls.lockstep_trials:
                await run_trials_in_lockstep()
            else:
                await _all_or_first_error([run_task(task_id) for task_id in ids])
    except BaseException:
        failed = True
        raise
    finally:
        await executor.close()
        if isinstance(policy, str):
            policy_obj.close()
        ordered = [results[key] for key in episodes if key in results]
        summary = {
            "env_id": env_id,
            "split": split_name,
            **summarize(ordered, trials=trials, wall_time_s=time.perf_counter() - started),
        }
        if store is not None:
            try:
                store.write_summary(summary)
            except OutputError as e:
                if not failed:
                    raise
                logger.error("%s", e)  # the error that stopped the run is the one to report
            finally:
                store.close()
    return RunResult(summary, ordered, store.folder if store else None)


async def _all_or_first_error(coroutines: list[Any]) -> None:
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


@dataclass(frozen=True)
class _EnvFacts:
    task_ids: list[str]
    split: str
    env_name: str
    protocol: dict[str, Any]


def _env_facts(config: EnvConfig, split: str | None, task_ids: Sequence[str] | None, limit: int | None) -> _EnvFacts:
    """The tasks to play, the env's name and its protocol facts (building one env here: it must be cheap)."""
    env = config.make()
    try:
        env_name = getattr(env.unwrapped, "env_name", config.env_id)
        protocol = env.unwrapped.protocol() if hasattr(env.unwrapped, "protocol") else {}
        tasks = env.unwrapped.tasks
        if task_ids is not None:
            unknown = [t for t in task_ids if t not in tasks]
            if unknown:
                raise KeyError(f"unknown task ids for {config.env_id}: {unknown[:5]}")
            ids, name = list(task_ids), "custom"
        else:
            name = tasks.default_split if split is None else split
            ids = list(tasks.split(name))
    finally:
        env.close()
    return _EnvFacts(ids[:limit] if limit is not None else ids, name, env_name, protocol)


class _EpisodePlayer:
    """Plays one episode on a handle from the executor, retrying on worker crashes."""

    def __init__(
        self,
        env_id: str,
        make_agent: Callable[[], Agent],
        policy: Policy,
        config: dict[str, Any],
        seed: int,
        max_retries: int,
        debug: bool,
    ) -> None:
        self.env_id = env_id
        self.make_agent = make_agent
        self.policy = policy
        self.config = config
        self.seed = seed
        self.max_retries = max_retries
        self.debug = debug

    async def run(self, executor: Executor, task_id: str, episode: int, memory: list[str]) -> dict[str, Any]:
        """Play the episode, then the agent's ``after_episode``; return its record (``error`` on failure)."""
        record, agent = await self._play_with_retries(executor, task_id, episode, memory)
        if agent is None:
            return record
        try:
            carried = await agent.after_episode(record)
        except PolicyUnavailable:
            raise
        except Exception as e:
            if self.debug:
                raise
            record["after_episode_error"] = f"{type(e).__name__}: {e}"
        else:
            if carried is not None:
                record["memory"] = carried
        return record

    async def _play_with_retries(
        self, executor: Executor, task_id: str, episode: int, memory: list[str]
    ) -> tuple[dict[str, Any], Agent | None]:
        seed = episode_seed(self.seed, self.env_id, task_id, episode)
        failure: BaseException | None = None
        for attempt in range(1, self.max_retries + 2):
            try:
                handle = await executor.acquire()
            except (WorkerCrashed, RemoteEnvError) as e:  # the env worker could not start
                failure = e
                logger.warning("starting an env worker failed: %s", e)
                continue
            broken = False
            try:
                return await self._play(handle, task_id, episode, seed, attempt, memory)
            except (WorkerCrashed, RemoteEnvError) as e:
                broken, failure = True, e
                logger.warning("episode %s #%d attempt %d failed: %s; retrying", task_id, episode, attempt, e)
            except PolicyUnavailable:
                raise  # not the episode's fault: the run stops and the episode is played when it resumes
            except asyncio.CancelledError:
                broken = True  # the env may still be busy with the call that was cancelled
                raise
            except Exception as e:
                if self.debug:
                    raise
                failure = e
                break
            finally:
                await executor.release(handle, broken=broken)
        assert failure is not None
        return self._error_record(task_id, episode, seed, attempt, failure), None

    async def _play(
        self, handle: EnvHandle, task_id: str, episode: int, seed: int, attempt: int, memory: list[str]
    ) -> tuple[dict[str, Any], Agent]:
        start = time.perf_counter()
        env_s = agent_s = 0.0

        async def env_call(method: str, **kwargs: Any) -> Any:
            nonlocal env_s
            t = time.perf_counter()
            try:
                return await handle.call(method, **kwargs)
            finally:
                env_s += time.perf_counter() - t

        ended = False

        async def expert_action() -> str | None:
            # None once the episode is over, as the env's own expert answers: the env may play another one now.
            return None if ended else await env_call("expert_action")

        observation, info = await env_call("reset", seed=seed, options={"task_id": task_id})
        context = EpisodeContext(self.env_id, info["env_name"], task_id, expert_action, episode, list(memory))
        agent = self.make_agent()
        agent.policy = policy = SeededPolicy(agent.policy, self.seed, self.env_id, task_id, episode)
        agent.reset(observation, info, context)
        trajectory = Trajectory(observation, task_id=task_id, task=info["task"])
        cap = self.config.get("max_steps")
        while not (trajectory.terminated or trajectory.truncated):
            t = time.perf_counter()
            decision: AgentStep = await agent.act(observation, info)
            agent_s += time.perf_counter() - t
            if decision.observation is None:
                observation, reward, terminated, truncated, info = await env_call("step", action=decision.action)
            else:  # answered by the agent: a step of the episode that the env does not see
                observation, reward, terminated, truncated = decision.observation, 0.0, False, False
                info = {**info, "invalid_action": False}
            policy.next_step()
            # The env's TimeLimit counts only the steps it saw; the cap counts every recorded step.
            at_cap = cap is not None and len(trajectory.steps) + 1 >= cap
            truncated = truncated or (not terminated and (decision.final or at_cap))
            trajectory.add(
                decision.action,
                observation,
                reward,
                terminated,
                truncated,
                info,
                response=decision.response,
                usage=decision.usage,
                answered_by_agent=True if decision.observation is not None else None,
                ended_by_agent=True if decision.final and not terminated else None,
            )
        ended = True
        record = {
            "env_id": self.env_id,
            "episode": episode,
            "seed": seed,
            **trajectory.to_record(),
            "agent": self.config["agent"],
            "policy": self.config["policy"],
            "timing": {"wall_s": time.perf_counter() - start, "env_s": env_s, "agent_s": agent_s},
            "worker": handle.name,
            "attempts": attempt,
            "error": None,
        }
        return record, agent

    def _error_record(
        self, task_id: str, episode: int, seed: int, attempts: int, error: BaseException
    ) -> dict[str, Any]:
        remote = getattr(error, "remote_traceback", None)
        return {
            "env_id": self.env_id,
            "task_id": task_id,
            "episode": episode,
            "seed": seed,
            "won": False,
            "score": 0.0,
            "return": 0.0,
            "num_steps": 0,
            "steps": [],
            "agent": self.config["agent"],
            "policy": self.config["policy"],
            "attempts": attempts,
            "error": f"{type(error).__name__}: {error}",
            "traceback": remote or "".join(traceback.format_exception(error)),
        }


class _progress_bar:
    """A rich progress bar with the live success rate; does nothing when disabled."""

    def __init__(self, total: int, done: int, results: dict, *, enabled: bool) -> None:
        self.enabled = enabled
        self.results = results
        self.total = total
        self.done = done
        if enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("success {task.fields[success]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
            )
            self.task = self.progress.add_task("episodes", total=total, completed=done, success=self._rate())

    def _rate(self) -> str:
        played = [r for r in self.results.values() if r.get("error") is None]
        return f"{sum(r['won'] for r in played) / len(played):.1%}" if played else "-"

    def update(self, advance: int = 1) -> None:
        if self.enabled and advance:
            self.progress.update(self.task, advance=advance, success=self._rate())

    def __enter__(self) -> _progress_bar:
        if self.enabled:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.progress.stop()


__all__ = ["RunResult", "aevaluate", "episode_key", "episode_seed", "evaluate"]
