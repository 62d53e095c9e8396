"""The ``Agent`` interface: turns observations into actions, using a :class:`~agentgym.policies.Policy`.

Agents see the gymnasium observation and info, and an :class:`EpisodeContext` (which env, which task, and the
env's expert for scripted play); they hold no benchmark code beyond prompts. ``act`` is async so that the
runner can play many episodes at once and hand the policy their prompts together.

Writing your own agent::

    from agentgym.agent import Agent, AgentStep

    class EchoAgent(Agent):
        name = "echo"

        async def act(self, observation, info):
            completion = (await self.policy.agenerate([self.request(observation)]))[0]
            return AgentStep(action=completion.text.strip(), response=completion.text)

    agentgym.evaluate(ENV_ID, agent=EchoAgent, policy="random", limit=5)

or from the CLI: ``agentgym run ENV --agent my_pkg.my_module:EchoAgent``. A package makes its agents known by
name (``--agent echo``) through a plugin (:attr:`agentgym.plugins.Plugin.agents`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from agentgym.error import SettingError
from agentgym.policies.base import Completion, Expert, Policy, Request, Sampling
from agentgym.registry import Registry, load_attribute


@dataclass(frozen=True)
class RunSetup:
    """What an agent class is told once per run, before any episode (see :meth:`Agent.factory`).

    Attributes:
        env_id: the gymnasium id being played.
        env_name: the benchmark's short name, for choosing prompts.
        env_kwargs: the ``gymnasium.make`` arguments of the run.
        split: the split being played (``"custom"`` for an explicit task list).
        task_ids: the tasks the run plays.
        history: records of episodes already played (a resumed run), for agents that learn across episodes.
    """

    env_id: str
    env_name: str
    env_kwargs: dict[str, Any]
    split: str
    task_ids: tuple[str, ...] = ()
    history: tuple[dict[str, Any], ...] = ()


@dataclass
class EpisodeContext:
    """What an agent knows about its episode besides observations.

    Attributes:
        env_id: the gymnasium id being played.
        env_name: the benchmark's short name (``info["env_name"]``), for choosing prompts.
        task_id: the task being played.
        expert_action: async callable returning the env's expert action from the current state.
        trial: 0 for a task's first attempt; ``n`` for its ``n``-th retry in a multi-trial run.
        memory: what :meth:`Agent.after_episode` returned after each earlier failed trial of this task,
            oldest first (Reflexion's reflections).
    """

    env_id: str
    env_name: str
    task_id: str
    expert_action: Expert
    trial: int = 0
    memory: list[str] = field(default_factory=list)


@dataclass
class AgentStep:
    """An agent's decision for one step.

    Attributes:
        action: the action string sent to the env.
        response: the raw policy output it came from (``None`` for scripted agents).
        usage: token counts and latency of the policy calls made for this step.
        observation: set when the agent answers the action itself (ReAct's ``think:`` answered ``OK.``): the
            env is not called, and the runner records the step with this observation and counts it toward
            the step cap, as the papers' loops counted the env call they made for it.
        final: the agent's last step (a paper's stop rule, e.g. Reflexion's repeated action): the runner
            plays it, then ends the episode as truncated unless this step terminated it.
    """

    action: str
    response: str | None = None
    usage: list[dict[str, Any]] = field(default_factory=list)
    observation: str | None = None
    final: bool = False


class Agent(ABC):
    """Base class of agents. One instance plays one episode at a time; the runner makes one per episode.

    In a run, ``self.policy`` is the run's policy seen through :class:`agentgym.runner.seeding.SeededPolicy`:
    every request without a sampling seed gets one derived from the run's seed, the episode and the step.

    Args:
        policy: the policy behind the agent.
        **settings: agent settings (``--agent-arg KEY=VALUE`` on the CLI); unknown keys raise ``TypeError``.
    """

    #: The agent's name, as ``--agent`` spells it.
    name: ClassVar[str] = "agent"
    #: In a multi-trial run, play trial t of every task before any trial t+1 (memory shared across tasks).
    lockstep_trials: ClassVar[bool] = False

    def __init__(self, policy: Policy, **settings: Any) -> None:
        """Keep the policy; subclasses declare their settings as keyword arguments."""
        if settings:
            raise TypeError(f"{type(self).__name__} got unknown settings {sorted(settings)}")
        self.policy = policy
        self.context: EpisodeContext | None = None

    @classmethod
    async def factory(cls, policy: Policy, setup: RunSetup, **settings: Any) -> Callable[[], Agent]:
        """Return a maker of fresh agents for one run; the runner awaits it once, before any episode.

        Override to prepare what every episode shares (few-shot demonstrations, a memory bank). It runs in the
        runner's event loop, so preparation that plays episodes awaits :func:`agentgym.aevaluate` (never
        :func:`agentgym.evaluate`); outside a running loop, ``asyncio.run(Agent.factory(...))``.
        """
        return lambda: cls(policy, **settings)

    def reset(self, observation: str, info: dict[str, Any], context: EpisodeContext) -> None:
        """Start a new episode (called after ``env.reset``).

        Keeps ``context`` and hands the policy the episode's expert (:meth:`Policy.with_expert`: only policies
        that answer with the expert's actions use it); subclasses call it first.
        """
        self.context = context
        self.policy = self.policy.with_expert(context.expert_action)

    @abstractmethod
    async def act(self, observation: str, info: dict[str, Any]) -> AgentStep:
        """Return the next action given the latest observation and info."""

    async def after_episode(self, record: dict[str, Any]) -> str | None:
        """Called with each finished episode's record.

        In a multi-trial run, what it returns after a failed trial reaches the next trial of the same task in
        ``context.memory`` (and is saved in the record as ``memory``, so that resumed runs have it too).
        """
        return None

    def request(self, content: str, *, sampling: Sampling | None = None) -> Request:
        """Build a one-message request."""
        return Request([{"role": "user", "content": content}], sampling or Sampling())

    def config(self) -> dict[str, Any]:
        """Return the settings that identify this agent in run records."""
        return {"name": self.name}


def _usage(completion: Completion) -> list[dict[str, Any]]:
    return [completion.usage()]


class ExpertAgent(Agent):
    """Plays the env's scripted expert (``env.unwrapped.expert_action()``), read from its episode context.

    The policy is never asked (any policy will do; runs name ``expert``, the default).
    """

    name = "expert"

    async def act(self, observation: str, info: dict[str, Any]) -> AgentStep:
        """Return the expert's next action (an empty, invalid action if the expert has none)."""
        assert self.context is not None, "reset() first"
        return AgentStep(action=await self.context.expert_action() or "")


class DirectAgent(Agent):
    """Asks the policy for the next action given the latest observation; the first non-empty line is it.

    The simplest LLM agent (no history, no reasoning): a smoke test for policies, and with ``--policy random``
    a random baseline (it offers ``info["admissible_actions"]`` as choices when the env lists them).
    """

    name = "direct"

    async def act(self, observation: str, info: dict[str, Any]) -> AgentStep:
        """Query the policy once and take the first non-empty line of its answer."""
        request = self.request(observation)
        request.choices = info.get("admissible_actions")
        completion = (await self.policy.agenerate([request]))[0]
        lines = [line.strip() for line in completion.text.splitlines() if line.strip()]
        return AgentStep(action=lines[0] if lines else "", response=completion.text, usage=_usage(completion))


def _agents() -> dict[str, type[Agent] | str]:
    """The core's agents, then every plugin's (``"module:Class"`` strings, imported on first lookup)."""
    from agentgym.plugins import collect, merge

    core: dict[str, type[Agent] | str] = {"expert": ExpertAgent, "direct": DirectAgent}
    return merge("agent", [("agentgym", core), *((plugin.name, plugin.agents) for plugin in collect())])


#: Agents by name: the core's and the plugins'. Values are classes or lazy ``"module:Class"`` strings.
AGENTS: Registry[type[Agent]] = Registry("agent", _agents, lazy=True, forms=lambda names: [*names, "'module:Class'"])


def resolve_agent(spec: str | type[Agent]) -> type[Agent]:
    """Return the agent class for a name (``"expert"``), a ``"module:Class"`` path, or a class.

    Raises:
        NameNotFound: (a KeyError) for an unknown name.
        SettingError: (a ValueError) for a path that cannot be imported or does not name an :class:`Agent`
            subclass.
    """
    try:
        if isinstance(spec, type):
            target: Any = spec
        elif spec in AGENTS or ":" not in spec:
            target = AGENTS[spec]
        else:
            target = load_attribute(spec)
    except (ImportError, AttributeError) as e:
        raise SettingError(f"cannot load agent {spec!r}: {e}") from e
    if not (isinstance(target, type) and issubclass(target, Agent)):
        raise SettingError(f"{spec!r} is not an agentgym.agent.Agent subclass")
    return target
