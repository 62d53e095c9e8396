"""RAFA ("reason for future, act for now"; Liu et al., ICML 2024) on Game of 24, as its code runs it.

The code is ``agentification/RAFA_code``: ``Game24/agent/tot_agent.py``, ``Game24/env/game24.py``, ``run.py``.

Every step, RAFA plans with the ToT search (:class:`~agentgym.baselines.tot.Game24Search`) from the steps the env
has committed, over the steps left (4 minus those), and sends its best plan; the env commits the plan's valid
leading steps ("act for now") and the next step replans from there. Its code differs from ToT's search: the first
10 lines of a propose reply are kept (the call stops at a blank line), the value samples are drawn at
temperature 0.3 and read leniently, nothing is cached (a candidate is re-valued every time, so a state is
re-scored with the lessons of the moment) and a repeated candidate is valued again rather than 0, and the answer
step follows the chain-of-thought prompt with ``Steps:`` and a newline.

The learner: after each step, two calls turn the attempt and the env's evaluation into lessons, labelled
``sure``/``impossible`` by the prompts: ``reflect_prompt`` about steps, kept for the proposer, and
``value_reflect_prompt`` about the numbers left, kept for the critic. Propose calls carry the proposer's
lessons, value calls the critic's, as earlier user messages.
"""

from __future__ import annotations

import json
from typing import Any

from agentgym.agent import AgentStep
from agentgym.baselines.game24_prompts import INTRODUCTION, LESSONS_HEADER
from agentgym.baselines.tot import STEPS, Game24Search, SearchRules, checked_temperature
from agentgym.policies import Message, Policy

RAFA_RULES = SearchRules(steps_prefix="Steps:\n", propose_stop=("\n\n",), value_cache=False, lenient_labels=True)


class RAFAAgent(Game24Search):
    """RAFA on Game of 24 (see the module docstring).

    Args:
        policy: the LLM.
        breadth: candidates kept per step (1 and 2 in the paper; the repository's replication command uses 1).
        proposals: lines of a propose reply kept (10).
        value_samples: value samples per candidate (3).
        temperature: sampling temperature of the propose calls (0.7).
        value_temperature: sampling temperature of the value calls (0.3).
        reflect_temperature: sampling temperature of the learner's calls (0.7).
        max_tokens: new tokens per call (1000).
        prompts: ``"rafa"`` (RAFA's ``Game24/prompts/game24.py``) or ``"agentgym"`` (ours, the default).
    """

    name = "rafa"
    rules = RAFA_RULES
    paper_file = "rafa/game24.py"
    templates = (*Game24Search.templates, "reflect_prompt", "value_reflect_prompt")

    def __init__(
        self,
        policy: Policy,
        *,
        breadth: int = 1,
        proposals: int | None = 10,
        value_samples: int = 3,
        temperature: float = 0.7,
        value_temperature: float = 0.3,
        reflect_temperature: float = 0.7,
        max_tokens: int = 1000,
        prompts: str = "agentgym",
    ) -> None:
        """See the class docstring."""
        super().__init__(
            policy,
            breadth=breadth,
            proposals=proposals,
            value_samples=value_samples,
            temperature=temperature,
            value_temperature=value_temperature,
            max_tokens=max_tokens,
            prompts=prompts,
        )
        self.reflect_temperature = checked_temperature("reflect_temperature", reflect_temperature)
        #: Lessons about steps, for the proposer (RAFA's ``reflects``).
        self.step_lessons: list[str] = []
        #: Lessons about the numbers left, for the critic (RAFA's ``value_reflects``).
        self.state_lessons: list[str] = []
        self._plan: str | None = None
        self._committed = 0

    def propose_messages(self, prompt: str) -> list[Message]:
        """The introduction, the proposer's lessons, then the propose prompt (user messages)."""
        return [
            {"role": "user", "content": INTRODUCTION},
            {"role": "user", "content": LESSONS_HEADER + "\n".join(self.step_lessons)},
            {"role": "user", "content": prompt},
        ]

    def value_messages(self, prompt: str) -> list[Message]:
        """The critic's lessons, then the value prompt (user messages)."""
        return [
            {"role": "user", "content": LESSONS_HEADER + "\n".join(self.state_lessons)},
            {"role": "user", "content": prompt},
        ]

    async def act(self, observation: str, info: dict[str, Any]) -> AgentStep:
        """Learn from the last step's evaluation, plan from the committed steps, send the plan."""
        usage: list[dict[str, Any]] = []
        x = " ".join(map(str, info["numbers"]))
        history = list(info["history"])
        if self._plan is not None and "feedback" in info:
            evaluation = " ".join(["Evaluation:", *info["feedback"]])
            await self.learn(x, self.attempt(self._plan, self._committed, len(history)), evaluation, usage)
        ys, infos = await self.plan(x, history, usage)
        plan = self.new_lines(ys[0], history) if ys else ""
        self._plan, self._committed = plan, len(history)
        lessons = {"proposer": self.step_lessons, "critic": self.state_lessons}
        return AgentStep(plan, response=json.dumps({"steps": infos, "lessons": lessons}), usage=usage)

    @staticmethod
    def attempt(plan: str, before: int, after: int) -> str:
        """The attempt as RAFA's env shows it to the learner: the committed lines and the first rejected one."""
        shown = after - before + 1 if after < STEPS else after - before
        lines = [f"Step {i + 1}: {line}" for i, line in enumerate(plan.split("\n")[:shown]) if line != ""]
        return "Attempt answer: " + "\n".join(lines)

    async def learn(self, x: str, attempt: str, evaluation: str, usage: list[dict[str, Any]]) -> None:
        """RAFA's learner: one lesson call about steps (for the proposer), one about states (for the critic)."""
        fields = {"input": x, "answer": attempt, "feedback": evaluation}
        prompts = [self.prompts[name].format(**fields) for name in ("reflect_prompt", "value_reflect_prompt")]
        messages: list[list[Message]] = [[{"role": "user", "content": p}] for p in prompts]
        steps, states = await self._ask(messages, usage, self.reflect_temperature)
        self.step_lessons += steps.texts
        self.state_lessons += states.texts

    def config(self) -> dict[str, Any]:
        """The search settings and the learner's temperature."""
        return {**super().config(), "reflect_temperature": self.reflect_temperature}
