"""A scripted policy for agent-logic tests: answers each request with a function of it, records the requests."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence

from agentgym.policies import Completion, Policy, Request


class ScriptedPolicy(Policy):
    """Answers with ``script(request)`` (a string, or an awaitable of one); keeps every request it saw."""

    name = "scripted"

    def __init__(self, script: Callable[[Request], object]) -> None:
        self.script = script
        self.requests: list[Request] = []

    async def agenerate(self, requests: Sequence[Request]) -> list[Completion]:
        completions = []
        for request in requests:
            self.requests.append(request)
            answer = self.script(request)
            if inspect.isawaitable(answer):
                answer = await answer
            completions.append(Completion([answer or ""] * request.sampling.n))
        return completions

    def generate(self, requests: Sequence[Request]) -> list[Completion]:
        raise NotImplementedError("the runner uses agenerate")
