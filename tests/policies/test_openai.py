"""The OpenAI-compatible backend against a real llama.cpp server process (no mocks)."""

from __future__ import annotations

import asyncio
import http.server
import math
import threading
import time
import urllib.request

import pytest

from agentgym.error import PolicyError
from agentgym.policies import make_policy
from tests.policies.conftest import chat

pytest.importorskip("httpx")

from agentgym.policies.openai import OpenAIPolicy
from agentgym.policies.urls import api_root


def test_generate_returns_text_and_usage(llama_server, llama_model):
    policy = make_policy(f"openai:{llama_model}@{llama_server.url}")
    [completion] = policy.generate([chat("What is 2+3?", max_tokens=12)])
    assert completion.text.strip()
    assert completion.input_tokens > 10
    assert 1 <= completion.output_tokens <= 12
    assert completion.stop_reason in ("stop", "length")


def test_concurrent_requests_keep_their_order(llama_server, llama_model):
    policy = OpenAIPolicy(llama_model, llama_server.base_url, concurrency=4)
    questions = ["Say one.", "Say two.", "Say three.", "Say four.", "Say five."]

    async def run():
        single = await asyncio.gather(*(policy.agenerate([chat(q, max_tokens=6)]) for q in questions))
        batch = await policy.agenerate([chat(q, max_tokens=6) for q in questions])
        return [c[0].text for c in single], [c.text for c in batch]

    single, batch = asyncio.run(run())
    assert single == batch  # temperature 0: the same prompt gives the same answer, in the same slot
    assert len(set(single)) > 1


def test_stop_strings_and_seeded_determinism(llama_server, llama_model):
    policy = OpenAIPolicy(llama_model, llama_server.base_url)
    [full] = policy.generate([chat("Describe a kitchen.", max_tokens=16)])
    stop = full.text[len(full.text) // 2 :][:3]  # a string the greedy answer is known to contain
    assert len(stop) == 3, full.text
    [cut] = policy.generate([chat("Describe a kitchen.", max_tokens=16, stop=("@@", stop))])
    assert stop not in cut.text
    assert full.text.startswith(cut.text)
    assert cut.stop_reason == "stop"
    sampled = [
        policy.generate([chat("Tell me a story.", max_tokens=12, temperature=1.0, seed=5)])[0].text for _ in range(2)
    ]
    assert sampled[0] == sampled[1]


def test_embeddings(launch_llama, llama_model):
    with launch_llama(embedding=True, n_ctx=512, threads=2) as server:
        policy = OpenAIPolicy(llama_model, server.base_url)
        vectors = policy.embed(["a red apple", "a green apple", "quantum chromodynamics"])
    assert len(vectors) == 3
    assert len({len(v) for v in vectors}) == 1 and len(vectors[0]) > 100

    def cosine(a, b):
        return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))

    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2])


class _FlakyProxy(http.server.ThreadingHTTPServer):
    """A real HTTP proxy to the llama.cpp server that first answers 503 and 429 (fault injection)."""

    def __init__(self, target: str, failures: list[int]) -> None:
        self.target, self.failures, self.requests = target, list(failures), 0
        super().__init__(("127.0.0.1", 0), _ProxyHandler)


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        server: _FlakyProxy = self.server  # type: ignore[assignment]
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server.requests += 1
        if server.failures:
            status = server.failures.pop(0)
            self.send_response(status)
            self.send_header("Retry-After", "0.1")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")
            return
        forward = urllib.request.Request(
            server.target + self.path, data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(forward, timeout=120) as answer:
            data = answer.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def _proxy(target: str, failures: list[int]) -> _FlakyProxy:
    proxy = _FlakyProxy(target, failures)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    return proxy


def test_retries_on_429_and_5xx(llama_server, llama_model):
    proxy = _proxy(llama_server.url, [503, 429, 500])
    try:
        policy = OpenAIPolicy(llama_model, f"http://127.0.0.1:{proxy.server_address[1]}", max_retries=3)
        [completion] = policy.generate([chat("Say hi.", max_tokens=4)])
        assert completion.text
        assert proxy.requests == 4
        proxy.failures = [503, 503]
        with pytest.raises(PolicyError, match="after 2 tries"):
            OpenAIPolicy(llama_model, f"http://127.0.0.1:{proxy.server_address[1]}", max_retries=1).generate(
                [chat("Say hi.", max_tokens=4)]
            )
    finally:
        proxy.shutdown()


def test_client_errors_are_not_retried_and_explain(llama_server, llama_model):
    policy = OpenAIPolicy(llama_model, llama_server.url + "/nope/v1", max_retries=3)
    start = time.monotonic()
    with pytest.raises(PolicyError, match="HTTP 404"):
        policy.generate([chat("Say hi.", max_tokens=4)])
    assert time.monotonic() - start < 5


def test_server_killed_and_restarted_is_recovered(launch_llama, llama_model):
    from agentgym.policies.server import free_port

    port = free_port()
    server = launch_llama(port=port, n_ctx=512, threads=2)
    policy = OpenAIPolicy(llama_model, server.base_url, max_retries=8)
    restarted = []
    try:
        assert policy.generate([chat("Say hi.", max_tokens=3)])[0].text
        server.stop()
        assert not server.alive
        with pytest.raises(PolicyError, match="failed after 1 tries"):
            OpenAIPolicy(llama_model, server.base_url, max_retries=0).generate([chat("Say hi.", max_tokens=3)])

        def restart():
            time.sleep(1.0)
            restarted.append(launch_llama(port=port, n_ctx=512, threads=2))

        thread = threading.Thread(target=restart)
        thread.start()
        [completion] = policy.generate([chat("Say hi.", max_tokens=3)])  # retried until the new server answers
        thread.join()
        assert completion.text
    finally:
        server.stop()
        for again in restarted:
            again.stop()


def test_bad_configuration_fails_clearly(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ValueError, match="no server URL"):
        OpenAIPolicy("gpt-4o-mini")  # OpenAI's API only when named
    with pytest.raises(PolicyError, match="OPENAI_API_KEY"):
        OpenAIPolicy("gpt-4o-mini", "https://api.openai.com/v1")
    with pytest.raises(ValueError, match="scheme must be http or https"):
        OpenAIPolicy("m", "ftp://example.org")
    with pytest.raises(ValueError, match="concurrency"):
        OpenAIPolicy("m", "http://127.0.0.1:1", concurrency=0)
    assert api_root("http://h:1/") == "http://h:1/v1"
    assert api_root("http://h:1/v1") == "http://h:1/v1"
