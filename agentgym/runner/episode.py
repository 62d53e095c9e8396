"""Playing one episode: the agent against an env from the executor, retried when the env's worker fails.

:class:`EpisodePlayer` asks the executor for an env, plays the episode step by step, and returns its record (an
:class:`~agentgym.runner.records.EpisodeRecord` as JSON). A crashed or silent env worker, or an env that raised,
costs a retry on a fresh env (up to ``max_retries``); an agent bug, or retries used up, ends the episode with an
``error`` record. A policy that stays unreachable (:class:`~agentgym.error.PolicyUnavailable`) stops the run.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from agentgym.agent import Agent, AgentStep, EpisodeContext
from agentgym.error import PolicyUnavailable, WorkerCrashed
from agentgym.runner.backend import RemoteEnvError
from agentgym.runner.executor import EnvHandle, Executor
from agentgym.runner.records import EpisodeRecord
from agentgym.runner.seeding import SeededPolicy, episode_seed

logger = logging.getLogger(__name__)

#: What a broken env looks like: its worker died or went silent, or the env raised.
ENV_FAILURES = (WorkerCrashed, RemoteEnvError)


class EpisodePlayer:
    """Plays episodes of one run, each on an env handle from ``executor``.

    Args:
        executor: where the envs run.
        env_id: the env played.
        make_agent: a maker of fresh agents (one per episode).
        config: the run's configuration (``run.json``): its ``agent``, ``policy`` and ``max_steps`` go into records.
        seed: the run's seed.
        max_retries: how many more times an episode is played after its env failed.
        debug: re-raise agent errors instead of recording them.
    """

    def __init__(
        self,
        executor: Executor,
        env_id: str,
        make_agent: Callable[[], Agent],
        config: dict[str, Any],
        *,
        seed: int,
        max_retries: int,
        debug: bool,
    ) -> None:
        """Keep the run's settings."""
        self.executor = executor
        self.env_id = env_id
        self.make_agent = make_agent
        self.config = config
        self.seed = seed
        self.max_retries = max_retries
        self.debug = debug

    async def play(self, task_id: str, episode: int, memory: list[str]) -> dict[str, Any]:
        """Play the episode, then the agent's ``after_episode``; return its record (``error`` set on failure)."""
        record, agent = await self._play_with_retries(task_id, episode, memory)
        if agent is None:
            return record.to_json()
        try:
            carried = await agent.after_episode(record.to_json())
        except PolicyUnavailable:
            raise
        except Exception as e:
            if self.debug:
                raise
            record.after_episode_error = f"{type(e).__name__}: {e}"
        else:
            record.memory = carried
        return record.to_json()

    async def _play_with_retries(
        self, task_id: str, episode: int, memory: list[str]
    ) -> tuple[EpisodeRecord, Agent | None]:
        seed = episode_seed(self.seed, self.env_id, task_id, episode)
        failure: BaseException | None = None
        for attempt in range(1, self.max_retries + 2):
            try:
                handle = await self.executor.acquire()
            except ENV_FAILURES as e:  # the env worker could not start
                failure = e
                logger.warning("starting an env worker failed: %s", e)
                continue
            broken = False
            try:
                return await self._play(handle, task_id, episode, seed, attempt, memory)
            except ENV_FAILURES as e:
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
                await self.executor.release(handle, broken=broken)
        assert failure is not None
        fields = self._run_fields(episode, seed)
        return EpisodeRecord.failed(failure, task_id=task_id, steps=[], attempts=attempt, **fields), None

    def _run_fields(self, episode: int, seed: int) -> dict[str, Any]:
        return {
            "env_id": self.env_id,
            "episode": episode,
            "seed": seed,
            "agent": self.config["agent"],
            "policy": self.config["policy"],
        }

    async def _play(
        self, handle: EnvHandle, task_id: str, episode: int, seed: int, attempt: int, memory: list[str]
    ) -> tuple[EpisodeRecord, Agent]:
        start = time.perf_counter()
        env = _TimedEnv(handle)
        observation, info = await env.call("reset", seed=seed, options={"task_id": task_id})
        ended = False

        async def expert_action() -> str | None:
            # None once the episode is over, as the env's own expert answers: the env may play another one now.
            return None if ended else await env.call("expert_action")

        context = EpisodeContext(self.env_id, info["env_name"], task_id, expert_action, episode, list(memory))
        agent = self.make_agent()
        agent.policy = policy = SeededPolicy(agent.policy, self.seed, self.env_id, task_id, episode)
        agent.reset(observation, info, context)
        record = EpisodeRecord.begin(observation, task_id=task_id, task=info["task"], **self._run_fields(episode, seed))
        cap = self.config.get("max_steps")
        agent_s = 0.0
        while not (record.terminated or record.truncated):
            t = time.perf_counter()
            decision: AgentStep = await agent.act(observation, info)
            agent_s += time.perf_counter() - t
            if decision.observation is None:
                observation, reward, terminated, truncated, info = await env.call("step", action=decision.action)
            else:  # answered by the agent: a step of the episode that the env does not see
                observation, reward, terminated, truncated = decision.observation, 0.0, False, False
                info = {**info, "invalid_action": False}
            policy.next_step()
            # The env's TimeLimit counts only the steps it saw; the cap counts every recorded step.
            at_cap = cap is not None and record.num_steps + 1 >= cap
            truncated = truncated or (not terminated and (decision.final or at_cap))
            record.add(
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
        record.timing = {"wall_s": time.perf_counter() - start, "env_s": env.seconds, "agent_s": agent_s}
        record.worker, record.attempts = handle.name, attempt
        return record, agent


class _TimedEnv:
    """An env handle that adds up the time its calls take."""

    def __init__(self, handle: EnvHandle) -> None:
        self.handle = handle
        self.seconds = 0.0

    async def call(self, method: str, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return await self.handle.call(method, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start
