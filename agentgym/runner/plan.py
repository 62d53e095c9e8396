"""Planning a run: everything settled before its first episode, the cheap checks first.

:func:`plan_run` checks the settings, resolves the env and its tasks, reads the protocol card, and checks the
output folder (a run of another configuration there, or another process running in it, is refused) before it
asks the agent class to prepare the run, which may take long (a baseline plays expert demonstrations). It
writes nothing: :meth:`RunPlan.open_store` claims the folder once the whole configuration is known.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium

from agentgym.agent import Agent, RunSetup, resolve_agent
from agentgym.error import Error, SettingError, TaskNotFound
from agentgym.policies import Policy, make_policy
from agentgym.protocol import software
from agentgym.registry import EnvEntry, entry_for, resolve_env_id
from agentgym.runner.backend import EnvConfig
from agentgym.runner.executor import Executor
from agentgym.runner.run_settings import check_episode_count, check_run_settings, unique_task_ids
from agentgym.runner.store import EpisodeStore
from agentgym.tasks import task_list_hash
from agentgym.validate import folder


@dataclass(frozen=True)
class EnvFacts:
    """What a run learns from one env it builds: the tasks to play, the split's name, the env's name and card."""

    task_ids: list[str]
    split: str
    env_name: str
    protocol: dict[str, Any]


@dataclass
class RunPlan:
    """A run, planned.

    Attributes:
        env_id: the registered env id.
        entry: its registry row (resource hints), if it has one.
        env_config: how each env is built.
        facts: the tasks, split, env name and protocol card.
        config: the run's configuration, as ``run.json`` holds it.
        make_agent: a maker of fresh agents.
        agent_class: the agent's class (``lockstep_trials``).
        policy: the policy; ``owns_policy``: made here from a spec string (closed when the run ends).
        store: the output folder, read (not yet claimed), or ``None`` for a run kept in memory.
    """

    env_id: str
    entry: EnvEntry | None
    env_config: EnvConfig
    facts: EnvFacts
    config: dict[str, Any]
    make_agent: Callable[[], Agent]
    agent_class: type[Agent]
    policy: Policy
    owns_policy: bool
    store: EpisodeStore | None

    def open_store(self) -> None:
        """Claim the output folder for this run (see :meth:`EpisodeStore.open`)."""
        if self.store is not None:
            self.store.open(self.config)

    def close(self) -> None:
        """Release the folder and close a policy made here (idempotent)."""
        if self.store is not None:
            self.store.close()
        if self.owns_policy:
            self.policy.close()


async def plan_run(
    env_id: str,
    agent: str | type[Agent],
    policy: str | Policy,
    *,
    split: str | None,
    task_ids: Sequence[str] | None,
    limit: int | None,
    episodes_per_task: int,
    trials: int,
    workers: int,
    max_steps: int | None,
    out: str | Path | None,
    overwrite: bool,
    seed: int,
    env_kwargs: dict[str, Any] | None,
    agent_kwargs: dict[str, Any] | None,
    policy_kwargs: dict[str, Any] | None,
    max_retries: int,
    timeout_s: float,
    recycle_episodes: int | None,
    recycle_memory_mb: float | None,
    executor: Executor | str | None,
    ray_address: str | None,
    preset: str | None,
) -> RunPlan:
    """Plan a run of :func:`~agentgym.runner.aevaluate` (its arguments; it raises what that documents)."""
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
    owns_policy = isinstance(policy, str)
    with _settings_refused(f"policy {policy!r} refused its settings"):
        policy_obj = make_policy(policy, **dict(policy_kwargs or {})) if isinstance(policy, str) else policy
    try:
        agent_class = resolve_agent(agent)
        cap = max_steps if max_steps is not None else gymnasium.spec(env_id).max_episode_steps
        env_config = EnvConfig(env_id, dict(env_kwargs or {}), max_episode_steps=cap)
        with _settings_refused(f"{env_id} refused its settings"):
            facts = env_facts(env_config, split, task_ids, limit)
        check_episode_count(len(facts.task_ids), max(trials, episodes_per_task))
        config = {
            "env_id": env_id,
            "env_version": gymnasium.spec(env_id).version,
            "env_kwargs": env_config.kwargs,
            "env_protocol": facts.protocol,
            "split": facts.split,
            "num_tasks": len(facts.task_ids),
            "task_ids_hash": task_list_hash(facts.task_ids),
            "episodes_per_task": episodes_per_task,
            "trials": trials,
            "agent": None,  # known once the agent class has prepared the run
            "policy": policy_obj.config(),
            "max_steps": cap,
            "seed": seed,
            "preset": preset,
            "workers": workers,
            **software(),
        }
        store = EpisodeStore(out, overwrite=overwrite) if out is not None else None  # read only, for now
        if store is not None:
            store.check(config, agent_name=agent_class.name)  # before the agent prepares: that may take long
        history = tuple(store.records.values()) if store is not None else ()
        setup = RunSetup(env_id, facts.env_name, env_config.kwargs, facts.split, tuple(facts.task_ids), history)
        with _settings_refused(f"agent {agent_class.name!r} refused its settings"):
            make_agent = agent_class.factory(policy_obj, setup, **dict(agent_kwargs or {}))
            if inspect.isawaitable(make_agent):  # Agent.factory is async; one written before may override it sync
                make_agent = await make_agent
            config["agent"] = make_agent().config()
    except BaseException:
        if owns_policy:
            policy_obj.close()
        raise
    return RunPlan(
        env_id, entry_for(env_id), env_config, facts, config, make_agent, agent_class, policy_obj, owns_policy, store
    )


@contextlib.contextmanager
def _settings_refused(what: str) -> Iterator[None]:
    """Turn what plugin code raises for a setting it does not take (Python's own errors) into a ``SettingError``.

    An env's or an agent's constructor (and gymnasium's ``make``) answers an unknown or malformed setting with
    ``TypeError``, ``ValueError`` or ``KeyError``; agentgym's own errors pass through unchanged.
    """
    try:
        yield
    except Error:
        raise
    except (TypeError, ValueError, KeyError) as e:
        reason = e.args[0] if isinstance(e, KeyError) and e.args else e
        raise SettingError(f"{what}: {reason}") from e


def env_facts(config: EnvConfig, split: str | None, task_ids: Sequence[str] | None, limit: int | None) -> EnvFacts:
    """The tasks to play, the env's name and its protocol card (building one env here: it must be cheap).

    Raises:
        TaskNotFound: a task id the env does not have.
    """
    env = config.make()
    try:
        env_name = getattr(env.unwrapped, "env_name", config.env_id)
        protocol = env.unwrapped.protocol() if hasattr(env.unwrapped, "protocol") else {}
        tasks = env.unwrapped.tasks
        if task_ids is not None:
            unknown = [t for t in task_ids if t not in tasks]
            if unknown:
                raise TaskNotFound(f"unknown task ids for {config.env_id}: {unknown[:5]}")
            ids, name = list(task_ids), "custom"
        else:
            name = tasks.default_split if split is None else split
            ids = list(tasks.split(name))
    finally:
        env.close()
    return EnvFacts(ids[:limit] if limit is not None else ids, name, env_name, protocol)
