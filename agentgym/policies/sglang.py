"""SGLang policies: the GPU backend of LLM agents (flashinfer attention where installed).

Three ways in, all batching many episodes' requests in SGLang itself (continuous batching, and the
RadixAttention prefix cache hit by the agents' stable prompt prefixes):

- ``SGLangEnginePolicy(model_path)``: an in-process ``sglang.Engine`` (``--policy sglang:PATH``).
- ``launch_server(model_path, ...)``: ``python -m sglang.launch_server`` (or, with ``dp_size > 1`` and
  ``router=True``, ``sglang_router.launch_server``: data-parallel replicas behind SGLang's own router),
  waited for until ``/health`` answers (``agentgym serve policy --backend sglang --model PATH``).
- ``SGLangServerPolicy(model, url)``: attach to a running server or router (``--policy sglang:MODEL@URL``);
  requests go out concurrently through the OpenAI-compatible API. For several machines start
  ``sglang_router.launch_router --worker-urls ...`` and attach to the router.

``Request.choices`` become an SGLang ``regex`` constraint (an alternation of the escaped choices), so actions
are always well formed. Install: ``pip install 'agentgym[sglang]'`` (needs an NVIDIA GPU).
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agentgym.error import DependencyNotInstalled, PolicyError
from agentgym.policies.base import Completion, Policy, Request
from agentgym.policies.openai import OpenAIPolicy
from agentgym.policies.server import ServerProcess, free_port, python_module_command
from agentgym.validate import integer, number, optional_number


def choices_regex(choices: Sequence[str]) -> str:
    """Return a regex that matches exactly one of ``choices`` (longest first, so none shadows another)."""
    return "(" + "|".join(re.escape(c) for c in sorted(set(choices), key=len, reverse=True)) + ")"


def _require_sglang() -> None:
    if importlib.util.find_spec("sglang") is None:
        raise DependencyNotInstalled("sglang", "sglang")


def default_attention_backend() -> str | None:
    """Return ``"flashinfer"`` when flashinfer is installed, else ``None`` (SGLang's own default)."""
    return "flashinfer" if importlib.util.find_spec("flashinfer") is not None else None


def launch_server(
    model: str,
    port: int | None = None,
    host: str = "127.0.0.1",
    *,
    dp_size: int = 1,
    tp_size: int = 1,
    router: bool = False,
    attention_backend: str | None = None,
    mem_fraction_static: float | None = None,
    extra_args: Sequence[str] = (),
    startup_timeout_s: float = 1200.0,
    log_path: str | Path | None = None,
) -> ServerProcess:
    """Start an SGLang server for ``model`` (a local path) and wait until ``/health`` answers.

    Args:
        model: model folder (there is no model hub on our machines: pass a local path).
        port: TCP port (default: a free one).
        host: interface to listen on.
        dp_size: data-parallel replicas (one per GPU group).
        tp_size: GPUs per replica (tensor parallelism).
        router: with ``dp_size > 1``, run the replicas behind ``sglang-router`` (cache-aware routing).
        attention_backend: SGLang's ``--attention-backend``; default flashinfer where installed.
        mem_fraction_static: share of GPU memory for weights and KV cache.
        extra_args: further ``sglang.launch_server`` flags.
        startup_timeout_s: seconds to wait for health (weights load and CUDA graphs take minutes).
        log_path: where the server's output goes.

    Returns:
        The running server: ``.url``, ``.base_url`` (OpenAI API root), ``.stop()``, ``.wait()``.
    """
    integer("dp_size", dp_size, low=1, high=1024)
    integer("tp_size", tp_size, low=1, high=1024)
    optional_number("mem_fraction_static", mem_fraction_static, above=0, high=1)
    number("startup_timeout_s", startup_timeout_s, above=0)
    _require_sglang()
    port = port or free_port(host)
    backend = attention_backend or default_attention_backend()
    args = ["--model-path", str(model), "--host", host, "--port", str(port), "--tp-size", str(tp_size)]
    args += ["--dp-size", str(dp_size)]
    if backend:
        args += ["--attention-backend", backend]
    if mem_fraction_static is not None:
        args += ["--mem-fraction-static", str(mem_fraction_static)]
    module = "sglang.launch_server"
    if router and dp_size > 1:
        if importlib.util.find_spec("sglang_router") is None:
            raise DependencyNotInstalled("sglang-router", "sglang")
        module = "sglang_router.launch_server"
    server = ServerProcess(
        python_module_command(module, *args, *extra_args),
        f"http://{host}:{port}",
        health_path="/health",
        startup_timeout_s=startup_timeout_s,
        log_path=log_path,
    )
    return server.start()


class SGLangServerPolicy(OpenAIPolicy):
    """A running SGLang server (or router), through its OpenAI-compatible API with SGLang's extensions.

    ``choices`` are sent as SGLang's ``regex`` constraint. Arguments are :class:`OpenAIPolicy`'s, plus
    ``server``: a :class:`ServerProcess` this policy owns and stops on :meth:`close`.
    """

    name = "sglang"

    def __init__(self, model: str, base_url: str, *, server: ServerProcess | None = None, **kwargs: Any) -> None:
        """Attach to the server at ``base_url``."""
        kwargs.setdefault("concurrency", 256)
        super().__init__(model, base_url, **kwargs)
        self.server = server

    @classmethod
    def launch(cls, model: str, **launch_kwargs: Any) -> SGLangServerPolicy:
        """Start a server with :func:`launch_server` and attach to it (stopped by :meth:`close`)."""
        server = launch_server(model, **launch_kwargs)
        return cls(str(model), server.base_url, server=server)

    def payload(self, request: Request) -> dict[str, Any]:
        """OpenAI's body, with a ``regex`` for ``choices``."""
        body = super().payload(request)
        if request.choices:
            body["regex"] = choices_regex(request.choices)
        return body

    def close(self) -> None:
        """Drop the client; stop the server if this policy launched it."""
        super().close()
        if self.server is not None:
            self.server.stop()
            self.server = None

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["server"] = None  # the launching process owns the server
        return state


class SGLangEnginePolicy(Policy):
    """An in-process ``sglang.Engine`` for a local model path.

    Every ``agenerate`` call goes straight to the engine's scheduler, which batches concurrent calls
    continuously and shares KV cache across common prefixes.

    Args:
        model: model folder.
        **engine_args: ``sglang.Engine`` arguments (``tp_size``, ``dp_size``, ``mem_fraction_static``, ...);
            ``attention_backend`` defaults to flashinfer where installed.
    """

    name = "sglang"

    def __init__(self, model: str, **engine_args: Any) -> None:
        """Check that SGLang is installed and the model exists; the engine starts on first use."""
        _require_sglang()
        if not os.path.exists(model):
            raise PolicyError(f"model path {model!r} does not exist (no model hub here: pass a local folder)")
        self.model = model
        self.engine_args = dict(engine_args)
        backend = default_attention_backend()
        if backend:
            self.engine_args.setdefault("attention_backend", backend)
        self._engine: Any = None
        self._tokenizer: Any = None

    def _load(self) -> Any:
        if self._engine is None:
            import sglang
            import transformers

            self._engine = sglang.Engine(model_path=self.model, **self.engine_args)
            self._tokenizer = transformers.AutoTokenizer.from_pretrained(self.model)
        return self._engine

    def _params(self, request: Request, copy: int) -> dict[str, Any]:
        sampling = request.sampling
        params: dict[str, Any] = {
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "max_new_tokens": sampling.max_tokens,
        }
        if sampling.stop:
            params["stop"] = list(sampling.stop)
        if sampling.seed is not None:
            params["sampling_seed"] = sampling.seed + copy
        if request.choices:
            params["regex"] = choices_regex(request.choices)
        return params

    async def agenerate(self, requests: Sequence[Request]) -> list[Completion]:
        """Submit all requests (``n`` copies each) to the engine at once; answers keep their order."""
        engine = self._load()
        start = time.perf_counter()
        prompts, params, owners = [], [], []
        for index, request in enumerate(requests):
            prompt = self._tokenizer.apply_chat_template(request.messages, tokenize=False, add_generation_prompt=True)
            for copy in range(request.sampling.n):
                prompts.append(prompt)
                params.append(self._params(request, copy))
                owners.append(index)
        outputs = await engine.async_generate(prompt=prompts, sampling_params=params)
        completions = [Completion([], 0, 0) for _ in requests]
        for owner, output in zip(owners, outputs, strict=True):
            completion, meta = completions[owner], output.get("meta_info", {})
            completion.texts.append(output["text"])
            completion.input_tokens = meta.get("prompt_tokens")
            completion.output_tokens = (completion.output_tokens or 0) + meta.get("completion_tokens", 0)
            finish = meta.get("finish_reason")
            completion.stop_reason = finish.get("type") if isinstance(finish, dict) else finish
            completion.latency_s = time.perf_counter() - start
        return completions

    def generate(self, requests: Sequence[Request]) -> list[Completion]:
        """Blocking :meth:`agenerate` (must not be called from a running event loop)."""
        return asyncio.run(self.agenerate(requests))

    def config(self) -> dict[str, Any]:
        """Backend, model and engine settings."""
        return {"backend": self.name, "model": self.model, **self.engine_args}

    def close(self) -> None:
        """Shut the engine down."""
        if self._engine is not None:
            self._engine.shutdown()
            self._engine = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.update(_engine=None, _tokenizer=None)
        return state
