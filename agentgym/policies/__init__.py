"""Policies: the LLM (or script) behind an agent, behind one batch-first interface.

``make_policy("expert")``, ``make_policy("random")``; LLM backends register here as they are added.
"""

from __future__ import annotations

from typing import Any

from agentgym.policies.base import Completion, Message, Policy, Request, Sampling
from agentgym.policies.scripted import ExpertPolicy, RandomPolicy

__all__ = [
    "Completion",
    "ExpertPolicy",
    "Message",
    "Policy",
    "RandomPolicy",
    "Request",
    "Sampling",
    "make_policy",
]


def make_policy(spec: str, **kwargs: Any) -> Policy:
    """Build a policy from its CLI spelling (``"expert"``, ``"random"``).

    Raises:
        ValueError: for an unknown backend, listing the known ones.
    """
    backend, _, _argument = spec.partition(":")
    if backend == "expert":
        return ExpertPolicy()
    if backend == "random":
        return RandomPolicy(**kwargs)
    raise ValueError(f"unknown policy {spec!r}; known: expert, random")
