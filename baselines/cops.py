"""CoPS (Yang et al., 2024): cross-task experience sharing with pessimism-based selection.

Every successful episode of the run, on any task, joins a memory bank as soon as it succeeds. Before an
episode, the agent queries the bank with the task's last failed transcript (or, on its first trial, its first
observation), keeps the ``k`` most similar experiences, and samples ``k`` of them with replacement with
probability proportional to ``exp(c * similarity)``, the closed form of CoPS's pessimistic selection (c = 5 on
ALFWorld and WebShop in the authors' code; c = 0 is uniform over the top k). The sampled experiences are shown
before the task, after the ReAct instruction and demonstrations. Similarity is the code's inverse L2 distance
(``similarity="inverse_l2"``) or cosine; the paper does not fix it. Embeddings come from a real model:
all-MiniLM-L6-v2 on CPU by default, or any server that answers ``/v1/embeddings``.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from typing import Any

import numpy as np

from agentgym.agent import Agent, RunSetup
from agentgym.baselines.embeddings import Embedder, make_embedder
from agentgym.baselines.react import ReActAgent
from agentgym.baselines.reflexion import transcript
from agentgym.policies import Policy
from agentgym.validate import integer, number
from agentgym.wrappers.truncate import truncate_text

#: Characters of one experience shown in the prompt.
MAX_EXPERIENCE = 3000
SIMILARITIES = ("inverse_l2", "cosine")


def record_transcript(record: dict[str, Any]) -> str:
    """An episode record as a transcript (first observation, then actions and the observations after them)."""
    steps = record["steps"]
    after = [s["observation"] for s in steps[1:]] + [record["final_observation"]]
    return transcript(record["first_observation"], [(s["action"], o) for s, o in zip(steps, after, strict=True)])


def similarities(query: np.ndarray, bank: np.ndarray, kind: str) -> np.ndarray:
    """Similarity of each bank row to ``query``: ``1 / L2 distance`` or cosine."""
    if kind == "inverse_l2":
        return 1.0 / np.maximum(np.linalg.norm(bank - query, axis=1), 1e-6)
    norms = np.linalg.norm(bank, axis=1) * np.linalg.norm(query)
    return bank @ query / np.maximum(norms, 1e-12)


def selection_distribution(scores: np.ndarray, k: int, c: float) -> tuple[np.ndarray, np.ndarray]:
    """CoPS's distribution: the ``k`` highest scores, weighted by ``exp(c * score)``; returns (indices, p)."""
    top = np.argsort(-scores, kind="stable")[:k]
    logits = c * np.minimum(scores[top], 1e6)
    weights = np.exp(logits - logits.max())
    return top, weights / weights.sum()


class ExperienceBank:
    """Successful transcripts of the run and their embeddings, shared by all its episodes."""

    def __init__(self, embedder: Embedder, initial: list[str] | tuple[str, ...] = ()) -> None:
        """Start with ``initial`` transcripts (a resumed run's successes)."""
        self.embedder = embedder
        self.texts: list[str] = []
        self.vectors: list[np.ndarray] = []
        self._unembedded = list(initial)
        self._lock = asyncio.Lock()

    def __len__(self) -> int:
        """Number of experiences."""
        return len(self.texts) + len(self._unembedded)

    def add(self, text: str) -> None:
        """Keep a successful transcript: visible to every later :meth:`sample` at once (embedded there)."""
        self._unembedded.append(text)

    async def _embed_new(self) -> None:
        async with self._lock:
            texts, self._unembedded = self._unembedded, []
            if texts:
                self.vectors += list(await self.embedder.embed(texts))
                self.texts += texts

    async def sample(self, query: str, *, k: int, c: float, similarity: str, rng: np.random.Generator) -> list[str]:
        """Draw ``k`` experiences (with replacement) from the selection distribution for ``query``."""
        await self._embed_new()
        if not self.texts:
            return []
        query_vector = (await self.embedder.embed([query]))[0]
        scores = similarities(query_vector, np.stack(self.vectors), similarity)
        top, p = selection_distribution(scores, k, c)
        return [self.texts[i] for i in rng.choice(top, size=k, replace=True, p=p)]


class CoPSAgent(ReActAgent):
    """ReAct whose prompt shows experiences sampled from the run's successes on other tasks.

    Args:
        policy: the LLM.
        bank: the run's shared experience bank (built by :meth:`factory`).
        k: experiences shown (and the size of the candidate set), 5 as the paper.
        c: the selection temperature, 5.0 as the code on ALFWorld and WebShop.
        similarity: ``"inverse_l2"`` (the code) or ``"cosine"``.
        embedder: ``"minilm"`` or a policy spec serving embeddings (recorded; the bank holds the embedder).
        **react_settings: see :class:`~agentgym.baselines.react.ReActAgent`.
    """

    name = "cops"

    def __init__(
        self,
        policy: Policy,
        *,
        bank: ExperienceBank | None = None,
        k: int = 5,
        c: float = 5.0,
        similarity: str = "inverse_l2",
        embedder: str = "minilm",
        **react_settings: Any,
    ) -> None:
        """See the class docstring."""
        super().__init__(policy, **react_settings)
        if similarity not in SIMILARITIES:
            raise ValueError(f"similarity must be one of {SIMILARITIES}, got {similarity!r}")
        self.bank = bank
        self.k = integer("k", k, low=1, high=1000)
        self.c = number("c", c, low=0)
        self.similarity = similarity
        self.embedder = embedder
        self.experiences: list[str] = []

    @classmethod
    async def factory(cls, policy: Policy, setup: RunSetup, **settings: Any) -> Callable[[], Agent]:
        """Share one bank across the run's episodes (with the successes of a resumed run already in it)."""
        successes = [record_transcript(r) for r in setup.history if r.get("won") and r.get("steps")]
        bank = ExperienceBank(make_embedder(settings.get("embedder", "minilm")), successes)
        return await super().factory(policy, setup, bank=bank, **settings)

    async def act(self, observation: str, info: dict[str, Any]) -> Any:
        """Sample this episode's experiences before its first step, then act as ReAct."""
        if not self.turns:
            await self._choose_experiences()
        return await super().act(observation, info)

    async def _choose_experiences(self) -> None:
        assert self.context is not None and self.bank is not None
        query = self.context.memory[-1] if self.context.memory else self.first_observation
        seed = int.from_bytes(hashlib.sha256(f"{self.context.task_id}|{self.context.trial}".encode()).digest()[:8])
        self.experiences = await self.bank.sample(
            query, k=self.k, c=self.c, similarity=self.similarity, rng=np.random.default_rng(seed)
        )

    def task_message(self) -> str:
        """The sampled experiences, then the task."""
        if not self.experiences:
            return super().task_message()
        shown = "\n\n".join(
            f"Experience {i}:\n{truncate_text(text, MAX_EXPERIENCE, keep='both')}"
            for i, text in enumerate(self.experiences, 1)
        )
        return f"Successful experiences from other tasks:\n\n{shown}\n\nHere is the task:\n{super().task_message()}"

    async def after_episode(self, record: dict[str, Any]) -> str | None:
        """A success joins the bank at once; a failure's transcript becomes the next trial's query."""
        text = record_transcript(record)
        if record["won"] and self.bank is not None:
            self.bank.add(text)
            return None
        return text

    def config(self) -> dict[str, Any]:
        """ReAct's settings plus the selection settings."""
        return {**super().config(), "k": self.k, "c": self.c, "similarity": self.similarity, "embedder": self.embedder}
