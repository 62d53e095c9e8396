"""The batch-first ``Policy`` interface: the LLM (or script) behind an agent.

A policy turns a batch of :class:`Request` objects (a chat each) into :class:`Completion` objects, in the same
order. Backends implement :meth:`Policy.generate` (blocking) and may override :meth:`Policy.agenerate` (the
runner's many concurrent episodes await it; the default runs ``generate`` in a thread).
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from agentgym.error import PolicyError, SettingError
from agentgym.validate import integer, number, optional_integer

#: A chat message, ``{"role": "system" | "user" | "assistant", "content": "..."}``.
Message = dict[str, str]
#: An episode's expert: returns the env's expert action from the current state (``None`` when it has none).
Expert = Callable[[], Awaitable[str | None]]


@dataclass(frozen=True)
class Sampling:
    """Decoding settings of one request.

    Attributes:
        temperature: 0 is greedy.
        top_p: nucleus sampling mass.
        max_tokens: new tokens at most.
        stop: strings that end the completion (not included in it).
        n: completions per request (``Completion.texts``).
        seed: sampling seed, where the backend supports one.
    """

    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 256
    stop: tuple[str, ...] = ()
    n: int = 1
    seed: int | None = None

    def __post_init__(self) -> None:
        """Validate types and ranges (:class:`~agentgym.error.SettingError`) and normalise ``stop`` to a tuple."""
        number("temperature", self.temperature, low=0)
        number("top_p", self.top_p, above=0, high=1)
        integer("max_tokens", self.max_tokens, low=1)
        integer("n", self.n, low=1, high=1024)
        optional_integer("seed", self.seed, low=0)
        if isinstance(self.stop, str) or not all(isinstance(s, str) for s in self.stop):
            raise SettingError(f"stop must be a list of strings, got {self.stop!r}")
        object.__setattr__(self, "stop", tuple(self.stop))


@dataclass
class Request:
    """One prompt for a policy.

    Attributes:
        messages: the chat so far.
        sampling: decoding settings.
        choices: if given, the completion must be one of these strings (admissible actions); backends that
            can constrain decoding do, others pick the closest (documented per backend).

    A request is plain data (it can travel to another process or machine): nothing in it reaches back into the
    episode. A policy that answers from the env's expert gets the expert once per episode, from the agent
    (:meth:`Policy.with_expert`).
    """

    messages: list[Message]
    sampling: Sampling = field(default_factory=Sampling)
    choices: list[str] | None = None


@dataclass
class Completion:
    """A policy's answer to one request.

    Attributes:
        texts: ``sampling.n`` completions (``text`` is the first).
        input_tokens: prompt tokens, where the backend counts them.
        output_tokens: generated tokens over all ``texts``, where counted.
        latency_s: seconds from request to answer.
        stop_reason: why generation ended (``"stop"``, ``"length"``, ...), where known.
    """

    texts: list[str]
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_s: float = 0.0
    stop_reason: str | None = None

    @property
    def text(self) -> str:
        """The first completion."""
        return self.texts[0] if self.texts else ""

    def usage(self) -> dict[str, Any]:
        """Return token counts and latency, as trajectories record them."""
        record = asdict(self)
        del record["texts"]
        return record


class Policy(ABC):
    """Batch-first text generator.

    Subclasses implement :meth:`generate`; they should create heavy clients lazily so that a policy can be
    pickled into worker processes.
    """

    #: Backend name, as ``--policy`` spells it.
    name: str = "policy"

    @abstractmethod
    def generate(self, requests: Sequence[Request]) -> list[Completion]:
        """Return one :class:`Completion` per request, in the order of ``requests``."""

    async def agenerate(self, requests: Sequence[Request]) -> list[Completion]:
        """Async :meth:`generate`; the default runs it in a worker thread."""
        return await asyncio.to_thread(self.generate, requests)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Return one embedding vector per text (CoPS retrieves memories with them).

        Raises:
            PolicyError: if the backend has no embeddings (the default).
        """
        raise PolicyError(f"the {self.name!r} policy backend does not provide embeddings")

    async def aembed(self, texts: Sequence[str]) -> list[list[float]]:
        """Async :meth:`embed`; the default runs it in a worker thread."""
        return await asyncio.to_thread(self.embed, texts)

    def with_expert(self, expert: Expert) -> Policy:
        """Return this policy as one episode uses it, given that episode's expert.

        :meth:`agentgym.agent.Agent.reset` calls it at the start of every episode. Policies that answer with
        the expert's actions (``ExpertPolicy``) return a copy bound to ``expert``; every other policy ignores
        it and returns itself (the default).
        """
        return self

    def chat(self, messages: list[Message], **sampling: Any) -> str:
        """Convenience: complete one chat and return the text."""
        return self.generate([Request(messages, Sampling(**sampling))])[0].text

    def config(self) -> dict[str, Any]:
        """Return the settings that identify this policy in run records."""
        return {"backend": self.name}

    def close(self) -> None:  # noqa: B027  (optional hook)
        """Release models, servers or connections."""
