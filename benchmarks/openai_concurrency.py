"""Runner + OpenAI-compatible backend against a real CPU server: episodes/s with 1 vs 8 episodes in flight.

    python benchmarks/openai_concurrency.py [--episodes 8] [--max-steps 2] [--max-tokens 24]

Starts ``llama_cpp.server`` with the embedded SmolLM2 GGUF, then plays Game of 24 episodes with the ``direct``
agent through ``OpenAIPolicy`` with 1 and with 8 env workers (= episodes in flight). The baseline is the raw
component: the same server hit with plain ``httpx`` chat requests carrying the same first observations, 1 and
8 at a time. llama.cpp's Python
server decodes one request at a time, so concurrency can only overlap the client's own work (env steps, HTTP)
with generation; a batching server (SGLang, vLLM) is where concurrency multiplies throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import gymnasium
import httpx
from rich.console import Console
from rich.table import Table

import agentgym
from agentgym.agent import DirectAgent
from agentgym.policies import Request, Sampling
from agentgym.policies.embedded import embedded_gguf_path
from agentgym.policies.llamacpp import launch_server, model_alias
from agentgym.policies.openai import OpenAIPolicy

MAX_TOKENS = 24


class ShortDirectAgent(DirectAgent):
    """The direct agent with a short answer budget (the CPU model is slow)."""

    name = "direct-short"

    def request(self, content: str, *, sampling: Sampling | None = None) -> Request:
        return super().request(content, sampling=Sampling(max_tokens=MAX_TOKENS))


def game24_prompts(count: int) -> list[str]:
    """The first observations of the first ``count`` Game of 24 tasks: the prompts the direct agent sends."""
    env = gymnasium.make("agentgym/Game24-v0")
    prompts = [env.reset(options={"index": i})[0] for i in range(count)]
    env.close()
    return prompts


async def raw_requests(url: str, model: str, prompts: list[str], concurrency: int) -> float:
    """Send each prompt once, ``concurrency`` at a time, with plain httpx; return the wall time."""
    semaphore = asyncio.Semaphore(concurrency)

    async with httpx.AsyncClient(timeout=300) as client:

        async def one(prompt: str) -> Any:
            async with semaphore:
                body = {
                    "model": model,
                    "messages": [{"role": "user", "content": prompt}],
                    "max_tokens": MAX_TOKENS,
                    "temperature": 0,
                }
                response = await client.post(url + "/v1/chat/completions", json=body)
                response.raise_for_status()

        start = time.perf_counter()
        await asyncio.gather(*(one(p) for p in prompts))
        return time.perf_counter() - start


def main() -> None:
    global MAX_TOKENS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=8)
    parser.add_argument("--max-steps", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=MAX_TOKENS)
    parser.add_argument("--server-threads", type=int, default=1, help="llama.cpp threads (1: robust when busy)")
    args = parser.parse_args()
    MAX_TOKENS = args.max_tokens
    model = model_alias(embedded_gguf_path())
    table = Table(title=f"llama.cpp server (SmolLM2-135M Q4_1, CPU), {args.max_tokens} new tokens at most")
    for column in ("workload", "in flight", "wall s", "rate", "vs 1 in flight"):
        table.add_column(column, justify="right")
    with launch_server(n_ctx=2048, threads=args.server_threads) as server:
        prompts = game24_prompts(args.episodes) * args.max_steps
        calls = len(prompts)
        asyncio.run(raw_requests(server.url, model, prompts[:1], 1))  # warm-up
        raw = {c: asyncio.run(raw_requests(server.url, model, prompts, c)) for c in (1, 8)}
        for c, elapsed in raw.items():
            table.add_row(
                "raw httpx requests",
                str(c),
                f"{elapsed:.1f}",
                f"{calls / elapsed:.2f} req/s",
                f"{raw[1] / elapsed:.2f}x",
            )
        runs = {}
        for workers in (1, 8):
            policy = OpenAIPolicy(model, server.base_url, concurrency=8)
            start = time.perf_counter()
            result = agentgym.evaluate(
                "game24",
                agent=ShortDirectAgent,
                policy=policy,
                limit=args.episodes,
                max_steps=args.max_steps,
                workers=workers,
                progress=False,
            )
            runs[workers] = time.perf_counter() - start
            errors = sum(1 for r in result.records if r.get("error"))
            table.add_row(
                f"runner + OpenAIPolicy ({errors} errors)",
                str(workers),
                f"{runs[workers]:.1f}",
                f"{args.episodes / runs[workers]:.2f} ep/s",
                f"{runs[1] / runs[workers]:.2f}x",
            )
    Console().print(table)


if __name__ == "__main__":
    main()
