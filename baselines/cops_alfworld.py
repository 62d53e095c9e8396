"""CoPS on ALFWorld as ``uclaml/COPS`` ``alfworld/alfworld_trial.py`` runs it (the ``cops-alfworld`` preset).

The actor (``alfworld_run``), with the authors' run command (``--use_success_trajectory --trajactory_search_method
knn --in_context_trajactory_size 5 --mem_size 0``):

- the first user message: the instruction line, ``react_<type>_1`` and ``react_<type>_0`` of
  ``alfworld_3prompts.json``, a newline, each drawn experience (a successful episode after its ``Here is the
  task:``, stripped) and a newline; every line of that block starting with ``>`` becomes a Llama-3 assistant turn
  (``replace_lines``: ``<|eot_id|>`` + assistant header + the line's rest + ``<|eot_id|>`` + user header); then
  ``Examples finished.``, ``Here is the task:``, the first observation and a newline;
- then the episode as chat turns: the action as an assistant message, the observation as a user message;
- a reply (stop ``<|eot_id|>``, 256 tokens) becomes its first non-empty line, stripped, without ``>``, with the words
  ``in``/``on`` of a ``put`` action written ``in/on``; an action equal to the previous one is sampled again with the
  temperature raised by 0.1 (the original loops until it differs; here at most ``max_resamples`` times, then the
  repeated action is played and the episode ends, Reflexion's rule);
- ``think:`` costs a step and is answered ``OK.``; arrival sentences are stripped; 49 steps.

Experience selection: every successful episode joins the bank, embedded whole (``str(EnvironmentHistory)`` after
``Here is the task:``); the query is the task's last failed episode (the same cut), or on its first trial its first
observation. The ``min(bank, k)`` most similar episodes (``1 / L2 distance``) get weights ``exp(c * similarity)``
(c = 5), and ``min(bank, k)`` draws with replacement follow them. The original adds a success to the bank as soon
as it happens, so a trial's later games see its earlier games' successes, in the loader's order; here trials are
barriers (``lockstep_trials``): trial t draws from the successes of trials before t only, which does not depend on
how episodes are scheduled. The paper embedded with gte-Qwen1.5-7B-instruct served at ``/v1/embeddings``
(``embedder=openai:...``); the default is all-MiniLM-L6-v2 on CPU, which embeds long episodes in windows.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from agentgym.agent import Agent, AgentStep, EpisodeContext, RunSetup
from agentgym.baselines.alfworld_harness import (
    MAX_TOKENS,
    THINK_ANSWER,
    THINK_PREFIX,
    ALFWorldReActAgent,
    base_query,
    demo_key,
    history_text,
    process_observation,
)
from agentgym.baselines.cops import selection_distribution
from agentgym.baselines.embeddings import Embedder, make_embedder
from agentgym.policies import Completion, Message, Policy, Request, Sampling

DEMOS_FILE = "cops/alfworld_3prompts.json"
# The harness's format strings (alfworld_trial.py): its instruction line, the Llama-3 turn markers that
# replace_lines() writes around the demonstrations' actions, and the end of the examples.
INSTRUCTION_LINE = "Interact with a household to solve a task. Here are a few examples.\n"
ASSISTANT_TURN = "<|eot_id|>\n<|start_header_id|>assistant<|end_header_id|>\n\n"
USER_TURN = "<|eot_id|>\n<|start_header_id|>user<|end_header_id|>\n\n"
EXAMPLES_END = "\n\nExamples finished.\n\n"
STOP = "<|eot_id|>"
TASK_HEADER = "Here is the task:"
#: The temperature added per resample of a repeated action.
TEMPERATURE_STEP = 0.1


def as_turns(text: str) -> str:
    """``replace_lines``: each line starting with ``>`` becomes an assistant turn between the turn markers."""
    return re.sub(r"^>(.*)$", lambda m: f"{ASSISTANT_TURN}{m.group(1)}{USER_TURN}", text, flags=re.MULTILINE)


def parse_action(completion: str) -> str:
    """The first non-empty line, stripped; ``>`` removed; a ``put`` action's ``in``/``on`` written ``in/on``."""
    action = next((line.strip() for line in completion.split("\n") if line.strip()), "")
    if ">" in action:
        action = action.replace(">", "").strip()
    words = action.split(" ")
    if "put" in words:
        action = " ".join("in/on" if w.strip().lower() in ("in", "on") else w for w in words)
    return action


def episode_cut(history: str) -> str:
    """An episode as the bank keeps and embeds it: ``str(EnvironmentHistory)`` after its ``Here is the task:``."""
    return (history + "\n").split(TASK_HEADER)[-1].strip()


def inverse_l2(query: np.ndarray, bank: np.ndarray) -> np.ndarray:
    """The original's similarity, ``1 / ||query - row||`` (an identical row scores ``inf``)."""
    with np.errstate(divide="ignore"):
        return 1.0 / np.linalg.norm(bank - query, axis=1)


@dataclass
class _Experience:
    trial: int
    text: str
    vector: np.ndarray | None = None


class TrialBank:
    """The run's successful episodes, each tagged with its trial; a draw for trial t sees trials before t only."""

    def __init__(self, embedder: Embedder) -> None:
        """Start empty."""
        self.embedder = embedder
        self.experiences: list[_Experience] = []

    def add(self, trial: int, text: str) -> None:
        """Keep a success of ``trial``."""
        self.experiences.append(_Experience(trial, text))

    async def draw(self, query: str, *, trial: int, k: int, c: float, rng: np.random.Generator) -> list[str]:
        """``min(bank, k)`` experiences of earlier trials, drawn with replacement from CoPS's distribution."""
        visible = sorted((e for e in self.experiences if e.trial < trial), key=lambda e: (e.trial, e.text))
        if not visible:
            return []
        missing = [e for e in visible if e.vector is None]
        if missing:
            for experience, vector in zip(missing, await self.embedder.embed([e.text for e in missing]), strict=True):
                experience.vector = vector
        query_vector = (await self.embedder.embed([query]))[0]
        scores = inverse_l2(query_vector, np.stack([e.vector for e in visible]))
        scores = np.where(np.isinf(scores), np.finfo(np.float64).max / 10, scores)
        size = min(len(visible), k)
        top, p = selection_distribution(scores, size, c)
        return [visible[i].text for i in rng.choice(top, size=size, replace=True, p=p)]


class ALFWorldCoPSAgent(ALFWorldReActAgent):
    """CoPS's ALFWorld actor and experience selection (see the module docstring).

    Args:
        policy: the LLM.
        bank: the run's bank (built by :meth:`factory`).
        k: experiences drawn (``in_context_trajactory_size``, 5).
        c: the selection's inverse temperature (5.0).
        embedder: ``"minilm"``, ``"st:FOLDER"`` or a policy spec serving ``/v1/embeddings`` (the paper:
            gte-Qwen1.5-7B-instruct).
        max_resamples: resamples of a repeated action before it is played (the original: unbounded).
        **settings: see :class:`~agentgym.baselines.alfworld_harness.ALFWorldReActAgent`.
    """

    name = "cops-alfworld"
    prompt_files: ClassVar[tuple[str, ...]] = (DEMOS_FILE,)
    demos_file = DEMOS_FILE
    lockstep_trials = True

    def __init__(
        self,
        policy: Policy,
        *,
        bank: TrialBank | None = None,
        k: int = 5,
        c: float = 5.0,
        embedder: str = "minilm",
        max_resamples: int = 20,
        **settings: Any,
    ) -> None:
        """See the class docstring."""
        super().__init__(policy, **settings)
        if k < 1 or max_resamples < 0:
            raise ValueError(f"k must be >= 1 and max_resamples >= 0, got {k} and {max_resamples}")
        self.bank = bank
        self.k, self.c, self.embedder, self.max_resamples = k, c, embedder, max_resamples
        self.first_observation = ""
        self.experiences: list[str] = []

    @classmethod
    async def factory(cls, policy: Policy, setup: RunSetup, **settings: Any) -> Callable[[], Agent]:
        """One bank for the run (unless given), holding a resumed run's successes with their trials."""
        bank = settings.pop("bank", None) or TrialBank(make_embedder(settings.get("embedder", "minilm")))
        for record in setup.history:
            if record.get("won") and record.get("memory"):
                bank.add(record["episode"], record["memory"])
        return await super().factory(policy, setup, bank=bank, **settings)

    def reset(self, observation: str, info: dict[str, Any], context: EpisodeContext) -> None:
        """Start an episode; the experiences are drawn before its first step."""
        super().reset(observation, info, context)
        self.first_observation = observation
        self.query = ""

    def base_prompt(self, task_id: str) -> str:
        """The instruction line, the two demonstrations, the drawn experiences, as Llama-3 turns; then the end line."""
        if not self.choice.paper:
            return super().base_prompt(task_id) + "".join(f"{e}\n" for e in self.experiences)
        key = demo_key(task_id)
        block = INSTRUCTION_LINE + self.paper_demos[f"react_{key}_1"] + self.paper_demos[f"react_{key}_0"] + "\n"
        block += "".join(f"{experience}\n" for experience in self.experiences)
        return as_turns(block) + EXAMPLES_END

    def first_query(self) -> str:
        """The prompt's head once the experiences are drawn: base prompt, task header, first observation."""
        assert self.context is not None
        return base_query(self.base_prompt(self.context.task_id), self.first_observation, [])

    def messages(self) -> list[Message]:
        """The first user message, then the episode's actions and observations as turns."""
        messages: list[Message] = [{"role": "user", "content": history_text(self.query, [])}]
        for action, observation in self.history:
            messages.append({"role": "assistant", "content": action})
            if observation is not None:
                messages.append({"role": "user", "content": observation})
        return messages

    async def act(self, observation: str, info: dict[str, Any]) -> AgentStep:
        """Draw the experiences at the first step; sample until the action differs from the previous one."""
        assert self.context is not None
        if not self.query:
            await self._draw_experiences()
            self.query = self.first_query()
        if self.history:
            self.history[-1] = (self.history[-1][0], process_observation(observation))
        previous = self.history[-1][0] if self.history else ""
        messages = self.messages()
        completions: list[Completion] = []
        action, temperature = previous, 0.0
        while action == previous and len(completions) <= self.max_resamples:
            completions.append(await self._complete(messages, temperature))
            action = parse_action(completions[-1].text)
            temperature += TEMPERATURE_STEP
        self.history.append((action, None))
        step = {"response": completions[-1].text, "usage": [c.usage() for c in completions]}
        if action.startswith(THINK_PREFIX):
            return AgentStep(action, observation=THINK_ANSWER, final=action == previous, **step)
        sent = action
        for rewrite in self.rewrite_steps:
            sent = rewrite(sent)
        return AgentStep(sent, final=action == previous, **step)

    async def _complete(self, messages: list[Message], temperature: float) -> Completion:
        sampling = Sampling(temperature=temperature, max_tokens=MAX_TOKENS, stop=(STOP,))
        return (await self.policy.agenerate([Request(messages, sampling)]))[0]

    async def _draw_experiences(self) -> None:
        assert self.context is not None and self.bank is not None
        query = self.context.memory[-1].strip() if self.context.memory else self.first_observation.strip()
        seed = hashlib.sha256(f"{self.context.task_id}|{self.context.trial}".encode()).digest()[:8]
        rng = np.random.default_rng(int.from_bytes(seed, "little"))
        self.experiences = await self.bank.draw(query, trial=self.context.trial, k=self.k, c=self.c, rng=rng)

    async def after_episode(self, record: dict[str, Any]) -> str | None:
        """The episode as the bank keeps it: a success joins the bank, a failure is the next trial's query."""
        if self.context is None or not self.history:
            return None
        history = [*self.history[:-1], (self.history[-1][0], process_observation(record["final_observation"]))]
        text = episode_cut(history_text(self.query, history))
        if record["won"] and self.bank is not None:
            self.bank.add(self.context.trial, text)
        return text

    def config(self) -> dict[str, Any]:
        """The harness's card, with CoPS's settings."""
        card = super().config()
        card.update(
            stop=[STOP],
            retries={"resample_repeated_action": True, "temperature_step": TEMPERATURE_STEP},
            max_resamples=self.max_resamples,
            halt_on_repeated_action=f"after {self.max_resamples} resamples",
            memory_size=0,
            k=self.k,
            c=self.c,
            similarity="inverse_l2",
            embedder=self.embedder,
            trials_are_barriers=True,
        )
        return card
