r"""ReAct's and Reflexion's WebShop loop, as ReAct's ``WebShop.ipynb`` and Reflexion's ``webshop_runs`` run it.

ReAct's ``webshop_run`` (Reflexion's ``webshop_trial.py`` copies it) defines the protocol the ``react-webshop``
and ``reflexion-webshop`` presets re-run, on ``agentgym/WebShop-v0`` with ``observation_mode="react",
client_rules=True`` (pages as ReAct's client renders them, actions accepted and refused by its rules):

- The prompt is one string: the base prompt (ReAct's ``prompt1``; Reflexion's ``base_prompt.txt``, the same
  text) followed by the window ``transcript[-(6400 - len(base)):]`` of the transcript: the first observation
  and ``\n\nAction:``, then per step `` {action}\nObservation: {observation}\n\nAction:``. A chat model gets it
  as one user message; stop ``"\n"``, 100 tokens; the reply, ``.lstrip(" ")``, is the action.
- ReAct asks once at temperature 0; Reflexion's ``llm()`` asks again at temperature +0.2 while the reply is
  shorter than 5 characters (stripped), 6 tries in all, else the action is empty.
- 15 iterations with the reset counted: at most 14 actions (the original also asks for a 15th it never plays;
  that call is not made here). Actions starting ``think`` are answered ``OK.`` (by the env) and cost a step.
- Score: the reward at the purchase; success: reward 1.0.
- Reflexion, after a failed trial: one completion (temperature 0, 256 tokens, no stop) of
  ``generate_reflections.py``'s query: its header, ``reflection_few_shot_examples.txt``, ``Instruction:`` and
  the scenario (the trial log's entry of the episode after its last ``Instruction:``, i.e. from the last time
  the search page was shown), the last 3 earlier reflections as ``Plans from past attempts``, ``New plan:``.
  **The reflections never reach the actor**: ``webshop_run`` puts the memory into ``EnvironmentHistory``,
  which only the trial log prints; the actor's prompt is the base prompt and the transcript. This is
  reproduced: Reflexion on WebShop differs from ReAct only by the retries.

With ``prompts="agentgym"`` the same protocol runs on agentgym's WebShop instruction (zero-shot) and its
reflection instruction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, ClassVar

from agentgym.agent import Agent, AgentStep, EpisodeContext, RunSetup
from agentgym.baselines import paper_prompts
from agentgym.baselines.alfworld_harness import (
    MEMORY_SIZE,
    MIN_REPLY_CHARS,
    TEMPERATURE_STEP,
    TRIES,
    complete_with_retries,
    reflection_prompt,
    with_past_plans,
)
from agentgym.baselines.prompts import WEBSHOP_INSTRUCTION
from agentgym.baselines.reflexion import REFLECTION_INSTRUCTION
from agentgym.policies import Completion, Policy, Request, Sampling

#: The prompt files of the papers' protocol (names in the ``prompts`` dataset) and ReAct's prompt's name.
REACT_NOTEBOOK, REACT_PROMPT = "react/WebShop.ipynb", "prompt1"
BASE_PROMPT_FILE = "reflexion/webshop_base_prompt.txt"
REFLECTION_EXAMPLES_FILE = "reflexion/webshop_reflection_few_shot_examples.txt"
REFLECTION_CODE_FILE = "reflexion/webshop_generate_reflections.py"

#: ``webshop_run``'s transcript window (characters, the base prompt included) and ``llm()``'s ``max_tokens``.
WINDOW, MAX_TOKENS = 6400, 100
#: ``get_completion``'s ``max_tokens`` (the reflection).
REFLECTION_MAX_TOKENS = 256
#: The env settings the protocol needs: ReAct's client's pages and action rules.
ENV_KWARGS = {"observation_mode": "react", "client_rules": True}

# The transcript's and the trial log's format strings (webshop_run, env_history.py, webshop_trial.py).
FIRST_TURN = "{observation}\n\nAction:"
TURN = " {action}\nObservation: {observation}\n\nAction:"
MEMORY_HEADER = "\nYour memory for the task below:"
TASK_HEADER = "\nHere is the task:\n"
RESET = "reset"
SCENARIO_MARK = "Instruction:"
FAILED = "\n\nSTATUS: FAIL\n\n"


def window(base: str, transcript: str) -> str:
    """The actor's prompt: ``init_prompt + prompt[-(6400-len(init_prompt)):]``."""
    return base + transcript[-(WINDOW - len(base)) :]


def trial_log_entry(base: str, first_observation: str, memory: list[str], steps: list[tuple[str, str]]) -> str:
    """``str(EnvironmentHistory)`` of an episode: the query (with the memory block), ``> reset`` and the steps."""
    query = base
    if memory:
        query += MEMORY_HEADER + "".join(f"\nTrial {i}:\n{note.strip()}" for i, note in enumerate(memory))
    query += TASK_HEADER + first_observation
    items = [f"> {RESET}", first_observation] + [item for a, o in steps for item in (f"> {a}", o)]
    return f"{query}\n" + "\n".join(items)


def scenario(entry: str) -> str:
    """``_get_scenario``: the failed episode's log entry after its last ``Instruction:``, stripped."""
    return (entry + FAILED).split(SCENARIO_MARK)[-1].strip()


class WebShopReActAgent(Agent):
    """ReAct on WebShop as ReAct's notebook runs it (see the module docstring).

    Args:
        policy: the LLM.
        prompts: ``"paper"`` (the original files; ``agentgym data download prompts``) or ``"agentgym"``.
        max_tokens: new tokens per reply.
    """

    name = "react-webshop"
    #: The prompt files this agent's paper protocol reads.
    prompt_files: ClassVar[tuple[str, ...]] = (REACT_NOTEBOOK,)
    #: Replies shorter than 5 characters are asked again (Reflexion's ``llm()``), or not (ReAct's).
    retries: ClassVar[bool] = False

    def __init__(self, policy: Policy, *, prompts: str = paper_prompts.PAPER, max_tokens: int = MAX_TOKENS) -> None:
        """See the class docstring."""
        super().__init__(policy)
        self.choice = paper_prompts.PromptChoice(prompts, self.prompt_files)
        self.choice.require()
        self.max_tokens = max_tokens
        self.base = self.base_prompt()
        self.first_observation = ""
        self.transcript = ""
        self.steps: list[tuple[str, str]] = []

    @classmethod
    async def factory(cls, policy: Policy, setup: RunSetup, **settings: Any) -> Callable[[], Agent]:
        """Check the prompt files and the env settings once for the run, then make agents.

        Raises:
            ValueError: the env is not WebShop with ReAct's client pages and rules (:data:`ENV_KWARGS`).
        """
        paper_prompts.PromptChoice(settings.get("prompts", paper_prompts.PAPER), cls.prompt_files).require()
        missing = {k: v for k, v in ENV_KWARGS.items() if setup.env_kwargs.get(k) != v}
        if setup.env_name != "webshop" or missing:
            raise ValueError(
                f"--agent {cls.name} plays agentgym/WebShop-v0 with env kwargs {ENV_KWARGS} (ReAct's client); "
                f"got {setup.env_id} with {setup.env_kwargs}: use --preset {cls.name}"
            )
        return lambda: cls(policy, **settings)

    def base_prompt(self) -> str:
        """ReAct's ``prompt1`` (or agentgym's WebShop instruction)."""
        if self.choice.paper:
            return paper_prompts.notebook_strings(REACT_NOTEBOOK)[REACT_PROMPT]
        return f"{WEBSHOP_INSTRUCTION}\n\n"

    def reset(self, observation: str, info: dict[str, Any], context: EpisodeContext) -> None:
        """Start an episode: the transcript opens with the first observation."""
        super().reset(observation, info, context)
        self.first_observation = observation
        self.transcript = FIRST_TURN.format(observation=observation)
        self.steps = []

    def prompt(self) -> str:
        """The string the policy completes."""
        return window(self.base, self.transcript)

    async def act(self, observation: str, info: dict[str, Any]) -> AgentStep:
        """Record the last step's observation, then complete the prompt into the next action."""
        if self.steps:
            action = self.steps[-1][0]
            self.steps[-1] = (action, observation)
            self.transcript += TURN.format(action=action, observation=observation)
        text, completions = await self.complete(self.prompt())
        action = text.lstrip(" ")
        self.steps.append((action, ""))
        return AgentStep(action, response=text, usage=[c.usage() for c in completions])

    async def complete(self, prompt: str) -> tuple[str, list[Completion]]:
        """One completion at temperature 0 (ReAct), or Reflexion's ``llm()`` with its retries."""
        if self.retries:
            return await complete_with_retries(self.policy, prompt, max_tokens=self.max_tokens)
        sampling = Sampling(temperature=0.0, max_tokens=self.max_tokens, stop=("\n",))
        request = Request([{"role": "user", "content": prompt}], sampling)
        completion = (await self.policy.agenerate([request]))[0]
        return completion.text, [completion]

    def config(self) -> dict[str, Any]:
        """The protocol's settings, the prompt files (source and sha256) and a hash of the base prompt."""
        return {
            "name": self.name,
            **self.choice.card(),
            "max_tokens": self.max_tokens,
            "temperature": 0.0,
            "stop": ["\n"],
            "window_chars": WINDOW,
            "retries": self.retries
            and {"tries": TRIES, "temperature_step": TEMPERATURE_STEP, "min_reply_chars": MIN_REPLY_CHARS},
            "env_kwargs": dict(ENV_KWARGS),
            "prompt_sha256": hashlib.sha256(self.base.encode()).hexdigest()[:16],
        }


class WebShopReflexionAgent(WebShopReActAgent):
    """Reflexion on WebShop as ``webshop_runs`` runs it: the actor never sees the reflections (module docstring).

    Args:
        policy: the LLM (actor and reflections).
        **settings: see :class:`WebShopReActAgent`.
    """

    name = "reflexion-webshop"
    prompt_files = (BASE_PROMPT_FILE, REFLECTION_EXAMPLES_FILE, REFLECTION_CODE_FILE)
    retries = True

    def __init__(self, policy: Policy, **settings: Any) -> None:
        """See the class docstring."""
        super().__init__(policy, **settings)
        if self.choice.paper:
            self.reflection_examples, self.reflection_template = reflection_prompt(
                REFLECTION_EXAMPLES_FILE, REFLECTION_CODE_FILE
            )

    def base_prompt(self) -> str:
        """Reflexion's ``base_prompt.txt`` (or agentgym's WebShop instruction)."""
        return paper_prompts.text(BASE_PROMPT_FILE) if self.choice.paper else super().base_prompt()

    def memory(self) -> list[str]:
        """The last 3 reflections of earlier trials of this task (for the trial log and the reflection only)."""
        return self.context.memory[-MEMORY_SIZE:] if self.context else []

    async def after_episode(self, record: dict[str, Any]) -> str | None:
        """After a failed trial, the reflection (the completion as it comes, as the original stores it)."""
        if record["won"] or self.context is None:
            return None
        completion = (await self.policy.agenerate([self.reflection_request(record)]))[0]
        return completion.text

    def reflection_request(self, record: dict[str, Any]) -> Request:
        """The reflection query for the episode just played (``record`` gives its last observation)."""
        steps = [*self.steps[:-1], (self.steps[-1][0], record["final_observation"])] if self.steps else []
        entry = trial_log_entry(self.base, self.first_observation, self.memory(), steps)
        failed = scenario(entry)
        if self.choice.paper:
            query = self.reflection_template.format(FEW_SHOT_EXAMPLES=self.reflection_examples, scenario=failed)
        else:
            query = f"{REFLECTION_INSTRUCTION}\n\n{SCENARIO_MARK} {failed}"
        query = with_past_plans(query, self.memory())
        sampling = Sampling(temperature=0.0, max_tokens=REFLECTION_MAX_TOKENS)
        return Request([{"role": "user", "content": query}], sampling)
