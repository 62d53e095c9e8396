"""Per-request sampling seeds: a seeded run's policy calls do not depend on scheduling.

Every episode's agent talks to the policy through a :class:`SeededPolicy`, which gives each request that has
no seed of its own the seed :func:`request_seed` derives from the run's seed, the env, the task, the episode,
the step (the env steps taken so far) and the request's index among the episode's requests of that step. So
one command gives the same requests, seeds included, whatever the number of workers, the executor (local or
Ray) or the order in which concurrent requests complete; backends that take a sampling seed use it
(``random``, ``embedded``, ``openai``'s ``seed``, SGLang's ``sampling_seed``).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from typing import Any

from agentgym.policies.base import Completion, Expert, Policy, Request


def episode_seed(base_seed: int, env_id: str, task_id: str, episode: int) -> int:
    """A 31-bit seed for an episode's env reset, from the run seed and the episode's identity (never the clock)."""
    digest = hashlib.sha256(f"{base_seed}|{env_id}|{task_id}|{episode}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def request_seed(run_seed: int, env_id: str, task_id: str, episode: int, step: int, call: int) -> int:
    """A 31-bit seed for one policy request, derived from its identity (never from the clock or the order)."""
    digest = hashlib.sha256(f"{run_seed}|{env_id}|{task_id}|{episode}|{step}|{call}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


class SeededPolicy(Policy):
    """One episode's view of a policy: requests without a seed get :func:`request_seed`'s.

    The runner calls :meth:`next_step` after each env step. Requests an agent makes after the last step (a
    reflection in ``after_episode``) count as the step after it. Everything else is the wrapped policy's.

    Args:
        policy: the run's policy.
        run_seed: the run's ``seed``.
        env_id: the env being played.
        task_id: the episode's task.
        episode: the episode's index for its task (a trial, in multi-trial runs).
    """

    def __init__(self, policy: Policy, run_seed: int, env_id: str, task_id: str, episode: int) -> None:
        """Start at step 0, call 0."""
        self.policy = policy
        self.name = policy.name
        self._identity = (run_seed, env_id, task_id, episode)
        self.step = 0
        self._calls = 0

    def next_step(self) -> None:
        """The env took a step: later requests belong to the next one."""
        self.step += 1
        self._calls = 0

    def seeded(self, requests: Sequence[Request]) -> list[Request]:
        """Copies of ``requests``, each without a sampling seed given the next seed of this step."""
        stamped = []
        for request in requests:
            seed = request_seed(*self._identity, self.step, self._calls)
            self._calls += 1
            if request.sampling.seed is None:
                request = dataclasses.replace(request, sampling=dataclasses.replace(request.sampling, seed=seed))
            stamped.append(request)
        return stamped

    def with_expert(self, expert: Expert) -> SeededPolicy:
        """This view, its wrapped policy bound to the episode's ``expert`` (the view is the episode's already)."""
        self.policy = self.policy.with_expert(expert)
        return self

    def generate(self, requests: Sequence[Request]) -> list[Completion]:
        """The wrapped policy's ``generate`` on the seeded requests."""
        return self.policy.generate(self.seeded(requests))

    async def agenerate(self, requests: Sequence[Request]) -> list[Completion]:
        """The wrapped policy's ``agenerate`` on the seeded requests."""
        return await self.policy.agenerate(self.seeded(requests))

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """The wrapped policy's embeddings (not sampled: no seed)."""
        return self.policy.embed(texts)

    async def aembed(self, texts: Sequence[str]) -> list[list[float]]:
        """The wrapped policy's embeddings (not sampled: no seed)."""
        return await self.policy.aembed(texts)

    def config(self) -> dict[str, Any]:
        """The wrapped policy's settings (the run's card and records are unchanged)."""
        return self.policy.config()

    def __getattr__(self, name: str) -> Any:
        """Other attributes are the wrapped policy's."""
        if name == "policy":  # not set yet (unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.policy, name)
