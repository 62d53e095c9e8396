"""``OpenAIPolicy``: any OpenAI-compatible server (vLLM, SGLang, llama.cpp, hosted APIs).

Requests go to ``{base_url}/chat/completions`` (and ``{base_url}/embeddings``) over one ``httpx.AsyncClient``
per event loop, at most ``concurrency`` at a time, so that many episodes' requests reach the server together
and its own batching does the work. Timeouts, connection errors, 429 and 5xx answers are retried with
exponential backoff (a ``Retry-After`` header is honoured) until ``max_retries`` retries or ``retry_timeout_s``
seconds have passed, whichever comes first: a server that is restarted within that time is simply waited for;
one that stays away raises :class:`~agentgym.error.PolicyUnavailable`, on which the runner stops the run (every
finished episode is saved; re-running resumes). Other errors raise :class:`PolicyError` with the server's
message. The API key comes from the environment (``OPENAI_API_KEY`` unless ``api_key_env`` names another
variable); local servers need none.

``--policy openai:MODEL@URL`` (``URL`` with or without the trailing ``/v1``; checked by
:func:`~agentgym.policies.urls.api_root`); without ``@URL`` the ``OPENAI_BASE_URL`` variable, and without that an
error: OpenAI's API is used only when named (``openai:gpt-4o-mini@https://api.openai.com/v1``). Install:
``pip install 'agentgym[openai]'``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    RetryError,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from agentgym.error import PolicyError, PolicyUnavailable, SettingError, import_optional
from agentgym.policies.base import Completion, Policy, Request
from agentgym.policies.urls import OPENAI_API_URL, api_root
from agentgym.validate import integer, number, optional_integer

log = logging.getLogger(__name__)

#: Most requests one policy keeps in flight.
MAX_CONCURRENCY = 10_000


def server_url(base_url: str | None) -> str:
    """The API root to send requests to: ``base_url``, else ``OPENAI_BASE_URL``; never a server nobody named.

    Raises:
        SettingError: when neither is given, or the URL is malformed (see :func:`~agentgym.policies.urls.api_root`).
    """
    if base_url is not None:
        return api_root(base_url)
    from_env = os.environ.get("OPENAI_BASE_URL")
    if not from_env:
        raise SettingError(
            "no server URL: name one, e.g. openai:MODEL@http://127.0.0.1:8000 for a local server or "
            f"openai:gpt-4o-mini@{OPENAI_API_URL} for OpenAI's API (or set OPENAI_BASE_URL)"
        )
    try:
        return api_root(from_env)
    except SettingError as e:
        raise SettingError(f"OPENAI_BASE_URL: {e}") from None


class RetryableError(PolicyError):
    """A server answer worth retrying (429, 5xx)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _import_httpx() -> Any:
    return import_optional("httpx", "openai")


class OpenAIPolicy(Policy):
    """Client of an OpenAI-compatible ``/v1/chat/completions`` server.

    Args:
        model: the model name the server expects.
        base_url: the API root (``http://127.0.0.1:8000/v1``); default ``OPENAI_BASE_URL`` (one of the two is
            needed: OpenAI's API is used only when named, as ``https://api.openai.com/v1``).
        api_key: the key; default: the ``api_key_env`` variable (none is sent for a local server without one).
        api_key_env: the variable holding the key.
        concurrency: requests in flight at most (1 to 10,000).
        timeout_s: seconds per HTTP request before it counts as timed out (and is retried); finite, > 0.
        max_retries: retries per request after the first try (``None``: as many as ``retry_timeout_s`` allows).
        retry_timeout_s: seconds after a request's first try beyond which it is no longer retried (a server
            that stays down this long raises :class:`~agentgym.error.PolicyUnavailable`); finite, >= 0.
        embedding_model: model for :meth:`embed` (default: ``model``).
        extra_body: fields added to every chat request (server-specific options).
    """

    name = "openai"

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 32,
        timeout_s: float = 300.0,
        max_retries: int | None = None,
        retry_timeout_s: float = 600.0,
        embedding_model: str | None = None,
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        """Validate the configuration; no connection is made until the first request."""
        if not model or not isinstance(model, str):
            raise SettingError("an OpenAI-compatible policy needs a model name (openai:MODEL@URL)")
        self.concurrency = integer("concurrency", concurrency, low=1, high=MAX_CONCURRENCY)
        self.timeout_s = number("timeout_s", timeout_s, above=0)
        self.max_retries = optional_integer("max_retries", max_retries, low=0)
        self.retry_timeout_s = number("retry_timeout_s", retry_timeout_s, low=0)
        if not isinstance(api_key_env, str) or (api_key is not None and not isinstance(api_key, str)):
            raise SettingError("api_key and api_key_env must be strings")
        _import_httpx()
        self.model = model
        self.base_url = server_url(base_url)
        self.api_key = api_key or os.environ.get(api_key_env)
        if not self.api_key and urlsplit(self.base_url).hostname == "api.openai.com":
            raise PolicyError(f"{self.base_url} needs an API key: set {api_key_env}")
        if embedding_model is not None and not isinstance(embedding_model, str):
            raise SettingError(f"embedding_model must be a model name, got {embedding_model!r}")
        if extra_body is not None and not isinstance(extra_body, dict):
            raise SettingError(f"extra_body must be a JSON object of request fields, got {extra_body!r}")
        self.embedding_model = embedding_model or model
        self.extra_body = dict(extra_body or {})
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._semaphore: asyncio.Semaphore | None = None

    # --- the Policy interface ---

    async def agenerate(self, requests: Sequence[Request]) -> list[Completion]:
        """Send the requests concurrently (within the concurrency limit); answers keep their order."""
        return list(await asyncio.gather(*(self._complete(request) for request in requests)))

    def generate(self, requests: Sequence[Request]) -> list[Completion]:
        """Blocking :meth:`agenerate` (runs its own event loop; use ``agenerate`` inside one)."""
        return _run_sync(self._with_fresh_client(self.agenerate(requests)))

    async def aembed(self, texts: Sequence[str]) -> list[list[float]]:
        """Return the embeddings of ``texts`` from ``{base_url}/embeddings`` (token vectors are averaged)."""
        if not texts:
            return []
        body = await self._post("/embeddings", {"model": self.embedding_model, "input": list(texts)})
        try:
            data = sorted(body["data"], key=lambda item: item["index"])
            return [_pooled(item["embedding"]) for item in data]
        except (KeyError, TypeError, ValueError) as e:
            raise PolicyError(f"malformed embeddings answer from {self.base_url}: {str(body)[:300]}") from e

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Blocking :meth:`aembed`."""
        return _run_sync(self._with_fresh_client(self.aembed(texts)))

    def config(self) -> dict[str, Any]:
        """Backend, model and server (never the key)."""
        return {"backend": self.name, "model": self.model, "base_url": self.base_url}

    def close(self) -> None:
        """Forget the HTTP client (its connections close with its event loop)."""
        self._client = self._loop = self._semaphore = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.update(_client=None, _loop=None, _semaphore=None)
        return state

    # --- requests ---

    def payload(self, request: Request) -> dict[str, Any]:
        """Return the chat-completions body for ``request`` (subclasses add server-specific fields)."""
        sampling = request.sampling
        body: dict[str, Any] = {
            "model": self.model,
            "messages": request.messages,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "max_tokens": sampling.max_tokens,
            "n": sampling.n,
        }
        if sampling.stop:
            body["stop"] = list(sampling.stop)
        if sampling.seed is not None:
            body["seed"] = sampling.seed
        body.update(self.extra_body)
        return body

    async def _complete(self, request: Request) -> Completion:
        start = time.perf_counter()
        body = await self._post("/chat/completions", self.payload(request))
        try:
            choices = sorted(body["choices"], key=lambda c: c.get("index", 0))
            texts = [choice["message"].get("content") or "" for choice in choices]
            reason = choices[0].get("finish_reason") if choices else None
        except (KeyError, TypeError, AttributeError) as e:
            raise PolicyError(f"malformed chat answer from {self.base_url}: {str(body)[:300]}") from e
        usage = body.get("usage") or {}
        return Completion(
            texts=texts,
            input_tokens=usage.get("prompt_tokens"),
            output_tokens=usage.get("completion_tokens"),
            latency_s=time.perf_counter() - start,
            stop_reason=reason,
        )

    async def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST ``payload``, retrying timeouts, connection errors, 429 and 5xx with exponential backoff.

        Raises:
            PolicyUnavailable: the server still failed when the retries or ``retry_timeout_s`` ran out.
            PolicyError: the server answered a client error (4xx other than 429) or something unreadable.
        """
        httpx = _import_httpx()
        client, semaphore = self._session()
        url = self.base_url + path
        stop = stop_after_delay(self.retry_timeout_s)
        if self.max_retries is not None:
            stop = stop | stop_after_attempt(self.max_retries + 1)
        retrying = AsyncRetrying(
            stop=stop,
            wait=_backoff,
            retry=retry_if_exception_type((httpx.TimeoutException, httpx.TransportError, RetryableError)),
            before_sleep=lambda state: log.warning(
                "%s: %r; retry %d in %.1fs", url, state.outcome.exception(), state.attempt_number, state.upcoming_sleep
            ),
        )
        start = time.monotonic()
        try:
            async for attempt in retrying:
                with attempt:
                    async with semaphore:
                        response = await client.post(url, json=payload)
                    return self._parse(response)
        except RetryError as e:
            state = e.last_attempt
            raise PolicyUnavailable(
                f"{url} failed after {state.attempt_number} tries in {time.monotonic() - start:.0f} s "
                f"(retry_timeout_s={self.retry_timeout_s:g}): {state.exception()!r}"
            ) from state.exception()
        raise AssertionError("unreachable")  # pragma: no cover

    def _parse(self, response: Any) -> dict[str, Any]:
        status = response.status_code
        if status == 429 or status >= 500:
            retry_after = response.headers.get("retry-after")
            raise RetryableError(
                f"HTTP {status}: {response.text[:300]}",
                float(retry_after) if retry_after and retry_after.replace(".", "", 1).isdigit() else None,
            )
        if status >= 400:
            hint = " (check the API key)" if status in (401, 403) else ""
            hint = hint or (" (check the model name and URL)" if status == 404 else "")
            raise PolicyError(f"{response.request.url} answered HTTP {status}{hint}: {response.text[:500]}")
        try:
            return response.json()
        except ValueError as e:
            raise PolicyError(f"{response.request.url} answered non-JSON: {response.text[:300]}") from e

    def _session(self) -> tuple[Any, asyncio.Semaphore]:
        """Return the HTTP client and semaphore of the running event loop (new ones for a new loop)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            httpx = _import_httpx()
            headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
            self._client = httpx.AsyncClient(
                headers=headers,
                timeout=httpx.Timeout(self.timeout_s, connect=min(self.timeout_s, 10.0)),
                limits=httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency),
            )
            self._loop = loop
            self._semaphore = asyncio.Semaphore(self.concurrency)
        assert self._semaphore is not None  # set together with the client
        return self._client, self._semaphore

    async def _with_fresh_client(self, work: Any) -> Any:
        """Await ``work`` on a client that is closed afterwards (for the blocking methods' own loops)."""
        try:
            return await work
        finally:
            if self._client is not None and self._loop is asyncio.get_running_loop():
                await self._client.aclose()
                self._client = self._loop = self._semaphore = None


_exponential = wait_exponential(multiplier=0.5, max=30.0)


def _backoff(state: RetryCallState) -> float:
    """Seconds before the next try: the server's ``Retry-After`` if it sent one, else 0.5 s doubling up to 30 s."""
    error = state.outcome.exception() if state.outcome is not None else None
    retry_after = getattr(error, "retry_after", None)
    return min(retry_after, 30.0) if retry_after else _exponential(state)


def _pooled(embedding: list[Any]) -> list[float]:
    """Return one vector: as given, or the mean of per-token vectors (llama.cpp without a pooling layer)."""
    if embedding and isinstance(embedding[0], list):
        width = len(embedding[0])
        return [sum(float(token[i]) for token in embedding) / len(embedding) for i in range(width)]
    return [float(x) for x in embedding]


def _run_sync(coroutine: Any) -> Any:
    """Run ``coroutine`` to completion from blocking code, also when this thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
