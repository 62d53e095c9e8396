"""Policies: the LLM (or script) behind an agent, behind one batch-first interface.

``make_policy(spec)`` builds one from its ``--policy`` spelling:

- ``embedded`` (the default): SmolLM2-135M-Instruct on CPU, shipped in a PyPI package (extra ``[embedded]``);
  ``embedded:FILE.gguf`` or ``embedded:FOLDER`` for another small model.
- ``openai:MODEL@URL``: any OpenAI-compatible server (vLLM, SGLang, llama.cpp, hosted APIs; key from
  ``OPENAI_API_KEY``), e.g. ``openai:qwen@http://127.0.0.1:8000``; OpenAI's API only when named:
  ``openai:gpt-4o-mini@https://api.openai.com/v1``. ``openai:MODEL`` uses ``OPENAI_BASE_URL`` (an error when it
  is not set). The URL is checked as a URL (:mod:`agentgym.policies.urls`): no scheme, credentials, a query or
  a bad port are errors, never a reason to send requests elsewhere.
- ``sglang:PATH``: an in-process SGLang engine; ``sglang:MODEL@URL``: a running SGLang server or router.
- ``ray:N:SPEC``: N replicas of the policy ``SPEC`` (e.g. ``ray:4:embedded``) in Ray actors (extra ``[ray]``).
- ``expert``, ``random``: scripted policies (``expert`` answers with the episode's expert action).

Backends import their heavy dependencies (torch, httpx, sglang) only when built.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from agentgym import validate
from agentgym.error import SettingError
from agentgym.policies.base import Completion, Expert, Message, Policy, Request, Sampling
from agentgym.policies.scripted import ExpertPolicy, RandomPolicy
from agentgym.policies.urls import split_model_url
from agentgym.registry import Registry

__all__ = [
    "BACKENDS",
    "DEFAULT_POLICY",
    "Completion",
    "Expert",
    "ExpertPolicy",
    "Message",
    "Policy",
    "RandomPolicy",
    "Request",
    "Sampling",
    "launch_policy_server",
    "make_policy",
]

#: The policy used when none is named: the embedded CPU model (SGLang needs a GPU and a model path).
DEFAULT_POLICY = "embedded"

_KNOWN = "embedded, embedded:PATH, openai:MODEL@URL, sglang:PATH, sglang:MODEL@URL, ray:N:SPEC, expert, random"


def _embedded(spec: str, argument: str, **kwargs: Any) -> Policy:
    from agentgym.policies.embedded import EmbeddedPolicy

    return EmbeddedPolicy(argument or None, **kwargs)


def _openai(spec: str, argument: str, **kwargs: Any) -> Policy:
    from agentgym.policies.openai import OpenAIPolicy

    model, url = split_model_url(spec, argument)
    if not model:
        raise SettingError(f"policy {spec!r} names no model; expected openai:MODEL@http://HOST:PORT")
    return OpenAIPolicy(model, url, **kwargs)


def _sglang(spec: str, argument: str, **kwargs: Any) -> Policy:
    from agentgym.policies.sglang import SGLangEnginePolicy, SGLangServerPolicy

    model, url = split_model_url(spec, argument)
    if not model:
        raise SettingError(f"policy {spec!r} names no model; expected sglang:PATH or sglang:MODEL@http://HOST:PORT")
    return SGLangServerPolicy(model, url, **kwargs) if url else SGLangEnginePolicy(model, **kwargs)


def _ray(spec: str, argument: str, **kwargs: Any) -> Policy:
    from agentgym.policies.ray_replicas import RayReplicaPolicy

    count, _, inner = argument.partition(":")
    if not count.isdigit() or not inner:
        raise SettingError(f"policy {spec!r}: expected ray:N:SPEC, e.g. ray:2:embedded")
    return RayReplicaPolicy(inner, int(count), **kwargs)


#: Policy backends by the name before the first ``:`` of a spec; each builds a policy from
#: ``(spec, the rest of the spec, **settings)``.
BACKENDS: Registry[Callable[..., Policy]] = Registry(
    "policy",
    {
        "embedded": _embedded,
        "openai": _openai,
        "sglang": _sglang,
        "ray": _ray,
        "expert": lambda spec, argument, **kwargs: ExpertPolicy(),
        "random": lambda spec, argument, **kwargs: RandomPolicy(**kwargs),
    },
    forms=lambda names: _KNOWN.split(", "),
)


def make_policy(spec: str | None = None, **kwargs: Any) -> Policy:
    """Build a policy from its CLI spelling (see the module docstring); ``None`` means :data:`DEFAULT_POLICY`.

    Args:
        spec: the ``--policy`` value.
        **kwargs: backend settings passed to the policy's constructor.

    Raises:
        NameNotFound: (a KeyError) for an unknown backend, with the closest backend names.
        SettingError: (a ValueError) for a missing model, a malformed server URL or a setting of a wrong type or
            range.
        DependencyNotInstalled: when the backend's extra is not installed.
    """
    if spec is not None and (not isinstance(spec, str) or not spec.strip()):
        raise SettingError(f"a policy spec is a non-empty string (known: {_KNOWN}), got {spec!r}")
    spec = DEFAULT_POLICY if spec is None else spec
    backend, _, argument = spec.partition(":")
    if backend not in BACKENDS:
        raise BACKENDS.not_found(backend, message=f"unknown policy {spec!r}")
    return BACKENDS[backend](spec, argument, **kwargs)


def launch_policy_server(
    backend: str, model: str | None = None, port: int | None = None, host: str = "127.0.0.1", **kwargs: Any
) -> Any:
    """Start a model server for ``agentgym serve policy`` and return it once healthy.

    Args:
        backend: ``"sglang"`` (GPU; ``model`` is a local model folder) or ``"llamacpp"`` (CPU; ``model`` is a
            GGUF file, default the embedded SmolLM2).
        model: what to serve.
        port: TCP port (default: a free one).
        host: interface to listen on.
        **kwargs: the backend's ``launch_server`` options (``dp_size``, ``router``, ``n_ctx``, ...).

    Returns:
        A :class:`~agentgym.policies.server.ServerProcess` (``.url``, ``.base_url``, ``.wait()``,
        ``.stop()``).
    """
    validate.host("host", host)
    if port is not None:
        validate.port("port", port)
    if model is not None and not os.path.exists(model):
        raise SettingError(f"model {model!r} does not exist (serve a local model folder or GGUF file)")
    if backend == "sglang":
        from agentgym.policies import sglang

        if not model:
            raise SettingError("serving with sglang needs --model PATH (a local model folder)")
        return sglang.launch_server(model, port, host, **kwargs)
    if backend == "llamacpp":
        from agentgym.policies import llamacpp

        return llamacpp.launch_server(model, port, host, **kwargs)
    raise SettingError(f"unknown server backend {backend!r}; known: sglang, llamacpp")
