"""Tree-of-Thoughts (Yao et al., 2023) and RAFA (Liu et al., 2024) on Game of 24.

ToT plans by breadth-first search over steps: at each depth one *propose* call per kept state lists candidate
next steps, each candidate is scored by ``value_samples`` *value* calls (sure = 20, likely = 1,
impossible = 0.001, summed), and the best ``breadth`` states are kept; when one number is left, an *answer*
call writes the expression. The agent sends the whole plan (steps, then the answer) as one action; the env
commits its valid leading steps, so the next plan starts from the numbers really left.

RAFA ("reason for future, act for now") plans the same way, and learns from the env's feedback: after each
step, two reflection calls turn the plan and the feedback into lessons about steps and about states, which
later propose and value prompts show ("What you have learned about this puzzle").

The prompts' examples are built by the project from its exact solver, not copied.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from agentgym.agent import Agent, AgentStep, RunSetup
from agentgym.baselines.react import MAX_TOKENS
from agentgym.envs.game24.arithmetic import format_number
from agentgym.envs.game24.solver import legal_moves, next_move, solvable
from agentgym.policies import Completion, Message, Policy, Request, Sampling
from agentgym.validate import integer, number

VALUE_OF = {"sure": 20.0, "likely": 1.0, "impossible": 0.001}
_STEP = re.compile(r"^\s*(-?[\d./]+)\s*([-+*/])\s*(-?[\d./]+)\s*=\s*(-?[\d./]+)\s*\(left:\s*([^)]*)\)")
_EXAMPLE_PUZZLE = (2, 8, 8, 14)  # a training puzzle (not in rows 900-999)

PROPOSE_INSTRUCTION = (
    "You play the Game of 24. Given the numbers left, list possible next steps, one per line. A step combines "
    "two of the numbers with + - * / and shows the numbers left after it, like '4 + 8 = 12 (left: 8 12 14)'."
)
VALUE_INSTRUCTION = (
    "You play the Game of 24. Judge whether the given numbers can still make 24 using each exactly once with "
    "+ - * /. Reason briefly, then end with one word on its own line: sure, likely or impossible."
)
ANSWER_INSTRUCTION = (
    "You play the Game of 24. Given the input numbers and steps that reach 24, write the final answer as one "
    "expression over the input numbers, like 'Answer: (4 + 8) * (14 - 12) = 24'."
)
REFLECT_STEPS_INSTRUCTION = (
    "You play the Game of 24. A plan was tried and the game gave feedback. Write one short lesson about which "
    "step was wrong or leads nowhere, so that later plans avoid it."
)
REFLECT_STATES_INSTRUCTION = (
    "You play the Game of 24. A plan was tried and the game gave feedback. Write one short lesson about which "
    "numbers left can or cannot still make 24, labelled sure or impossible."
)


@dataclass(frozen=True)
class Candidate:
    """A partial plan: the step lines so far and the numbers left after them."""

    lines: tuple[str, ...]
    left: tuple[str, ...]
    value: float = 0.0


def _numbers(values: tuple[Fraction, ...]) -> str:
    return " ".join(format_number(v) for v in values)


def propose_example() -> tuple[str, str]:
    """(input, proposals) for the propose prompt's example, from the solver's legal moves."""
    values = tuple(Fraction(n) for n in _EXAMPLE_PUZZLE)
    moves = sorted(legal_moves(values), key=lambda m: (m[0].result.denominator != 1, m[0].result < 0))
    lines = list(dict.fromkeys(f"{move} (left: {_numbers(rest)})" for move, rest in moves))
    return _numbers(values), "\n".join(lines[:8])


def value_examples() -> list[tuple[str, str]]:
    """(numbers, judgement) examples for the value prompt, labelled by the exact solver."""
    examples = []
    for numbers in ((10, 14), (4, 4, 10), (1, 3, 3), (11, 12), (5, 7, 8)):
        values = tuple(sorted(Fraction(n) for n in numbers))
        if solvable(values):
            move = next_move(values) if len(values) > 1 else None
            reason = f"{move[0]} and 24 is reachable from there." if move and len(values) > 2 else f"{move[0]}."
            examples.append((_numbers(values), f"{reason}\nsure"))
        else:
            examples.append((_numbers(values), "No way to combine these numbers gives 24.\nimpossible"))
    return examples


class ToTAgent(Agent):
    """Tree-of-Thoughts breadth-first search on Game of 24.

    Args:
        policy: the LLM.
        breadth: states kept per depth (b; 1 and 5 in the ToT paper, 1 and 2 in RAFA's).
        proposals: candidate steps kept per state (RAFA keeps the first 10).
        value_samples: value calls per candidate.
        temperature: sampling temperature (0.7 as both papers).
        max_tokens: new tokens per call.
    """

    name = "tot"
    #: Whether the agent learns from the env's feedback (RAFA).
    learns = False

    def __init__(
        self,
        policy: Policy,
        *,
        breadth: int = 1,
        proposals: int = 10,
        value_samples: int = 3,
        temperature: float = 0.7,
        max_tokens: int = 256,
    ) -> None:
        """See the class docstring."""
        super().__init__(policy)
        self.breadth = integer("breadth", breadth, low=1, high=1000)
        self.proposals = integer("proposals", proposals, low=1, high=1000)
        self.value_samples = integer("value_samples", value_samples, low=1, high=1024)
        self.temperature = number("temperature", temperature, low=0)
        self.max_tokens = integer("max_tokens", max_tokens, low=1, high=MAX_TOKENS)
        self.lessons: list[str] = []
        self._values: dict[tuple[str, ...], float] = {}
        self._plan = ""

    @classmethod
    def factory(cls, policy: Policy, setup: RunSetup, **settings: Any) -> Callable[[], Agent]:
        """Refuse envs other than Game of 24: the search is specific to it."""
        if setup.env_name != "game24":
            raise ValueError(f"{cls.name} plays Game of 24 only, not {setup.env_name}")
        return super().factory(policy, setup, **settings)

    async def act(self, observation: str, info: dict[str, Any]) -> AgentStep:
        """Plan from the numbers left and send the whole plan."""
        usage: list[dict[str, Any]] = []
        if self.learns and self._plan and info.get("feedback"):
            await self._reflect(info["numbers"], self._plan, "\n".join(info["feedback"]), usage)
        plan = await self.plan(tuple(info["numbers"]), tuple(info["history"]), tuple(info["remaining"]), usage)
        self._plan = plan
        return AgentStep(action=plan, response=plan, usage=usage)

    # --- search --------------------------------------------------------------------------------------

    async def plan(
        self, puzzle: tuple[int, ...], history: tuple[str, ...], left: tuple[str, ...], usage: list[dict[str, Any]]
    ) -> str:
        """Breadth-first search from the numbers ``left`` (after the committed ``history`` of steps).

        Returns the plan: its new step lines, then the answer line.
        """
        frontier = [Candidate((), left)]
        while frontier and len(frontier[0].left) > 1:
            proposed = await self._ask([self._propose_request(c.left) for c in frontier], usage)
            children = [
                Candidate((*parent.lines, line), child_left)
                for parent, completion in zip(frontier, proposed, strict=True)
                for line, child_left in parse_proposals(completion.text)[: self.proposals]
            ]
            if not children:
                break
            scored = await self._evaluate(children, usage)
            frontier = sorted(scored, key=lambda c: -c.value)[: self.breadth]
        best = frontier[0] if frontier else Candidate((), left)
        answer = (await self._ask([self._answer_request(puzzle, (*history, *best.lines))], usage))[0].text
        answer_line = next((line for line in answer.splitlines() if line.lower().startswith("answer")), answer)
        return "\n".join([*best.lines, answer_line.strip()])

    async def _evaluate(self, candidates: list[Candidate], usage: list[dict[str, Any]]) -> list[Candidate]:
        todo = sorted({c.left for c in candidates if c.left not in self._values})
        completions = await self._ask([self._value_request(left) for left in todo], usage, n=self.value_samples)
        for left, completion in zip(todo, completions, strict=True):
            self._values[left] = sum(VALUE_OF.get(_last_word(text), 0.0) for text in completion.texts)
        return [Candidate(c.lines, c.left, self._values[c.left]) for c in candidates]

    async def _ask(self, requests: list[Request], usage: list[dict[str, Any]], *, n: int = 1) -> list[Completion]:
        if not requests:
            return []
        for request in requests:
            request.sampling = Sampling(temperature=self.temperature, max_tokens=self.max_tokens, n=n)
        completions = await self.policy.agenerate(requests)
        usage += [c.usage() for c in completions]
        return completions

    # --- prompts -------------------------------------------------------------------------------------

    def _lessons(self) -> str:
        if not self.lessons:
            return ""
        return "\n\nWhat you have learned about this puzzle:\n" + "\n".join(f"- {lesson}" for lesson in self.lessons)

    def _propose_request(self, left: tuple[str, ...]) -> Request:
        example_input, example_output = propose_example()
        messages: list[Message] = [
            {"role": "system", "content": PROPOSE_INSTRUCTION},
            {"role": "user", "content": f"Input: {example_input}\nPossible next steps:"},
            {"role": "assistant", "content": example_output},
            {"role": "user", "content": f"Input: {' '.join(left)}\nPossible next steps:{self._lessons()}"},
        ]
        return Request(messages)

    def _value_request(self, left: tuple[str, ...]) -> Request:
        messages: list[Message] = [{"role": "system", "content": VALUE_INSTRUCTION}]
        for numbers, judgement in value_examples():
            messages += [{"role": "user", "content": numbers}, {"role": "assistant", "content": judgement}]
        messages.append({"role": "user", "content": f"{' '.join(left)}{self._lessons()}"})
        return Request(messages)

    def _answer_request(self, puzzle: tuple[int, ...], lines: tuple[str, ...]) -> Request:
        steps = "\n".join(lines)
        return Request(
            [
                {"role": "system", "content": ANSWER_INSTRUCTION},
                {"role": "user", "content": f"Input: {' '.join(map(str, puzzle))}\nSteps:\n{steps}"},
            ]
        )

    async def _reflect(self, puzzle: list[int], plan: str, feedback: str, usage: list[dict[str, Any]]) -> None:
        """RAFA's learner: lessons about steps and about states, from the last plan and its feedback."""
        content = f"Input: {' '.join(map(str, puzzle))}\nPlan:\n{plan}\nFeedback:\n{feedback}"
        requests = [
            Request([{"role": "system", "content": instruction}, {"role": "user", "content": content}])
            for instruction in (REFLECT_STEPS_INSTRUCTION, REFLECT_STATES_INSTRUCTION)
        ]
        for request in requests:
            request.sampling = Sampling(temperature=0.0, max_tokens=self.max_tokens)
        completions = await self.policy.agenerate(requests)
        usage += [c.usage() for c in completions]
        self.lessons += [c.text.strip() for c in completions if c.text.strip()]

    def config(self) -> dict[str, Any]:
        """The settings that identify this agent in run records."""
        return {
            "name": self.name,
            "breadth": self.breadth,
            "proposals": self.proposals,
            "value_samples": self.value_samples,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }


class RAFAAgent(ToTAgent):
    """RAFA on Game of 24: ToT planning, acting the plan's valid leading steps, learning from feedback."""

    name = "rafa"
    learns = True


def parse_proposals(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """The well-formed step lines of a propose reply, each with its ``(left: ...)`` numbers."""
    found = []
    for line in text.splitlines():
        match = _STEP.match(line)
        if match:
            found.append((match.group(0).strip(), tuple(match.group(5).split())))
    return found


def _last_word(text: str) -> str:
    words = text.strip().lower().split()
    return words[-1].strip(".!") if words else ""
