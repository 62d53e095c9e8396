"""Embedded policy: decode tokens/s one prompt at a time vs 8 concurrent prompts, against plain transformers.

    python benchmarks/embedded_batching.py [--new-tokens 48] [--threads N]

Eight agent-like chats share a ~300-token system prompt and differ in the observation. Rows:

- ``agentgym sequential``: ``EmbeddedPolicy.generate`` on one request after another.
- ``agentgym 8 concurrent``: eight ``agenerate`` calls at once, as the runner makes them; the micro-batcher
  decodes them as one batch and the shared prefix's KV cache is reused.
- ``transformers sequential`` / ``transformers batch 8``: the upstream component, ``model.generate`` greedy on
  the same model, one by one and as one left-padded batch.

Every row ignores EOS so that each prompt decodes exactly ``--new-tokens`` tokens (the throughput compares
like with like). Numbers are wall-clock; on a shared 2-core machine they vary from run to run.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time

from rich.console import Console
from rich.table import Table

from agentgym.policies import Request, Sampling
from agentgym.policies.embedded import EmbeddedPolicy

SYSTEM = (
    "You are an agent in a simulated household. Each turn you receive an observation and must reply with "
    "exactly one action from the admissible commands: go to X, take X from Y, put X in/on Y, open X, "
    "close X, toggle X, clean X with Y, heat X with Y, cool X with Y, use X, examine X, inventory, look. "
) * 3
OBSERVATIONS = [
    "You are in the middle of a kitchen. You see a fridge 1, a countertop 1 and a sinkbasin 1.",
    "You arrive at desk 1. On the desk 1, you see a pen 2, a laptop 1 and a mug 3.",
    "You open the drawer 2. The drawer 2 is open. In it, you see a keychain 1.",
    "You pick up the apple 1 from the countertop 2.",
    "Nothing happens.",
    "You are in a bedroom. You see a bed 1, a dresser 1, a garbagecan 1 and a shelf 4.",
    "You heat the potato 1 using the microwave 1.",
    "On the sidetable 1, you see a cellphone 1 and a creditcard 2.",
]


def requests(new_tokens: int) -> list[Request]:
    return [
        Request(
            [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": f"Observation: {obs}\nAction:"},
            ],
            Sampling(max_tokens=new_tokens),
        )
        for obs in OBSERVATIONS
    ]


def run_agentgym(policy: EmbeddedPolicy, new_tokens: int, concurrent: bool) -> tuple[float, int]:
    batch = requests(new_tokens)
    eos, policy._eos = policy._eos, set()  # decode exactly new_tokens per prompt (like min_new_tokens below)
    start = time.perf_counter()
    try:
        if concurrent:

            async def gather():
                return await asyncio.gather(*(policy.agenerate([r]) for r in batch))

            completions = [c[0] for c in asyncio.run(gather())]
        else:
            completions = [policy.generate([r])[0] for r in batch]
    finally:
        policy._eos = eos
    elapsed = time.perf_counter() - start
    return elapsed, sum(c.output_tokens or 0 for c in completions)


def run_transformers(policy: EmbeddedPolicy, new_tokens: int, batched: bool) -> tuple[float, int]:
    import torch

    tokenizer, model = policy._tokenizer, policy._model
    tokenizer.padding_side = "left"
    texts = [tokenizer.apply_chat_template(r.messages, add_generation_prompt=True, tokenize=False) for r in requests(1)]
    settings = dict(
        max_new_tokens=new_tokens,
        min_new_tokens=new_tokens,
        do_sample=False,
        pad_token_id=tokenizer.pad_token_id,
    )
    groups = [texts] if batched else [[t] for t in texts]
    start = time.perf_counter()
    tokens = 0
    with torch.inference_mode():
        for group in groups:
            inputs = tokenizer(group, return_tensors="pt", padding=True, add_special_tokens=False)
            out = model.generate(**inputs, **settings)
            tokens += (out.shape[1] - inputs["input_ids"].shape[1]) * len(group)
    return time.perf_counter() - start, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--new-tokens", type=int, default=48)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()

    start = time.perf_counter()
    policy = EmbeddedPolicy(threads=args.threads)
    policy.load()
    load_s = time.perf_counter() - start
    policy.generate(requests(4)[:1])  # warm-up
    prompt_tokens = len(
        policy._tokenizer.apply_chat_template(requests(1)[0].messages, add_generation_prompt=True, return_dict=False)
    )

    rows = []
    for label, fn in [
        ("agentgym sequential", lambda: run_agentgym(policy, args.new_tokens, concurrent=False)),
        ("agentgym 8 concurrent", lambda: run_agentgym(policy, args.new_tokens, concurrent=True)),
        ("transformers sequential", lambda: run_transformers(policy, args.new_tokens, batched=False)),
        ("transformers batch 8", lambda: run_transformers(policy, args.new_tokens, batched=True)),
    ]:
        elapsed, tokens = fn()
        rows.append((label, elapsed, tokens))

    table = Table(title=f"SmolLM2-135M on CPU: 8 prompts of ~{prompt_tokens} tokens, {args.new_tokens} new tokens each")
    for column in ("mode", "wall s", "new tokens", "tokens/s", "vs agentgym sequential"):
        table.add_column(column, justify="right")
    base = rows[0][2] / rows[0][1]
    for label, elapsed, tokens in rows:
        table.add_row(
            label, f"{elapsed:.2f}", str(tokens), f"{tokens / elapsed:.1f}", f"{tokens / elapsed / base:.2f}x"
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    console = Console()
    console.print(table)
    console.print(
        f"model load (cached weights): {load_s:.1f} s; batch sizes seen: {policy.batch_sizes[-3:]}; "
        f"prefix cache: {policy.stats}; peak RSS {peak_mb:.0f} MB"
    )


if __name__ == "__main__":
    main()
