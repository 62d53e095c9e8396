"""The ETO agent: ETO's evaluation protocol (Song et al., ACL 2024; ``eval_agent/`` of its repository).

ETO evaluates (and trains) a policy on a chat whose first turns are its instruction and one in-context example,
as ``eval_agent``'s ``prompt_with_icl`` lays them out in its ``conversation`` format:

- user: the instruction file's text; assistant: ``OK``;
- the example's turns, the example task and each observation as user turns, each ``Thought: ... / Action: ...``
  as an assistant turn;
- user: the task (ALFWorld: the first observation without its banner; WebShop: the first page; ScienceWorld: the
  task description alone);
- then the policy's raw reply and the next observation, with ETO's prefix (``Observation: `` or, on WebShop,
  ``Observation:`` and a newline), turn after turn.

The action is what follows ``Action:`` in the reply (ETO's pattern per env). A reply without one costs a step, as
in ETO, and is answered with ETO's format error instead of the env's observation: the agent then sends the env an
empty action, which every env treats as an invalid action (a step, no change of state). ALFWorld's arrival sentence
is stripped as ETO's ``process_ob`` strips it on the 2.1.1 games its model was trained on (``You arrive at loc 5.``);
the games played here name the place (``You arrive at desk 1.``), and that sentence is stripped.

The instruction and the example are the files of ETO's repository (``agentgym data download prompts``), read as
data; ``prompts="agentgym"`` uses this project's instruction and an expert demonstration instead, for any env.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agentgym.actions import FREE_TEXT, ActionGrammar, grammar_of
from agentgym.agent import Agent, AgentStep, EpisodeContext, RunSetup
from agentgym.baselines import paper_prompts
from agentgym.baselines.demos import demonstrations
from agentgym.baselines.prompts import instruction
from agentgym.baselines.react import MAX_TOKENS, action_rewrites
from agentgym.envs.alfworld.actions import ALFWORLD_ACTIONS
from agentgym.policies import Message, Policy, Request, Sampling
from agentgym.validate import integer, number

#: The assistant's answer to the instruction turn in ETO's layout.
ACKNOWLEDGEMENT = "OK"

_ARRIVAL = re.compile(r"^You arrive at [^.]*\. ")


@dataclass(frozen=True)
class EtoEnvProtocol:
    """What ETO's ``eval_agent`` env wrapper does for one benchmark.

    Attributes:
        files: the instruction and in-context example files (``None`` for a benchmark ETO did not run).
        action_pattern: the pattern whose first group is the action (ETO's ``parse_action``).
        observation_prefix: put before each observation.
        format_error: the observation for a reply without an action.
        task_is_description: the task turn is the task description alone (``info["task"]``), not the first
            observation.
        clean_observation: applied to each observation before its prefix.
        rewrites: the default action rewrites (names the env's grammar or the common ones know).
        grammar: the benchmark's action grammar, whose rewrites ``rewrites`` names.
    """

    files: tuple[str, str] | None
    action_pattern: re.Pattern[str] = re.compile(r"Action: (.*)", re.DOTALL)
    observation_prefix: str = "Observation: "
    format_error: str = "Observation: Invalid format. The input must contains 'Action: '"
    task_is_description: bool = False
    clean_observation: Callable[[str], str] = str
    rewrites: tuple[str, ...] = ()
    grammar: ActionGrammar = FREE_TEXT


#: ETO's three benchmarks, as ``eval_agent/envs/*_env.py`` and ``eval_agent/configs/task/*.json`` define them.
PROTOCOLS: dict[str, EtoEnvProtocol] = {
    "alfworld": EtoEnvProtocol(
        files=("eto/alfworld_inst.txt", "eto/alfworld_icl.json"),
        action_pattern=re.compile(r"Action:\s?(.*)", re.DOTALL),
        format_error="Observation: Error Input. Your input must contains 'Action: '",
        clean_observation=lambda observation: _ARRIVAL.sub("", observation, count=1),
        rewrites=("alfworld-put-as-move",),
        grammar=ALFWORLD_ACTIONS,
    ),
    "webshop": EtoEnvProtocol(
        files=("eto/webshop_inst.txt", "eto/webshop_icl.json"),
        observation_prefix="Observation:\n",
    ),
    "sciworld": EtoEnvProtocol(
        files=("eto/sciworld_inst.txt", "eto/sciworld_icl.json"),
        task_is_description=True,
    ),
}

#: Benchmarks ETO did not run get its ALFWorld-style parsing with this project's prompts.
GENERIC_PROTOCOL = EtoEnvProtocol(files=None)

PROMPT_CHOICES = ("eto", "agentgym")


@dataclass(frozen=True)
class EtoPrompt:
    """The instruction and the in-context example's turns (user, assistant, user, ...), and their sources."""

    instruction: str
    example: tuple[str, ...]
    sources: tuple[dict[str, str], ...] = ()

    def sha256(self) -> str:
        """A hash of the instruction and the example: two runs with equal hashes saw the same prompt."""
        return hashlib.sha256("\x00".join((self.instruction, *self.example)).encode()).hexdigest()[:16]


def protocol(env_name: str) -> EtoEnvProtocol:
    """ETO's protocol for ``env_name`` (the generic one for a benchmark ETO did not run)."""
    return PROTOCOLS.get(env_name, GENERIC_PROTOCOL)


def paper_prompt(env_name: str) -> EtoPrompt:
    """ETO's instruction and first in-context example for ``env_name``, read from its repository's files.

    ETO evaluates with one example (``prompt_with_icl(..., icl_num=1)``): the first of the file's examples; its
    turns alternate user and assistant whatever their ``role``/``from`` keys say, as ``prompt_with_icl`` reads them.

    Raises:
        ValueError: ETO did not run ``env_name``.
        DataNotFound: the prompts dataset is not installed (the message gives the command).
    """
    files = protocol(env_name).files
    if files is None:
        raise ValueError(
            f"ETO's prompt files cover {', '.join(PROTOCOLS)}, not {env_name!r}: use --agent-arg prompts=agentgym"
        )
    instruction_file, examples_file = files
    example = tuple(turn["content"] for turn in paper_prompts.json_file(examples_file)[0])
    sources = tuple(paper_prompts.source(name).as_card() for name in files)
    return EtoPrompt(paper_prompts.text(instruction_file), example, sources)


async def project_prompt(setup: RunSetup) -> EtoPrompt:
    """This project's instruction and one expert demonstration of the run's tasks, in ETO's layout."""
    demos = (await demonstrations(setup, [None], shots=1))[None]
    example: list[str] = []
    for demo in demos[:1]:
        example.append(demo.first_observation)
        for thought, action, observation in demo.steps:
            example += [f"Thought: {thought}\nAction: {action}", f"Observation: {observation}"]
    return EtoPrompt(instruction(setup.env_name), tuple(example[:-1]))  # ETO's examples end with a reply


@dataclass
class _Turn:
    reply: str
    observation: str = ""


class EtoAgent(Agent):
    """ETO's evaluation protocol: instruction and example as chat turns, raw replies, ETO's observation text.

    Args:
        policy: the LLM.
        prompts: ``"eto"`` (ETO's files) or ``"agentgym"`` (this project's instruction and an expert example).
        temperature: sampling temperature (ETO: 0 to evaluate, 0.7 for its exploration config).
        max_tokens: new tokens per reply (ETO: 512).
        rewrites: names of rewrites (the env's grammar's or the common ones) applied to every action
            (``None``: the env's default; ALFWorld: ``alfworld-put-as-move``, ETO's ``put X in/on Y`` written as
            the ``move X to Y`` of the games played here).
        prompt: the resolved prompt (normally built by :meth:`factory`).
        env_name: the benchmark (set by :meth:`factory`).
        grammar: the env's action grammar (set by :meth:`factory`; else the protocol's), whose rewrites
            ``rewrites`` may name.
    """

    name = "eto"

    def __init__(
        self,
        policy: Policy,
        *,
        prompts: str = "eto",
        temperature: float = 0.0,
        max_tokens: int = 512,
        rewrites: list[str] | tuple[str, ...] | None = None,
        prompt: EtoPrompt | None = None,
        env_name: str | None = None,
        grammar: ActionGrammar | None = None,
    ) -> None:
        """See the class docstring."""
        super().__init__(policy)
        if prompts not in PROMPT_CHOICES:
            raise ValueError(f"prompts must be one of {', '.join(PROMPT_CHOICES)}, got {prompts!r}")
        self.protocol = protocol(env_name or "")
        self.rewrites = self.protocol.rewrites if rewrites is None else tuple(rewrites)
        self.rewrite_steps = action_rewrites(grammar or self.protocol.grammar, self.rewrites)
        self.prompts = prompts
        self.temperature = number("temperature", temperature, low=0)
        self.max_tokens = integer("max_tokens", max_tokens, low=1, high=MAX_TOKENS)
        self.prompt = prompt
        self.env_name = env_name
        self.task = ""
        self.turns: list[_Turn] = []

    @classmethod
    async def factory(cls, policy: Policy, setup: RunSetup, **settings: Any) -> Callable[[], Agent]:
        """Read the prompt files (or build this project's example) once for the run, then make agents."""
        settings.setdefault("env_name", setup.env_name)
        settings.setdefault("grammar", grammar_of(setup.env_id))
        if "prompt" not in settings:
            prompts = settings.get("prompts", "eto")
            settings["prompt"] = paper_prompt(setup.env_name) if prompts == "eto" else await project_prompt(setup)
        return lambda: cls(policy, **settings)

    def reset(self, observation: str, info: dict[str, Any], context: EpisodeContext) -> None:
        """Start an episode: the task turn is the first observation, or ScienceWorld's task description."""
        super().reset(observation, info, context)
        self.task = info["task"] if self.protocol.task_is_description else observation
        self.turns = []

    def messages(self) -> list[Message]:
        """The chat so far: instruction, ``OK``, the example, the task, then replies and observations."""
        assert self.prompt is not None, "made without a prompt: use EtoAgent.factory"
        contents = [self.prompt.instruction, ACKNOWLEDGEMENT, *self.prompt.example, self.task]
        for turn in self.turns:
            contents += [turn.reply, turn.observation] if turn.observation else [turn.reply]
        return [
            {"role": "user" if index % 2 == 0 else "assistant", "content": content}
            for index, content in enumerate(contents)
        ]

    def prompt_messages(self) -> int:
        """How many messages precede the episode's first reply (the prompt of a DPO pair)."""
        assert self.prompt is not None
        return len(self.prompt.example) + 3

    def parse_action(self, reply: str) -> str | None:
        """The action of ``reply`` as ETO's ``parse_action`` finds it, or ``None`` without ``Action:``."""
        match = self.protocol.action_pattern.search(reply.strip())
        return match.group(1) if match else None

    def add_reply(self, reply: str, observation: str, *, formatted: bool = False) -> None:
        """Append a reply and the env's answer to it (as shown to the policy when ``formatted``)."""
        self.turns.append(_Turn(reply, observation if formatted else self.observation_text(reply, observation)))

    def observation_text(self, reply: str, observation: str) -> str:
        """The user turn that answers ``reply``: ETO's format error, or the prefixed, cleaned observation."""
        if self.parse_action(reply) is None:
            return self.protocol.format_error
        return self.protocol.observation_prefix + self.protocol.clean_observation(observation)

    async def act(self, observation: str, info: dict[str, Any]) -> AgentStep:
        """Ask the policy for the next reply; its action goes to the env (an empty one without ``Action:``)."""
        if self.turns:
            last = self.turns[-1]
            last.observation = self.observation_text(last.reply, observation)
        sampling = Sampling(temperature=self.temperature, max_tokens=self.max_tokens)
        completion = (await self.policy.agenerate([Request(self.messages(), sampling)]))[0]
        self.turns.append(_Turn(completion.text))
        action = self.parse_action(completion.text)
        for rewrite in self.rewrite_steps:
            action = action if action is None else rewrite(action)
        return AgentStep(action or "", response=completion.text, usage=[completion.usage()])

    def config(self) -> dict[str, Any]:
        """The settings that identify this agent in run records, with the prompt files' sources."""
        return {
            "name": self.name,
            "prompts": self.prompts,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "rewrites": list(self.rewrites),
            "prompt_files": list(self.prompt.sources) if self.prompt else [],
            "prompt_sha256": self.prompt.sha256() if self.prompt else None,
        }
