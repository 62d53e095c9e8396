"""Reflexion (Shinn et al., 2023): ReAct, plus a written reflection after each failed trial.

Run it with trials (``agentgym run ENV --agent reflexion --trials 10``): after a failed trial the policy reads
the failed transcript and writes a short diagnosis and plan; the last ``memory_size`` of these are shown to
the actor in every later trial of the same task, on every env (the original lost them on WebShop). Success
is counted on ``won``, never on the episode ending (the original counted the step cap as a win on ALFWorld).
The reflection prompt's demonstration is built by the project: a real failing transcript (the expert's first
action repeated, a typical loop) and a plan naming the expert's actions for that task.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agentgym.agent import Agent, AgentStep, RunSetup
from agentgym.baselines.demos import Demonstration, demonstrations, play_episodes
from agentgym.baselines.prompts import task_group
from agentgym.baselines.react import MAX_TOKENS, ReActAgent
from agentgym.policies import Message, Policy, Request, Sampling
from agentgym.validate import integer
from agentgym.wrappers.truncate import truncate_text

REFLECTION_INSTRUCTION = (
    "You will read the transcript of an attempt at a task, and the attempt failed. In a few sentences, say "
    "what went wrong and write a plan for the next attempt that names the specific actions to take. Do not "
    "describe the environment; the plan is for you, on the same task."
)
#: Longest transcript (characters, from the end) a reflection prompt shows.
MAX_TRANSCRIPT = 6000
#: Steps of the reflection example's failing transcript (its first action, repeated).
REPEATS = 4


@dataclass(frozen=True)
class ReflectionExample:
    """A failed transcript and the plan that answers it."""

    transcript: str
    plan: str


def transcript(first_observation: str, steps: list[tuple[str, str]]) -> str:
    """A plain transcript: the first observation, then ``Action:`` / ``Observation:`` lines."""
    lines = [first_observation]
    for action, observation in steps:
        lines += [f"Action: {action}", f"Observation: {observation}"]
    return truncate_text("\n".join(lines), MAX_TRANSCRIPT, keep="tail")


class ReflexionAgent(ReActAgent):
    """ReAct whose later trials see reflections on the earlier, failed ones.

    Args:
        policy: the LLM (actor and reflection).
        memory_size: reflections shown to the actor (the last ones; 3 as the paper).
        example: the reflection prompt's demonstration (built by :meth:`factory`).
        reflection_max_tokens: new tokens for a reflection.
        **react_settings: see :class:`~agentgym.baselines.react.ReActAgent`.
    """

    name = "reflexion"

    def __init__(
        self,
        policy: Policy,
        *,
        memory_size: int = 3,
        example: ReflectionExample | None = None,
        reflection_max_tokens: int = 256,
        **react_settings: Any,
    ) -> None:
        """See the class docstring."""
        super().__init__(policy, **react_settings)
        self.memory_size = integer("memory_size", memory_size, low=1, high=1000)
        self.example = example
        self.reflection_max_tokens = integer("reflection_max_tokens", reflection_max_tokens, low=1, high=MAX_TOKENS)

    @classmethod
    async def factory(cls, policy: Policy, setup: RunSetup, **settings: Any) -> Callable[[], Agent]:
        """Build the actor's demonstrations and the reflection demonstration once for the run."""
        cls(policy, **settings)  # checks the settings before the demonstrations are played
        shots = settings.get("shots", 1)
        groups = {task_group(setup.env_name, t) for t in setup.task_ids} or {None}
        demos = await demonstrations(setup, groups, shots=max(shots, 1))
        first = next((ds[0] for ds in demos.values() if ds), None)
        example = await _reflection_example(setup, first) if first is not None else None
        actor_demos = {g: ds[:shots] for g, ds in demos.items()} if shots > 0 else {}
        settings.setdefault("env_name", setup.env_name)
        return lambda: cls(policy, demos=actor_demos, example=example, **settings)

    def task_message(self) -> str:
        """The first observation, followed by the reflections of earlier trials of this task."""
        notes = self.context.memory[-self.memory_size :] if self.context else []
        if not notes:
            return super().task_message()
        first = self.context.trial - len(notes) if self.context else 0
        lines = "\n".join(f"Trial {first + i}: {note}" for i, note in enumerate(notes))
        return f"{super().task_message()}\n\nYour notes from earlier failed attempts at this task:\n{lines}"

    async def after_episode(self, record: dict[str, Any]) -> str | None:
        """After a failed trial, write the reflection the next trial will see."""
        if record["won"] or self.context is None:
            return None
        completion = await self.policy.agenerate([self.reflection_request(record)])
        return completion[0].text.strip().removeprefix("New plan:").strip() or None

    def reflection_request(self, record: dict[str, Any]) -> Request:
        """The reflection prompt for a failed episode's record."""
        failed = transcript(
            record["first_observation"],
            [(step["action"], after) for step, after in zip(record["steps"], _observations_after(record), strict=True)],
        )
        messages: list[Message] = [{"role": "system", "content": REFLECTION_INSTRUCTION}]
        if self.example is not None:
            messages += [
                {"role": "user", "content": f"{self.example.transcript}\nSTATUS: FAIL"},
                {"role": "assistant", "content": f"New plan: {self.example.plan}"},
            ]
        earlier = self.context.memory[-self.memory_size :] if self.context else []
        past = "\n".join(f"Plan {i}: {note}" for i, note in enumerate(earlier, 1))
        content = f"{failed}\nSTATUS: FAIL" + (f"\n\nPlans from earlier attempts:\n{past}" if past else "")
        messages.append({"role": "user", "content": content})
        return Request(messages, Sampling(temperature=0.0, max_tokens=self.reflection_max_tokens))

    def config(self) -> dict[str, Any]:
        """ReAct's settings plus the reflection settings."""
        return {
            **super().config(),
            "memory_size": self.memory_size,
            "reflection_max_tokens": self.reflection_max_tokens,
            "reflection_example_task": self.example.transcript.splitlines()[0][:80] if self.example else None,
        }


def _observations_after(record: dict[str, Any]) -> list[str]:
    """The observation that followed each step of a record."""
    steps = record["steps"]
    return [s["observation"] for s in steps[1:]] + [record["final_observation"]]


class RepeatAction(Agent):
    """Plays one action at every step (a typical loop); the reflection example's failing run.

    Args:
        policy: not used.
        action: the action to repeat.
    """

    name = "repeat-action"

    def __init__(self, policy: Policy, *, action: str) -> None:
        """Keep the action."""
        super().__init__(policy)
        self.action = action

    async def act(self, observation: str, info: dict[str, Any]) -> AgentStep:
        """The same action again."""
        return AgentStep(self.action)


async def _reflection_example(setup: RunSetup, demo: Demonstration) -> ReflectionExample:
    """A real failing transcript on a training task (its first expert action, repeated 4 times) and a plan."""
    action = demo.steps[0][1]
    [record] = await play_episodes(
        setup, [demo.task_id], agent=RepeatAction, agent_kwargs={"action": action}, max_steps=REPEATS
    )
    first = record["first_observation"]
    steps = [(step["action"], after) for step, after in zip(record["steps"], _observations_after(record), strict=True)]
    actions = [step[1] for step in demo.steps]
    plan = (
        f"I repeated '{action}' and made no progress after it. Next time I will do the task step by step: "
        + ", then ".join(actions)
        + "."
    )
    return ReflectionExample(transcript(first, steps), plan)
