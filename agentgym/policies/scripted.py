"""Scripted policies: ``ExpertPolicy`` (answers with the env's expert action) and ``RandomPolicy``."""

from __future__ import annotations

import asyncio
import copy
import random
import time
from collections.abc import Sequence
from typing import Any

from agentgym.error import PolicyError
from agentgym.policies.base import Completion, Expert, Policy, Request
from agentgym.validate import integer


class ExpertPolicy(Policy):
    """Answers every request with the episode's expert action (``env.unwrapped.expert_action()``).

    Any agent can run on it, which makes it the 100%-solvable sanity check of an agent's plumbing. The agent
    hands it each episode's expert when the episode starts (:meth:`with_expert`, called by
    :meth:`agentgym.agent.Agent.reset`); requests carry nothing but the prompt. The ``expert`` agent plays
    the expert without asking its policy.

    Args:
        expert: the episode's expert (``None``: the run's policy, which answers nothing until bound).
    """

    name = "expert"

    def __init__(self, expert: Expert | None = None) -> None:
        """Keep the episode's expert, if bound."""
        self.expert = expert

    def with_expert(self, expert: Expert) -> ExpertPolicy:
        """A copy of this policy that answers with ``expert``'s actions."""
        bound = copy.copy(self)
        bound.expert = expert
        return bound

    async def agenerate(self, requests: Sequence[Request]) -> list[Completion]:
        """Await the episode's expert once per request."""
        if self.expert is None:
            raise PolicyError(
                "the expert policy answers only within an episode: an agent's reset() hands it the episode's expert"
            )
        completions = []
        for _ in requests:
            start = time.perf_counter()
            action = await self.expert()
            completions.append(Completion([action or ""], latency_s=time.perf_counter() - start))
        return completions

    def generate(self, requests: Sequence[Request]) -> list[Completion]:
        """Blocking :meth:`agenerate` (must not be called from a running event loop)."""
        return asyncio.run(self.agenerate(requests))


class RandomPolicy(Policy):
    """Picks uniformly among a request's ``choices``; without choices, a few words of the last message.

    A request with a sampling seed (the runner gives every request one) is answered from a generator seeded
    with it, so its answer depends on nothing else; a request without one draws from the policy's generator.

    Args:
        seed: seed of the policy's own generator, for requests without a seed.
    """

    name = "random"

    def __init__(self, seed: int = 0) -> None:
        """Create the generator."""
        self.seed = integer("seed", seed, low=0)
        self._rng = random.Random(seed)

    async def agenerate(self, requests: Sequence[Request]) -> list[Completion]:
        """Same as :meth:`generate` (cheap: no thread needed)."""
        return self.generate(requests)

    def generate(self, requests: Sequence[Request]) -> list[Completion]:
        """Return one random completion per request (``sampling.n`` of them each)."""
        completions = []
        for request in requests:
            rng = self._rng if request.sampling.seed is None else random.Random(request.sampling.seed)
            completions.append(Completion([self._one(request, rng) for _ in range(request.sampling.n)]))
        return completions

    @staticmethod
    def _one(request: Request, rng: random.Random) -> str:
        if request.choices:
            return rng.choice(request.choices)
        words = request.messages[-1]["content"].split() if request.messages else []
        if not words:
            return ""
        return " ".join(rng.choice(words) for _ in range(rng.randint(1, 4)))

    def config(self) -> dict[str, Any]:
        """Backend name and seed."""
        return {"backend": self.name, "seed": self.seed}
