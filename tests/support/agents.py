"""Agents for runner tests: real agents with a side effect (a delay, a killed worker), importable by path."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
from typing import Any, ClassVar

from agentgym.agent import AgentStep, ExpertAgent


class SlowExpert(ExpertAgent):
    """The expert, sleeping before each step (to interrupt a run mid-way)."""

    name = "slow-expert"

    def __init__(self, policy, delay: float = 0.05) -> None:
        super().__init__(policy)
        self.delay = delay

    async def act(self, observation: str, info: dict[str, Any]) -> AgentStep:
        await asyncio.sleep(self.delay)
        return await super().act(observation, info)


class WorkerSignaller(ExpertAgent):
    """The expert, which sends ``signum`` to every env worker process at its second step (once, or always)."""

    name = "worker-signaller"
    sent: ClassVar[bool] = False
    once: ClassVar[bool] = True
    signum: ClassVar[int] = signal.SIGKILL

    async def act(self, observation: str, info: dict[str, Any]) -> AgentStep:
        if info["step"] == 1 and not (WorkerSignaller.sent and self.once):
            WorkerSignaller.sent = True
            for child in multiprocessing.active_children():
                os.kill(child.pid, self.signum)
        return await super().act(observation, info)
