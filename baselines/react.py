"""ReAct (Yao et al., 2023): think, then act, one action per turn, with few-shot demonstrations.

The prompt is a chat: a system message with the env's instruction and expert demonstrations of the task's
group (a stable prefix, so a server's prefix cache is hit), then the episode's turns: the first
observation, and after each ``Thought: ... / Action: ...`` reply the next ``Observation: ...``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from agentgym.actions import FREE_TEXT, ActionGrammar, Rewrite, grammar_of
from agentgym.agent import Agent, AgentStep, EpisodeContext, RunSetup
from agentgym.baselines.demos import Demonstration, demonstrations
from agentgym.baselines.prompts import instruction, task_group
from agentgym.policies import Completion, Message, Policy, Request, Sampling
from agentgym.validate import integer, number, optional_integer
from agentgym.wrappers.react import ReActFormat
from agentgym.wrappers.truncate import Truncation

#: Most demonstrations per task group, and most new tokens per call (settings beyond are refused up front).
MAX_SHOTS = 100
MAX_TOKENS = 1_000_000

#: Named action rewrites that papers apply to the model's action on any env; each run records which were on.
#: An env's grammar adds its own (:attr:`agentgym.actions.ActionGrammar.rewrites`: ALFWorld's ``put`` forms).
COMMON_REWRITES: Mapping[str, Rewrite] = MappingProxyType(
    {
        # CoPS: a leading '>' (the transcript's action marker) is dropped.
        "strip-prompt-marker": lambda a: a.lstrip("> ").strip(),
    }
)


def action_rewrites(grammar: ActionGrammar, names: list[str] | tuple[str, ...]) -> list[Rewrite]:
    """The rewrites ``names``, in order, from :data:`COMMON_REWRITES` and the env's ``grammar``.

    Raises:
        ValueError: a name neither knows (the message lists the known ones).
    """
    known = {**COMMON_REWRITES, **grammar.rewrites}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"unknown rewrites {unknown}; known: {sorted(known)}")
    return [known[name] for name in names]


@dataclass
class _Turn:
    thought: str
    action: str
    observation: str = ""


class ReActAgent(Agent):
    """ReAct with chat prompts and expert demonstrations.

    Args:
        policy: the LLM.
        shots: demonstrations per task group (built from the env's expert on the train split).
        demos: demonstrations by group (normally built by :meth:`factory`).
        temperature: sampling temperature of the action call.
        max_tokens: new tokens per reply.
        history: keep only the last ``history`` turns in the prompt (``None``: all).
        max_observation_chars: observations in the prompt are cut to this length.
        strict: require an ``Action:`` line (otherwise a bare first line is taken as the action).
        resample_repeats: if the action repeats the previous one, sample again at +0.1 temperature, up to
            this many times (CoPS).
        rewrites: names of rewrites applied to every action, from :data:`COMMON_REWRITES` and the env's grammar.
        env_name: the benchmark (set by :meth:`factory`), for the prompt's hash in the run's card.
        grammar: the env's action grammar (set by :meth:`factory`), whose rewrites ``rewrites`` may name.
    """

    name = "react"

    def __init__(
        self,
        policy: Policy,
        *,
        shots: int = 1,
        demos: dict[str | None, list[Demonstration]] | None = None,
        temperature: float = 0.0,
        max_tokens: int = 256,
        history: int | None = None,
        max_observation_chars: int = 4000,
        strict: bool = False,
        resample_repeats: int = 0,
        rewrites: list[str] | tuple[str, ...] = (),
        env_name: str | None = None,
        grammar: ActionGrammar = FREE_TEXT,
    ) -> None:
        """See the class docstring."""
        super().__init__(policy)
        self.rewrite_steps = action_rewrites(grammar, rewrites)
        self.shots = integer("shots", shots, low=0, high=MAX_SHOTS)
        self.demos = demos or {}
        self.temperature = number("temperature", temperature, low=0)
        self.max_tokens = integer("max_tokens", max_tokens, low=1, high=MAX_TOKENS)
        self.history = optional_integer("history", history, low=0)
        self.max_observation_chars = integer("max_observation_chars", max_observation_chars, low=1)
        self.cut = Truncation(self.max_observation_chars)
        self.strict = strict
        self.format = ReActFormat(strict=strict)
        self.resample_repeats = integer("resample_repeats", resample_repeats, low=0, high=100)
        self.rewrites = tuple(rewrites)
        self.env_name = env_name
        self.first_observation = ""
        self.turns: list[_Turn] = []

    @classmethod
    async def factory(cls, policy: Policy, setup: RunSetup, **settings: Any) -> Callable[[], Agent]:
        """Build the demonstrations once for the run (from the env's expert), then make agents."""
        settings.setdefault("env_name", setup.env_name)
        settings.setdefault("grammar", grammar_of(setup.env_id))
        cls(policy, **{**settings, "demos": {}})  # checks the settings before the demonstrations are played
        if "demos" not in settings:  # else given by the caller
            shots = settings.get("shots", 1)
            groups = {task_group(setup.env_name, t) for t in setup.task_ids} or {None}
            settings["demos"] = await demonstrations(setup, groups, shots=shots) if shots > 0 else {}
        return lambda: cls(policy, **settings)

    def reset(self, observation: str, info: dict[str, Any], context: EpisodeContext) -> None:
        """Start an episode."""
        super().reset(observation, info, context)
        self.first_observation = observation
        self.turns = []

    # --- prompt --------------------------------------------------------------------------------------

    def system_prompt(self) -> str:
        """The instruction and the demonstrations of this task's group: identical for the group's tasks."""
        assert self.context is not None
        text = instruction(self.context.env_name)
        demos = self.demos.get(task_group(self.context.env_name, self.context.task_id), [])
        if demos:
            examples = "\n\n".join(f"Example {i}:\n{d.as_text()}" for i, d in enumerate(demos, 1))
            text += f"\n\nHere {'is an example' if len(demos) == 1 else 'are examples'} of solved tasks.\n\n{examples}"
        return text

    def task_message(self) -> str:
        """The first user message: the task's first observation (Reflexion adds its notes here)."""
        return self.cut(self.first_observation)

    def messages(self) -> list[Message]:
        """The chat so far, ending with the latest observation."""
        messages: list[Message] = [
            {"role": "system", "content": self.system_prompt()},
            {"role": "user", "content": self.task_message()},
        ]
        turns = self.turns if self.history is None else self.turns[-self.history :] if self.history else []
        if len(turns) < len(self.turns):
            messages[-1]["content"] += f"\n\n({len(self.turns) - len(turns)} earlier steps are not shown.)"
        for turn in turns:
            messages.append({"role": "assistant", "content": self.format.write(turn.thought, turn.action)})
            messages.append({"role": "user", "content": f"Observation: {self.cut(turn.observation)}"})
        return messages

    def add_turn(self, thought: str, action: str, observation: str = "") -> None:
        """Append a turn to the episode's history (the observation is filled in by the next ``act``).

        ETO rebuilds recorded episodes into training conversations this way, so that they are exactly the
        messages this agent sends.
        """
        self.turns.append(_Turn(thought, action, observation))

    # --- acting --------------------------------------------------------------------------------------

    async def act(self, observation: str, info: dict[str, Any]) -> AgentStep:
        """Ask the policy for a thought and an action."""
        if self.turns:
            self.turns[-1].observation = observation
        messages = self.messages()
        completions: list[Completion] = []
        for attempt in range(self.resample_repeats + 1):
            completion = await self.complete(messages, temperature=self.temperature + 0.1 * attempt)
            completions.append(completion)
            thought, action = self.format.parse(completion.text)
            for rewrite in self.rewrite_steps:
                action = rewrite(action)
            if not self.turns or action != self.turns[-1].action:
                break
        self.add_turn(thought, action)
        return AgentStep(action, response=completion.text, usage=[c.usage() for c in completions])

    async def complete(self, messages: list[Message], *, temperature: float) -> Completion:
        """One policy call for ``messages``."""
        sampling = Sampling(temperature=temperature, max_tokens=self.max_tokens, stop=("\nObservation:",))
        return (await self.policy.agenerate([Request(messages, sampling)]))[0]

    def config(self) -> dict[str, Any]:
        """The settings that identify this agent in run records."""
        return {
            "name": self.name,
            "shots": self.shots,
            "demo_tasks": {str(g): [d.task_id for d in ds] for g, ds in sorted(self.demos.items(), key=str)},
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "history": self.history,
            "max_observation_chars": self.max_observation_chars,
            "strict": self.strict,
            "resample_repeats": self.resample_repeats,
            "rewrites": list(self.rewrites),
            "prompt_sha256": self.prompt_sha256(),
        }

    def prompt_sha256(self) -> str | None:
        """A hash of the instruction and every demonstration: two runs with equal hashes saw the same prompts."""
        if self.env_name is None:
            return None
        parts = [instruction(self.env_name)]
        for group, demos in sorted(self.demos.items(), key=lambda item: str(item[0])):
            parts += [str(group), *(d.as_text() for d in demos)]
        return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]
