"""Tree-of-Thoughts (Yao et al., 2023) on Game of 24, as ``princeton-nlp/tree-of-thought-llm`` runs it.

The search (``src/tot/methods/bfs.py`` with ``src/tot/tasks/game24.py``) grows partial outputs ``y``: strings of
step lines, each ending in a newline. For 4 steps, one *propose* call per kept ``y`` lists next steps, every
line of the reply becoming a candidate (``y``, the line, a newline); once a ``y`` has ``(left: 24)`` its propose
prompt is the chain-of-thought prompt followed by ``Steps:`` and ``y``, so the fourth step proposes the answer.
Each candidate is valued by 3 samples of the *value* prompt (the last-step prompt for a line without
``left: ``), the last line of each sample read as sure = 20, likely = 1, impossible = 0.001; a candidate
repeated within a step is valued 0, and values are cached by prompt; the ``breadth`` best (a stable sort) are
kept. The episode's result is the final outputs, best first.

:class:`Game24Search` is that search, parameterised by :class:`SearchRules` so that RAFA's variant
(:mod:`agentgym.baselines.rafa`) shares it. Which prompt text it fills in is a :class:`Game24Prompts`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from agentgym.agent import Agent, AgentStep, RunSetup
from agentgym.baselines import game24_prompts
from agentgym.envs.game24.actions import has_numbers_left, numbers_left
from agentgym.policies import Completion, Message, Policy, Request, Sampling

#: ToT's value map, in its order (the value is summed in this order).
VALUE_OF = {"impossible": 0.001, "likely": 1, "sure": 20}
#: Search depth: three steps and the answer.
STEPS = 4
OUTPUTS = ("first", "all")


def value_of_outputs(y: str, outputs: list[str], *, lenient: bool = False) -> float:
    """A candidate's value from its value samples, as ``value_outputs_unwrap`` reads them.

    A 4-line ``y`` without ``answer`` is worth 0. ToT counts a sample whose last line *is* a label; RAFA's
    code (``lenient``) lowercases the last line and counts every label it *contains*.
    """
    if len(y.strip().split("\n")) == STEPS and "answer" not in y.lower():
        return 0
    if lenient:
        names = [output.split("\n")[-1].lower() for output in outputs]
        return sum(value * sum(name in last for last in names) for name, value in VALUE_OF.items())
    names = [output.split("\n")[-1] for output in outputs]
    return sum(value * names.count(name) for name, value in VALUE_OF.items())


@dataclass(frozen=True)
class SearchRules:
    """Where ToT's code and RAFA's differ in the search itself.

    Attributes:
        steps_prefix: what follows the chain-of-thought prompt before ``y`` at the answer step.
        propose_stop: stop strings of the propose calls.
        value_cache: ToT's: a candidate repeated within a step is valued 0, and values are cached by prompt;
            without it (RAFA's ``cache_value=False``) every candidate, repeated or not, is valued afresh.
        lenient_labels: RAFA's reading of the value samples (see :func:`value_of_outputs`).
    """

    steps_prefix: str
    propose_stop: tuple[str, ...]
    value_cache: bool
    lenient_labels: bool


TOT_RULES = SearchRules(steps_prefix="Steps:", propose_stop=(), value_cache=True, lenient_labels=False)


def checked_count(name: str, value: Any, most: int) -> None:
    """Refuse a count setting that is not a whole number from 1 to ``most``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise ValueError(f"{name} must be a whole number from 1 to {most}, not {value!r}")


def checked_temperature(name: str, value: Any) -> float:
    """A temperature setting as a float, or a refusal."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 2:
        raise ValueError(f"{name} must be a number from 0 to 2, not {value!r}")
    return float(value)


class Game24Search(Agent):
    """The breadth-first search over partial outputs that ToT and RAFA share (see the module docstring).

    Args:
        policy: the LLM.
        breadth: candidates kept per step (ToT's ``n_select_sample``).
        proposals: lines of a propose reply kept as candidates (``None``: all of them).
        value_samples: value samples per candidate (``n_evaluate_sample``).
        temperature: sampling temperature of the propose calls.
        value_temperature: sampling temperature of the value calls.
        max_tokens: new tokens per call.
        prompts: the agent's name (its paper's prompt file, from the ``prompts`` dataset) or ``"agentgym"`` (ours).
    """

    rules: ClassVar[SearchRules] = TOT_RULES
    #: The paper's prompt file (in the ``prompts`` dataset) and the templates the agent uses from it.
    paper_file: ClassVar[str] = "tot/game24.py"
    templates: ClassVar[tuple[str, ...]] = ("propose_prompt", "value_prompt", "value_last_step_prompt", "cot_prompt")

    def __init__(
        self,
        policy: Policy,
        *,
        breadth: int,
        proposals: int | None,
        value_samples: int,
        temperature: float,
        value_temperature: float,
        max_tokens: int,
        prompts: str,
    ) -> None:
        """See the class docstring."""
        super().__init__(policy)
        checked_count("breadth", breadth, 100)
        checked_count("value_samples", value_samples, 100)
        checked_count("max_tokens", max_tokens, 100_000)
        if proposals is not None:
            checked_count("proposals", proposals, 1000)
        self.breadth, self.proposals, self.value_samples = breadth, proposals, value_samples
        self.temperature = checked_temperature("temperature", temperature)
        self.value_temperature = checked_temperature("value_temperature", value_temperature)
        self.max_tokens = max_tokens
        self.prompt_setting = prompts
        self.prompts = game24_prompts.load(prompts, self.name, self.paper_file, self.templates)
        self._value_cache: dict[str, float] = {}

    @classmethod
    async def factory(cls, policy: Policy, setup: RunSetup, **settings: Any) -> Callable[[], Agent]:
        """Refuse envs other than Game of 24: the search is specific to it."""
        if setup.env_name != "game24":
            raise ValueError(f"{cls.name} plays Game of 24 only, not {setup.env_name}")
        return await super().factory(policy, setup, **settings)

    # --- the papers' prompt wrapping -------------------------------------------------------------------

    def propose_prompt(self, x: str, y: str) -> str:
        """``propose_prompt_wrap``: the next steps from the numbers left, or the answer once 24 is left."""
        numbers = numbers_left(y if y else x)
        if numbers == "24":
            return self.prompts["cot_prompt"].format(input=x) + self.rules.steps_prefix + y
        return self.prompts["propose_prompt"].format(input=numbers)

    def value_prompt(self, x: str, y: str) -> str:
        """``value_prompt_wrap``: the last-step prompt for a line without ``left: ``, else the numbers left."""
        last_line = y.strip().split("\n")[-1]
        if not has_numbers_left(last_line):
            answer = last_line.lower().replace("answer: ", "")
            return self.prompts["value_last_step_prompt"].format(input=x, answer=answer)
        return self.prompts["value_prompt"].format(input=numbers_left(y))

    def propose_messages(self, prompt: str) -> list[Message]:
        """The messages of a propose call (ToT: the prompt as one user message)."""
        return [{"role": "user", "content": prompt}]

    def value_messages(self, prompt: str) -> list[Message]:
        """The messages of a value call (ToT: the prompt as one user message)."""
        return [{"role": "user", "content": prompt}]

    # --- search ----------------------------------------------------------------------------------------

    async def plan(
        self, x: str, history: list[str], usage: list[dict[str, Any]]
    ) -> tuple[list[str], list[dict[str, Any]]]:
        """The search from the steps the env has committed: ``4 - len(history)`` steps from ``y`` = those lines.

        Without history (always, one-shot) this is ToT's search from the puzzle; RAFA plans this way every step.
        """
        start = ["\n".join(history) + "\n"] if history else [""]
        return await self.search(x, start, STEPS - len(history), usage)

    @staticmethod
    def new_lines(y: str, history: list[str]) -> str:
        """The lines of ``y`` after the committed ``history`` (what is sent to the env)."""
        return "\n".join(y.split("\n")[len(history) :])

    async def search(
        self, x: str, ys: list[str], steps: int, usage: list[dict[str, Any]]
    ) -> tuple[list[str], list[dict[str, Any]]]:
        """``steps`` rounds of propose, value, keep the best ``breadth``, from the partial outputs ``ys``.

        Returns:
            The kept outputs, best first, and per step what ToT logs (``new_ys``, ``values``, ``select_new_ys``).
        """
        infos = []
        for step in range(steps):
            prompts = [self.propose_prompt(x, y) for y in ys]
            replies = await self._ask(
                [self.propose_messages(p) for p in prompts], usage, self.temperature, stop=self.rules.propose_stop
            )
            new_ys = []
            for y, reply in zip(ys, replies, strict=True):
                lines = reply.text.split("\n")[: self.proposals]
                new_ys += [y + line + "\n" for line in lines]
            values = await self.values(x, new_ys, usage)
            chosen = sorted(range(len(new_ys)), key=lambda i: values[i], reverse=True)[: self.breadth]
            selected = [new_ys[i] for i in chosen]
            infos.append({"step": step, "ys": ys, "new_ys": new_ys, "values": values, "select_new_ys": selected})
            ys = selected
        return ys, infos

    async def values(self, x: str, ys: list[str], usage: list[dict[str, Any]]) -> list[float]:
        """``get_values``: each candidate's value, with ToT's repeat and cache rules where the rules say so."""
        lenient = self.rules.lenient_labels
        if not self.rules.value_cache:
            replies = await self._value_calls([self.value_prompt(x, y) for y in ys], usage)
            return [value_of_outputs(y, r.texts, lenient=lenient) for y, r in zip(ys, replies, strict=True)]
        seen: set[str] = set()
        prompt_of: list[str | None] = []  # None: a repeat of an earlier candidate of this step
        first_y: dict[str, str] = {}  # prompts to ask, with the candidate that asks first
        for y in ys:
            prompt = None if y in seen else self.value_prompt(x, y)
            seen.add(y)
            prompt_of.append(prompt)
            if prompt is not None and prompt not in self._value_cache:
                first_y.setdefault(prompt, y)
        replies = await self._value_calls(list(first_y), usage)
        for (prompt, y), reply in zip(first_y.items(), replies, strict=True):
            self._value_cache[prompt] = value_of_outputs(y, reply.texts, lenient=lenient)
        return [0 if prompt is None else self._value_cache[prompt] for prompt in prompt_of]

    async def _value_calls(self, prompts: list[str], usage: list[dict[str, Any]]) -> list[Completion]:
        messages = [self.value_messages(p) for p in prompts]
        return await self._ask(messages, usage, self.value_temperature, n=self.value_samples)

    async def _ask(
        self,
        messages: list[list[Message]],
        usage: list[dict[str, Any]],
        temperature: float,
        *,
        n: int = 1,
        stop: tuple[str, ...] = (),
    ) -> list[Completion]:
        if not messages:
            return []
        sampling = Sampling(temperature=temperature, max_tokens=self.max_tokens, n=n, stop=stop)
        completions = await self.policy.agenerate([Request(m, sampling) for m in messages])
        usage += [c.usage() for c in completions]
        return completions

    def config(self) -> dict[str, Any]:
        """The settings that identify this agent in run records, with the prompt files it read."""
        return {
            "name": self.name,
            "breadth": self.breadth,
            "proposals": self.proposals,
            "value_samples": self.value_samples,
            "temperature": self.temperature,
            "value_temperature": self.value_temperature,
            "max_tokens": self.max_tokens,
            **self.prompts.card(self.prompt_setting),
        }


class ToTAgent(Game24Search):
    """Tree-of-Thoughts on Game of 24: one search of 4 steps per action, from the puzzle.

    On the step-wise env the search starts from the steps the env has committed (as RAFA's harness runs its
    ToT baseline); ToT does not learn from the env's feedback.

    Args:
        policy: the LLM.
        breadth: candidates kept per step (5, and 1, in the paper).
        proposals: lines of a propose reply kept (``None``: all, as ToT).
        value_samples: value samples per candidate (3).
        temperature: sampling temperature of every call (0.7).
        max_tokens: new tokens per call (1000, as ToT's ``gpt``).
        outputs: ``"first"`` sends the best final output (any Game of 24 env); ``"all"`` sends every final
            output as a JSON list, which the one-shot env judges with ``judge="answer"`` (ToT's result).
        prompts: ``"tot"`` (ToT's ``src/tot/prompts/game24.py``) or ``"agentgym"`` (ours, the default).
    """

    name = "tot"

    def __init__(
        self,
        policy: Policy,
        *,
        breadth: int = 5,
        proposals: int | None = None,
        value_samples: int = 3,
        temperature: float = 0.7,
        max_tokens: int = 1000,
        outputs: str = "first",
        prompts: str = "agentgym",
    ) -> None:
        """See the class docstring."""
        if outputs not in OUTPUTS:
            raise ValueError(f"outputs must be one of {', '.join(OUTPUTS)}, not {outputs!r}")
        super().__init__(
            policy,
            breadth=breadth,
            proposals=proposals,
            value_samples=value_samples,
            temperature=temperature,
            value_temperature=temperature,
            max_tokens=max_tokens,
            prompts=prompts,
        )
        self.outputs = outputs

    @classmethod
    async def factory(cls, policy: Policy, setup: RunSetup, **settings: Any) -> Callable[[], Agent]:
        """Refuse ``outputs="all"`` where the env would not judge a list of outputs."""
        one_shot = setup.env_kwargs.get("one_shot", setup.env_id.startswith("agentgym/Game24OneShot"))
        if settings.get("outputs") == "all" and not (one_shot and setup.env_kwargs.get("judge") == "answer"):
            raise ValueError("outputs=all needs the one-shot env that judges answers (game24-oneshot, judge=answer)")
        return await super().factory(policy, setup, **settings)

    async def act(self, observation: str, info: dict[str, Any]) -> AgentStep:
        """Search (from the committed steps, on the step-wise env); send the best output, or all of them."""
        usage: list[dict[str, Any]] = []
        x, history = " ".join(map(str, info["numbers"])), list(info.get("history", []))
        ys, infos = await self.plan(x, history, usage)
        action = json.dumps(ys) if self.outputs == "all" else (self.new_lines(ys[0], history) if ys else "")
        return AgentStep(action, response=json.dumps({"steps": infos, "ys": ys}), usage=usage)

    def config(self) -> dict[str, Any]:
        """The search settings and which outputs are sent."""
        return {**super().config(), "outputs": self.outputs}
