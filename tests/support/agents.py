"""Agents for runner tests: real agents with a side effect (a delay, a killed worker), importable by path."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any, ClassVar

from agentgym.agent import AgentStep, DirectAgent, ExpertAgent
from agentgym.policies import Request, Sampling


def child_pids() -> list[int]:
    """Process ids of this process's children (the env workers), read from /proc."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():
            pids.append(int(stat.parent.name))
    return pids


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
            for pid in child_pids():
                os.kill(pid, self.signum)
        return await super().act(observation, info)


def descendants(pid: int) -> list[int]:
    """Process ids of every descendant of ``pid``, read from /proc."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


class SimulatorKiller(ExpertAgent):
    """The expert, which SIGKILLs the processes named ``target`` under the env workers at its third step (once)."""

    name = "simulator-killer"
    target: ClassVar[str] = "java"
    killed: ClassVar[list[int]] = []

    async def act(self, observation: str, info: dict[str, Any]) -> AgentStep:
        if info["step"] == 2 and not SimulatorKiller.killed:
            for pid in descendants(os.getpid()):
                try:
                    name = Path(f"/proc/{pid}/comm").read_text().strip()
                except OSError:
                    continue
                if name == self.target:
                    os.kill(pid, signal.SIGKILL)
                    SimulatorKiller.killed.append(pid)
        return await super().act(observation, info)


class BriefDirect(DirectAgent):
    """The direct agent with replies of at most 8 tokens (fast runs on a CPU model server)."""

    name = "brief-direct"

    def request(self, content: str, *, sampling: Sampling | None = None) -> Request:
        return super().request(content, sampling=sampling or Sampling(max_tokens=8))


class LearnsFromMemory(ExpertAgent):
    """Fails a task's first trial on purpose, says so in its memory, and plays the expert once it has memory."""

    name = "learns-from-memory"

    async def act(self, observation: str, info: dict[str, Any]) -> AgentStep:
        if not self.context.memory:
            return AgentStep(action="give up")
        return await super().act(observation, info)

    async def after_episode(self, record: dict[str, Any]) -> str | None:
        return None if record["won"] else f"trial {self.context.trial} failed on {record['task_id']}"


class Thinker(ExpertAgent):
    """Answers every step itself (``OK.``), as ReAct's ALFWorld harness answers ``think:``; ends after ``stop_after``."""

    name = "thinker"
    stop_after: ClassVar[int | None] = None

    async def act(self, observation: str, info: dict[str, Any]) -> AgentStep:
        self.steps = getattr(self, "steps", 0) + 1
        final = self.stop_after is not None and self.steps >= self.stop_after
        return AgentStep(action=f"think: step {self.steps}", observation="OK.", final=final)


class LearnsInLockstep(LearnsFromMemory):
    """LearnsFromMemory, with trials played in lockstep (trial t of every task before trial t+1)."""

    name = "learns-in-lockstep"
    lockstep_trials = True


class BrokenAtSecondStep(ExpertAgent):
    """The expert with a bug at its second step: the episode ends with an error record."""

    name = "broken-at-second-step"

    async def act(self, observation: str, info: dict[str, Any]) -> AgentStep:
        if info["step"] == 1:
            raise RuntimeError("agent bug at the second step")
        return await super().act(observation, info)


class ReflectionFails(LearnsFromMemory):
    """LearnsFromMemory whose reflection (``after_episode``) raises: the record keeps its ``after_episode_error``."""

    name = "reflection-fails"

    async def after_episode(self, record: dict[str, Any]) -> str | None:
        raise ValueError("the reflection failed")


class WritesUnicode(ExpertAgent):
    """Opens with an action of non-ASCII text and a lone surrogate (an LLM's stray escape), then plays the expert."""

    name = "writes-unicode"

    async def act(self, observation: str, info: dict[str, Any]) -> AgentStep:
        if info["step"] == 0:
            return AgentStep(action="→ é 🙂 \ud800", response="→ é 🙂 \ud800")
        return await super().act(observation, info)
