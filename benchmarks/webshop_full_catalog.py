"""WebShop's full catalog at scale: a synthetic 1.18M-product catalog loaded the way the env loads the real one.

    AGENTGYM_DATA=../shared/data nice python benchmarks/webshop_full_catalog.py [--products 1180000] [--keep DIR]

The official full catalog (``items_shuffle.json``, 5.2 GB) is not redistributable test data, so this script
writes one of the same size and shape from the 1k products: the first 1,000 are the originals (with their
instructions, so goals exist), every further product is a copy of one of them with a new ASIN, a perturbed
title (a word of another product and a model code), a perturbed price and a random subset of each option's
values, in the raw form of the official file; ``items_ins_v2.json`` gets every product's attributes. Then,
each in a fresh process so that its peak memory is its own:

1. ingest: ``load_catalog("full")`` and ``SearchIndex.for_catalog`` with AGENTGYM_DATA pointing at those
   files: the code path of ``WebShopEnv(catalog="full")`` (SQLite store, then BM25 index);
2. serve: open the ingested catalog and index (the start-up cost of every later run), time the search
   engine on goal instructions twice, pruned (what the env runs) and exhaustive (every matching document
   scored), checking on every query that both return the same top 50 with the same scores, and time
   ``WebShopEnv(catalog="full")`` steps (search, click, back).

Targets (issue 17, on 2 cores): ingest at most 15 minutes, peak memory at most 2 GB, search p50 at most 25 ms.
Times are printed as wall clock and as the process's CPU time: on a shared machine the second is the one that
does not depend on the other users' load.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PHASES = ("ingest", "serve")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _raw_product(product: dict, asin: str, rng: random.Random, title_words: list[str]) -> dict:
    """Return a raw-form product (as in ``items_shuffle.json``) derived from a processed 1k product."""
    words = product["Title"].split()
    if rng.random() < 0.5 and len(words) > 2:
        words.pop(rng.randrange(len(words)))
    words.insert(rng.randrange(len(words) + 1), rng.choice(title_words))
    code = "".join(rng.choices(string.ascii_uppercase + string.digits, k=rng.randint(4, 7)))
    prices = [round(p * rng.uniform(0.8, 1.25), 2) for p in product["pricing"]]
    pricing = f"${prices[0]}" if len(prices) == 1 else f"${min(prices)} - ${max(prices)}"
    options = {}
    for name, values in product["options"].items():
        kept = [v for v in values if rng.random() < 0.7] or values[:1]
        options[name] = [{"value": v, "image": product["option_to_image"].get(v)} for v in kept]
    return {
        "asin": asin,
        "name": " ".join([*words, code]),
        "full_description": product.get("full_description") or product["Description"],
        "small_description": product["BulletPoints"],
        "pricing": pricing,
        "images": [product["MainImage"]],
        "product_category": product.get("product_category", ""),
        "category": product.get("category", ""),
        "query": product.get("query", ""),
        "customization_options": options or "",
    }


def generate(data_dir: Path, products: int, seed: int = 0) -> None:
    """Write ``webshop/items_shuffle.json`` and ``webshop/items_ins_v2.json`` under ``data_dir``, streaming."""
    from agentgym.data import find

    base = json.loads(find("webshop/items_shuffle_1000.reconstructed_processed.json").read_text())
    ins = json.loads(find("webshop/items_ins_v2_1000.json").read_text())
    rng = random.Random(seed)
    title_words = [w for p in base for w in p["Title"].split()]
    folder = data_dir / "webshop"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "items_shuffle.json", "w") as items, open(folder / "items_ins_v2.json", "w") as attrs:
        items.write("[")
        attrs.write("{")
        for i in range(products):
            original = base[i % len(base)]
            if i < len(base):
                raw, entry = original, ins.get(original["asin"], {"attributes": []})
            else:
                raw = _raw_product(original, f"S{i:09d}", rng, title_words)
                entry = {"attributes": ins.get(original["asin"], {}).get("attributes", [])}
            sep = "," if i else ""
            items.write(sep + json.dumps(raw))
            attrs.write(f"{sep}{json.dumps(raw['asin'])}:{json.dumps(entry)}")
        items.write("]")
        attrs.write("}")
    texts = [e["instruction"].lower() for e in ins.values() if e.get("instruction")]
    (data_dir / "queries.json").write_text(json.dumps(texts))


def ingest() -> dict:
    from agentgym.envs.webshop.data import load_catalog
    from agentgym.envs.webshop.search import SearchIndex

    start, cpu = time.perf_counter(), _cpu_s()
    catalog = load_catalog("full")
    store_s, store_cpu = time.perf_counter() - start, _cpu_s() - cpu
    start, cpu = time.perf_counter(), _cpu_s()
    index = SearchIndex.for_catalog(catalog)
    index_s, index_cpu = time.perf_counter() - start, _cpu_s() - cpu
    size = catalog.path.stat().st_size + sum(p.stat().st_size for p in index.folder.iterdir())
    return {
        "products": len(catalog),
        "store_s": store_s,
        "index_s": index_s,
        "store_cpu_s": store_cpu,
        "index_cpu_s": index_cpu,
        "disk_mb": size / 2**20,
        "peak_mb": _peak_mb(),
    }


def serve(queries: int, steps: int) -> dict:
    from agentgym.data import find
    from agentgym.envs.webshop.env import WebShopEnv
    from agentgym.envs.webshop.task import shop_resources

    start, cpu = time.perf_counter(), _cpu_s()
    _, index = shop_resources("full")
    open_s, open_cpu = time.perf_counter() - start, _cpu_s() - cpu
    texts = json.loads((find("webshop").parent / "queries.json").read_text())[:queries]
    timings: dict[str, tuple[list[float], list[float]]] = {"pruned": ([], []), "exhaustive": ([], [])}
    differing = 0
    for text in texts:
        results = []
        for mode, (wall_ms, cpu_ms) in timings.items():
            start, cpu = time.perf_counter(), time.process_time()
            results.append(index.scored(text, exhaustive=mode == "exhaustive"))
            wall_ms.append((time.perf_counter() - start) * 1e3)
            cpu_ms.append((time.process_time() - cpu) * 1e3)
        differing += results[0] != results[1]
    search = {
        f"{mode}_{stat}{q}": float(np.percentile(times, q))
        for mode, (wall_ms, cpu_ms) in timings.items()
        for stat, times in (("wall", wall_ms), ("cpu", cpu_ms))
        for q in (50, 99)
    }
    env = WebShopEnv(catalog="full")
    env.reset(options={"index": 0})
    step_ms: list[float] = []
    step_cpu_ms: list[float] = []
    rng = random.Random(0)
    while len(step_ms) < steps:
        actions = [f"search[{rng.choice(texts)}]"]
        env.reset(options={"index": rng.randrange(100)})
        for action in actions:
            start, cpu = time.perf_counter(), time.process_time()
            env.step(action)
            step_ms.append((time.perf_counter() - start) * 1e3)
            step_cpu_ms.append((time.process_time() - cpu) * 1e3)
            clickables = [a for a in env.available_actions()["clickables"] if a.lower().startswith(("b0", "s0"))]
            if clickables and len(actions) < 3:
                actions += [f"click[{rng.choice(clickables)}]", "click[< Prev]"]
    return {
        "open_s": open_s,
        "open_cpu_s": open_cpu,
        "search": search,
        "differing": differing,
        "queries": len(texts),
        "step_cpu_p50_ms": float(np.percentile(step_cpu_ms, 50)),
        "step_p50_ms": float(np.percentile(step_ms, 50)),
        "step_p99_ms": float(np.percentile(step_ms, 99)),
        "peak_mb": _peak_mb(),
    }


def run_phase(phase: str, data_dir: Path, cache_dir: Path, args: argparse.Namespace) -> dict:
    env = dict(os.environ, AGENTGYM_DATA=str(data_dir), XDG_CACHE_HOME=str(cache_dir))
    cmd = [sys.executable, __file__, "--phase", phase, "--queries", str(args.queries), "--steps", str(args.steps)]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--products", type=int, default=1_180_000)
    parser.add_argument("--queries", type=int, default=300, help="goal instructions timed as searches")
    parser.add_argument("--steps", type=int, default=200, help="env steps timed")
    parser.add_argument("--keep", type=Path, help="write the catalog and cache here (reused when present)")
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "ingest":
        print(json.dumps(ingest()))
        return
    if args.phase == "serve":
        print(json.dumps(serve(args.queries, args.steps)))
        return
    root = args.keep or Path(tempfile.mkdtemp(prefix="webshop-full-"))
    data_dir, cache_dir = root / "data", root / "cache"
    if not (data_dir / "webshop" / "items_ins_v2.json").exists():
        start = time.perf_counter()
        generate(data_dir, args.products)
        print(f"generated {args.products:,} products in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    size = (data_dir / "webshop" / "items_shuffle.json").stat().st_size
    ingested = run_phase("ingest", data_dir, cache_dir, args)
    served = run_phase("serve", data_dir, cache_dir, args)
    print(f"catalog: {ingested['products']:,} products, items_shuffle.json {size / 2**30:.2f} GiB")
    print(
        f"ingest: {ingested['store_s'] + ingested['index_s']:.0f} s wall (store {ingested['store_s']:.0f} s, "
        f"index {ingested['index_s']:.0f} s), {ingested['store_cpu_s'] + ingested['index_cpu_s']:.0f} s CPU "
        f"(store {ingested['store_cpu_s']:.0f} s, index {ingested['index_cpu_s']:.0f} s), "
        f"database {ingested['disk_mb']:.0f} MiB, peak memory {ingested['peak_mb']:.0f} MiB"
    )
    print(
        f"serve: open {served['open_s']:.2f} s wall ({served['open_cpu_s']:.2f} s CPU), "
        f"step p50 {served['step_p50_ms']:.1f} ms p99 {served['step_p99_ms']:.1f} ms wall "
        f"(CPU p50 {served['step_cpu_p50_ms']:.1f} ms), peak memory {served['peak_mb']:.0f} MiB"
    )
    search = served["search"]
    for mode in ("pruned", "exhaustive"):
        print(
            f"search {mode:>10}: p50 {search[f'{mode}_wall50']:.1f} ms p99 {search[f'{mode}_wall99']:.1f} ms wall, "
            f"CPU p50 {search[f'{mode}_cpu50']:.1f} ms p99 {search[f'{mode}_cpu99']:.1f} ms"
        )
    print(
        f"pruned and exhaustive top 50 (ids and scores) differ on {served['differing']} of {served['queries']} queries"
    )
    if not args.keep:
        import shutil

        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
