"""A scripted policy for agent-logic tests: answers each request with a function of it, records the requests."""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Sequence

from agentgym.policies import Completion, Expert, Policy, Request


class ScriptedPolicy(Policy):
    """Answers with ``script(request)`` (a string, or an awaitable of one); keeps every request it saw.

    With ``uses_expert``, the script is ``script(request, expert)``: ``expert()`` is the episode's expert action
    (an awaitable), which the policy gets as any policy does (``with_expert``, at the agent's reset).
    """

    name = "scripted"

    def __init__(self, script: Callable[..., object], *, uses_expert: bool = False) -> None:
        self.script = script
        self.uses_expert = uses_expert
        self.expert: Expert | None = None
        self.requests: list[Request] = []

    def with_expert(self, expert: Expert) -> ScriptedPolicy:
        if not self.uses_expert:
            return self
        bound = copy.copy(self)  # shares the script and the list of requests
        bound.expert = expert
        return bound

    async def agenerate(self, requests: Sequence[Request]) -> list[Completion]:
        completions = []
        for request in requests:
            self.requests.append(request)
            answer = self.script(request, self.expert) if self.uses_expert else self.script(request)
            if inspect.isawaitable(answer):
                answer = await answer
            completions.append(Completion([answer or ""] * request.sampling.n))
        return completions

    def generate(self, requests: Sequence[Request]) -> list[Completion]:
        raise NotImplementedError("the runner uses agenerate")


class TablePolicy(Policy):
    """Answers from a table of ``(prompt, samples)`` rows, each served once, in any order of prompts.

    A request's prompt is its last message; it takes the first unserved row with that prompt, whose samples must
    number ``sampling.n`` (a string is one sample). A prompt with no row left fails the test: every prompt sent
    must be one the test expected, exactly. ``requests`` keeps every request; ``unserved`` the rows never asked.
    """

    name = "table"

    def __init__(self, rows: Sequence[tuple[str, str | Sequence[str]]]) -> None:
        self.rows = [(prompt, [samples] if isinstance(samples, str) else list(samples)) for prompt, samples in rows]
        self.served = [False] * len(self.rows)
        self.requests: list[Request] = []

    @property
    def unserved(self) -> list[str]:
        return [prompt for (prompt, _), served in zip(self.rows, self.served, strict=True) if not served]

    async def agenerate(self, requests: Sequence[Request]) -> list[Completion]:
        completions = []
        for request in requests:
            self.requests.append(request)
            prompt = request.messages[-1]["content"]
            row = next((i for i, (p, _) in enumerate(self.rows) if p == prompt and not self.served[i]), None)
            if row is None:
                raise AssertionError(f"unexpected prompt (or asked once too often):\n{prompt}")
            self.served[row] = True
            samples = self.rows[row][1]
            if len(samples) != request.sampling.n:
                raise AssertionError(f"{request.sampling.n} samples asked, {len(samples)} scripted for:\n{prompt}")
            completions.append(Completion(samples))
        return completions

    def generate(self, requests: Sequence[Request]) -> list[Completion]:
        raise NotImplementedError("the runner uses agenerate")
