"""SGLang on a GPU: generation tokens/s, prefix-cache hit rate, and ALFWorld valid_unseen wall time.

    python benchmarks/sglang_gpu.py --model /path/to/Llama-3.1-8B-Instruct [--requests 256] [--alfworld]

Launches ``sglang.launch_server`` (flashinfer attention where installed, ``--enable-cache-report``) through
``agentgym.policies.sglang.launch_server`` and measures:

- tokens/s: ``--requests`` agent-like chats sharing a long system prompt, sent at once through
  ``SGLangServerPolicy`` (its concurrency limit), against the same chats sent one at a time (the baseline);
- prefix-cache hit rate: cached prompt tokens / prompt tokens, from the server's usage reports;
- with ``--alfworld``: wall time of the ReAct baseline on ALFWorld valid_unseen (needs the ALFWorld env, the
  ``react`` agent and the ALFWorld data).

Exits with a message naming what is missing (SGLang, a GPU, the model folder) instead of failing halfway.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import sys
import time

SYSTEM = (
    "You are an agent in a simulated household. Each turn you receive an observation and reply with exactly "
    "one admissible command, such as go to X, take X from Y, put X in/on Y, open X, heat X with Y. "
) * 20


def blocked() -> str | None:
    if importlib.util.find_spec("sglang") is None:
        return "sglang is not installed (pip install 'agentgym[sglang]')"
    if importlib.util.find_spec("torch") is None:
        return "torch is not installed"
    import torch

    if not torch.cuda.is_available():
        return "no CUDA GPU is visible"
    return None


async def measure(policy, count: int, concurrent: bool) -> tuple[float, int]:
    from agentgym.policies import Request, Sampling

    requests = [
        Request(
            [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": f"Observation {i}: you see a desk."},
            ],
            Sampling(max_tokens=64, temperature=0.7, seed=i),
        )
        for i in range(count)
    ]
    start = time.perf_counter()
    if concurrent:
        completions = await policy.agenerate(requests)
    else:
        completions = [(await policy.agenerate([r]))[0] for r in requests]
    return time.perf_counter() - start, sum(c.output_tokens or 0 for c in completions)


def cache_hit_rate(url: str, model: str, count: int) -> float:
    import httpx

    prompt = prompt_cached = 0
    with httpx.Client(timeout=300) as client:
        for i in range(count):
            body = {
                "model": model,
                "messages": [
                    {"role": "system", "content": SYSTEM},
                    {"role": "user", "content": f"Step {i}."},
                ],
                "max_tokens": 8,
            }
            usage = client.post(url + "/v1/chat/completions", json=body).json()["usage"]
            prompt += usage["prompt_tokens"]
            prompt_cached += (usage.get("prompt_tokens_details") or {}).get("cached_tokens", 0)
    return prompt_cached / max(prompt, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="local model folder (there is no model hub)")
    parser.add_argument("--requests", type=int, default=256)
    parser.add_argument("--alfworld", action="store_true")
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args()
    reason = blocked() or (None if os.path.isdir(args.model) else f"model folder {args.model} does not exist")
    if reason:
        print(f"sglang_gpu: not run: {reason}")
        return 2

    from agentgym.policies.sglang import SGLangServerPolicy

    policy = SGLangServerPolicy.launch(args.model, extra_args=["--enable-cache-report"])
    try:
        sequential_s, sequential_tokens = asyncio.run(measure(policy, min(args.requests, 32), concurrent=False))
        concurrent_s, concurrent_tokens = asyncio.run(measure(policy, args.requests, concurrent=True))
        hit_rate = cache_hit_rate(policy.server.url, policy.model, 16)
        print(f"{'mode':<28}{'requests':>10}{'wall s':>10}{'tokens/s':>12}")
        print(
            f"{'one at a time':<28}{min(args.requests, 32):>10}{sequential_s:>10.1f}"
            f"{sequential_tokens / sequential_s:>12.0f}"
        )
        print(f"{'all at once':<28}{args.requests:>10}{concurrent_s:>10.1f}{concurrent_tokens / concurrent_s:>12.0f}")
        print(f"prefix-cache hit rate (16 chats, one {len(SYSTEM)}-character system prompt): {hit_rate:.1%}")
        if args.alfworld:
            import agentgym

            start = time.perf_counter()
            result = agentgym.evaluate(
                "alfworld",
                agent="react",
                policy=policy,
                split="valid_unseen",
                workers=args.workers,
                progress=False,
            )
            print(
                f"ALFWorld valid_unseen: {result.summary.get('episodes')} episodes in "
                f"{time.perf_counter() - start:.0f} s, success rate {result.summary.get('success_rate')}"
            )
    finally:
        policy.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
