r"""The ALFWorld harness of ReAct and Reflexion, as ``noahshinn/reflexion`` ``alfworld_runs/`` runs it.

Reflexion's ``alfworld_trial.py`` / ``env_history.py`` / ``generate_reflections.py`` (adapted from ReAct's
``alfworld.ipynb``) define the protocol the ``react-alfworld`` and ``reflexion-alfworld`` presets re-run:

- The prompt is one string: the instruction line, the ``react_<type>_1`` and ``react_<type>_0`` demonstrations of
  the game's task type from ``alfworld_3prompts.json``, the memory block (the last 3 reflections), the task header,
  the first observation, then the episode as ``> action`` / observation lines, and ``>`` (joined to the last
  observation without a newline, as ``str(EnvironmentHistory) + ">"`` does). A chat model gets it as one user
  message; the reply ends at the first newline (stop ``"\n"``) and is stripped.
- A reply shorter than 5 characters (stripped) is asked again at temperature +0.2, 6 tries in all; after that the
  action is empty.
- ``think: ...`` costs a step and is answered ``OK.`` (the agent answers it: the runner records and counts it).
- 49 steps; an action equal to the previous one is played, then the episode ends (failed unless it won).
- Observations lose their leading arrival sentence (``process_ob``: ``You arrive at loc 5. ``; the 2.1.2 games
  this env plays say ``You arrive at desk 1. ``).
- The paper's demonstrations say ``put X in/on Y``, which the 2.1.2 games answer with ``Nothing happens.``: the
  ``alfworld-put-as-move`` rewrite sends ``move X to Y`` instead (on by default; the card lists it). The prompt
  keeps the model's own words.
- Reflexion, after a failed trial: one completion (temperature 0, 256 tokens, no stop) of the reflection query, the
  original's header and few-shot examples file, the failed episode as the original's log shows it (the whole
  trajectory after ``Here is the task:``, then ``STATUS: FAIL``), the last 3 earlier reflections, ``New plan:``.

With ``prompts="agentgym"`` the same protocol runs on agentgym's own text: its ALFWorld instruction, two expert
demonstrations of the task type (:mod:`agentgym.baselines.demos`) and its reflection instruction, no examples.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, ClassVar

from agentgym.agent import Agent, AgentStep, EpisodeContext, RunSetup
from agentgym.baselines import paper_prompts
from agentgym.baselines.demos import Demonstration, demonstrations
from agentgym.baselines.prompts import ALFWORLD_INSTRUCTION, task_group
from agentgym.baselines.react import action_rewrites
from agentgym.baselines.reflexion import REFLECTION_INSTRUCTION
from agentgym.envs.alfworld.actions import ALFWORLD_ACTIONS
from agentgym.envs.alfworld.games import TASK_TYPES
from agentgym.policies import Completion, Policy, Request, Sampling

#: The prompt files of the paper's protocol (names in the ``prompts`` dataset).
DEMOS_FILE = "reflexion/alfworld_3prompts.json"
REFLECTION_EXAMPLES_FILE = "reflexion/alfworld_reflexion_few_shot_examples.txt"
REFLECTION_CODE_FILE = "reflexion/alfworld_generate_reflections.py"

# The harness's format strings (alfworld_trial.py's base prompt head, env_history.py's headers).
INSTRUCTION_LINE = "Interact with a household to solve a task. Here are two examples.\n"
MEMORY_HEADER = "\n\nYour memory for the task below:"
TASK_HEADER = "Here is the task:"
THINK_PREFIX = "think:"
THINK_ANSWER = "OK."
PAST_PLANS_HEADER = "\n\nPlans from past attempts:\n"
NEW_PLAN = "\n\nNew plan:"

#: alfworld_trial.py's ``PREFIXES``: the game folder's prefix -> the demonstrations' key.
DEMO_KEYS = (
    ("pick_and_place", "put"),
    ("pick_clean_then_place", "clean"),
    ("pick_heat_then_place", "heat"),
    ("pick_cool_then_place", "cool"),
    ("look_at_obj", "examine"),
    ("pick_two_obj", "puttwo"),
)
#: ``llm()``: tries per action, the temperature added per retry, the shortest reply accepted (stripped).
TRIES, TEMPERATURE_STEP, MIN_REPLY_CHARS = 6, 0.2, 5
#: ``alfworld_run``'s step budget and ``get_chat``/``get_completion``'s ``max_tokens``.
MAX_STEPS, MAX_TOKENS = 49, 256
#: Reflections shown to the actor and to the reflection query (``memory[-3:]``).
MEMORY_SIZE = 3


def demo_key(task_id: str) -> str:
    """The demonstrations' key (``put``, ``clean``, ...) of a game, from its folder name as the original matches it.

    Raises:
        ValueError: for a task id whose folder matches no prefix.
    """
    folder = task_id.split("/")[1] if task_id.count("/") >= 2 else task_id
    for prefix, key in DEMO_KEYS:
        if folder.startswith(prefix):
            return key
    raise ValueError(f"no ALFWorld task type in {task_id!r}")


def process_observation(observation: str) -> str:
    """Drop the leading arrival sentence (``You arrive at loc 5. `` / ``You arrive at desk 1. ``), as process_ob."""
    if observation.startswith("You arrive at ") and ". " in observation:
        return observation[observation.find(". ") + 2 :]
    return observation


def base_query(base_prompt: str, first_observation: str, memory: list[str]) -> str:
    """The prompt's fixed head: base prompt, memory block (``Trial i:`` counts within ``memory``), task, observation."""
    query = base_prompt
    if memory:
        query += MEMORY_HEADER
        for i, note in enumerate(memory):
            query += f"\nTrial {i}:\n{note.strip()}"
    return query + f"\n{TASK_HEADER}\n{first_observation}"


def history_text(query: str, history: list[tuple[str, str | None]]) -> str:
    """``str(EnvironmentHistory)``: the query, a newline, then ``> action`` and observation lines joined by newlines."""
    items = [item for action, observation in history for item in (f"> {action}", observation) if item is not None]
    return f"{query}\n" + "\n".join(items)


def scenario(query: str, history: list[tuple[str, str | None]]) -> str:
    """The failed episode as the reflection sees it: the trial log's entry after its last ``Here is the task:``."""
    entry = f"\n\nEnvironment #0:\n{history_text(query, history)}\n\nSTATUS: FAIL\n\n"
    return entry.split(TASK_HEADER)[-1].strip()


class ALFWorldReActAgent(Agent):
    """ReAct on ALFWorld with the harness of Reflexion's ``alfworld_runs`` (see the module docstring).

    Args:
        policy: the LLM.
        prompts: ``"paper"`` (the original files; ``agentgym data download prompts``) or ``"agentgym"``.
        demos: agentgym's demonstrations by task type (``prompts="agentgym"``; built by :meth:`factory`).
        rewrites: names of rewrites applied to the action sent to the env (ALFWorld's grammar's and the common ones).
        max_tokens: new tokens per reply.
    """

    name = "react-alfworld"
    #: The prompt files this agent's paper protocol reads, and the one of them with the demonstrations.
    prompt_files: ClassVar[tuple[str, ...]] = (DEMOS_FILE,)
    demos_file: ClassVar[str] = DEMOS_FILE

    def __init__(
        self,
        policy: Policy,
        *,
        prompts: str = paper_prompts.PAPER,
        demos: dict[str | None, list[Demonstration]] | None = None,
        rewrites: list[str] | tuple[str, ...] = ("alfworld-put-as-move",),
        max_tokens: int = MAX_TOKENS,
    ) -> None:
        """See the class docstring."""
        super().__init__(policy)
        self.rewrite_steps = action_rewrites(ALFWORLD_ACTIONS, rewrites)
        self.choice = paper_prompts.PromptChoice(prompts, self.prompt_files)
        self.choice.require()
        self.demos = demos or {}
        self.rewrites = tuple(rewrites)
        self.max_tokens = max_tokens
        self.paper_demos: dict[str, str] = paper_prompts.json_file(self.demos_file) if self.choice.paper else {}
        self.query = ""
        self.history: list[tuple[str, str | None]] = []

    @classmethod
    async def factory(cls, policy: Policy, setup: RunSetup, **settings: Any) -> Callable[[], Agent]:
        """Check the prompt files (or build agentgym's demonstrations) once for the run, then make agents."""
        prompts = settings.get("prompts", paper_prompts.PAPER)
        paper_prompts.PromptChoice(prompts, cls.prompt_files).require()
        if prompts == paper_prompts.AGENTGYM and "demos" not in settings:
            groups = {task_group(setup.env_name, t) for t in setup.task_ids}
            settings["demos"] = await demonstrations(setup, groups, shots=2)
        return lambda: cls(policy, **settings)

    def reset(self, observation: str, info: dict[str, Any], context: EpisodeContext) -> None:
        """Start an episode: the prompt's head is fixed from here on."""
        super().reset(observation, info, context)
        self.query = base_query(self.base_prompt(context.task_id), observation, self.memory())
        self.history = []

    def memory(self) -> list[str]:
        """The reflections the prompt shows (none for ReAct)."""
        return []

    def base_prompt(self, task_id: str) -> str:
        """The instruction line and the two demonstrations of the task's type."""
        if self.choice.paper:
            key = demo_key(task_id)
            return INSTRUCTION_LINE + self.paper_demos[f"react_{key}_1"] + self.paper_demos[f"react_{key}_0"]
        shown = self.demos.get(task_group("alfworld", task_id), [])
        return f"{ALFWORLD_INSTRUCTION}\n" + "".join(_demo_text(d) for d in shown)

    def prompt(self) -> str:
        """The string the policy completes."""
        return history_text(self.query, self.history) + ">"

    async def act(self, observation: str, info: dict[str, Any]) -> AgentStep:
        """Complete the prompt into the next action; ``think:`` is answered here, a repeated action ends the episode."""
        if self.history:
            self.history[-1] = (self.history[-1][0], process_observation(observation))
        text, completions = await self.complete(self.prompt())
        action = text.strip()
        repeated = action == (self.history[-1][0] if self.history else "")
        self.history.append((action, None))
        usage = [c.usage() for c in completions]
        if action.startswith(THINK_PREFIX):
            return AgentStep(action, response=text, usage=usage, observation=THINK_ANSWER, final=repeated)
        sent = action
        for rewrite in self.rewrite_steps:
            sent = rewrite(sent)
        return AgentStep(sent, response=text, usage=usage, final=repeated)

    async def complete(self, prompt: str) -> tuple[str, list[Completion]]:
        """``llm()``: ask until the reply has 5 characters, raising the temperature by 0.2 each time; else ``""``."""
        return await complete_with_retries(self.policy, prompt, max_tokens=self.max_tokens)

    def config(self) -> dict[str, Any]:
        """The protocol's settings, the prompt files (source and sha256) and a hash of every base prompt."""
        return {
            "name": self.name,
            **self.choice.card(),
            "demo_tasks": {str(g): [d.task_id for d in ds] for g, ds in sorted(self.demos.items(), key=str)},
            "max_tokens": self.max_tokens,
            "stop": ["\n"],
            "retries": {"tries": TRIES, "temperature_step": TEMPERATURE_STEP, "min_reply_chars": MIN_REPLY_CHARS},
            "think": {"prefix": THINK_PREFIX, "answer": THINK_ANSWER, "costs_a_step": True},
            "halt_on_repeated_action": True,
            "strip_arrival_sentence": True,
            "rewrites": list(self.rewrites),
            "memory_size": MEMORY_SIZE,
            "prompt_sha256": self.prompt_sha256(),
        }

    def prompt_sha256(self) -> str:
        """A hash of the base prompt of every task type."""
        heads = [self.base_prompt(f"split/{task_type}-Object-None-Receptacle-1/trial") for task_type in TASK_TYPES]
        return hashlib.sha256(json.dumps(heads).encode()).hexdigest()[:16]


class ALFWorldReflexionAgent(ALFWorldReActAgent):
    """Reflexion on ALFWorld: the same harness, plus a reflection after each failed trial (see the module docstring).

    Args:
        policy: the LLM (actor and reflections).
        **settings: see :class:`ALFWorldReActAgent`.
    """

    name = "reflexion-alfworld"
    prompt_files = (DEMOS_FILE, REFLECTION_EXAMPLES_FILE, REFLECTION_CODE_FILE)

    def __init__(self, policy: Policy, **settings: Any) -> None:
        """See the class docstring."""
        super().__init__(policy, **settings)
        if self.choice.paper:
            self.reflection_examples, self.reflection_template = reflection_prompt(
                REFLECTION_EXAMPLES_FILE, REFLECTION_CODE_FILE
            )

    def memory(self) -> list[str]:
        """The last 3 reflections of earlier trials of this task."""
        return self.context.memory[-MEMORY_SIZE:] if self.context else []

    async def after_episode(self, record: dict[str, Any]) -> str | None:
        """After a failed trial, the reflection (the completion as it comes, as the original stores it)."""
        if record["won"] or self.context is None or not self.history:
            return None
        completion = (await self.policy.agenerate([self.reflection_request(record)]))[0]
        return completion.text

    def reflection_request(self, record: dict[str, Any]) -> Request:
        """The reflection query for the episode just played (``record`` gives its last observation)."""
        history = [*self.history[:-1], (self.history[-1][0], process_observation(record["final_observation"]))]
        failed = scenario(self.query, history)
        if self.choice.paper:
            query = self.reflection_template.format(FEW_SHOT_EXAMPLES=self.reflection_examples, scenario=failed)
        else:
            query = f"{REFLECTION_INSTRUCTION}\n\n{failed}"
        query = with_past_plans(query, self.memory())
        return Request([{"role": "user", "content": query}], Sampling(temperature=0.0, max_tokens=self.max_tokens))


async def complete_with_retries(policy: Policy, prompt: str, *, max_tokens: int) -> tuple[str, list[Completion]]:
    r"""Reflexion's ``llm()``: ``prompt`` as one user message (stop ``"\n"``), retried while the reply is short.

    A reply shorter than 5 characters (stripped) is asked again at temperature +0.2, 6 tries in all; after that
    the reply is ``""``. Returns the reply and every completion.
    """
    completions = []
    for attempt in range(TRIES):
        sampling = Sampling(temperature=attempt * TEMPERATURE_STEP, max_tokens=max_tokens, stop=("\n",))
        request = Request([{"role": "user", "content": prompt}], sampling)
        completion = (await policy.agenerate([request]))[0]
        completions.append(completion)
        if len(completion.text.strip()) >= MIN_REPLY_CHARS:
            return completion.text, completions
    return "", completions


def reflection_prompt(examples_file: str, code_file: str) -> tuple[str, str]:
    """Reflexion's few-shot reflection examples and its ``_generate_reflection_query`` f-string as a template."""
    template = paper_prompts.fstring_template(code_file, "_generate_reflection_query", "query")
    return paper_prompts.text(examples_file), template


def with_past_plans(query: str, earlier: list[str]) -> str:
    """The end of ``_generate_reflection_query``: ``Plans from past attempts`` (``Trial #i: ...``), ``New plan:``."""
    if earlier:
        query += PAST_PLANS_HEADER + "".join(f"Trial #{i}: {note}\n" for i, note in enumerate(earlier))
    return query + NEW_PLAN


def _demo_text(demo: Demonstration) -> str:
    """An agentgym demonstration in the harness's transcript format."""
    lines = [demo.first_observation] + [f"> {action}\n{process_observation(obs)}" for _, action, obs in demo.steps]
    return "\n".join(lines) + "\n"
