"""WebShop search: agreement with the original's Lucene ranking, and latency on 1k and 100k products.

    AGENTGYM_DATA=/path/to/data python benchmarks/webshop_search.py [--scale 100000]

Engines, each with the original's settings (BM25 k1=0.9, b=0.4, English stop words, Porter stemming, top 50):
``agentgym`` (:mod:`agentgym.envs.webshop.search`) and, when installed, ``bm25s`` (its ``lucene`` method with
PyStemmer), the pure-Python engine the research notes measured at 95% top-10 agreement. The reference
rankings are pyserini/Anserini 0.22.1 (Lucene 9.5) top-10 lists stored in
``tests/envs/webshop/data/lucene_top10_1k.json`` (Lucene itself needs Java and is not a dependency).
The scale test indexes ``--scale`` synthetic products whose texts are drawn word by word (seeded) from the
1k catalog's documents, and times queries drawn from the goal instructions.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from agentgym.data import find
from agentgym.envs.webshop.analysis import STOP_WORDS
from agentgym.envs.webshop.data import load_catalog
from agentgym.envs.webshop.search import SearchIndex

REFERENCE = Path(__file__).parents[1] / "tests/envs/webshop/data/lucene_top10_1k.json"


def reference_queries() -> list[tuple[str, list[str]]]:
    ins = json.loads(find("webshop/items_ins_v2_1000.json").read_text())
    human = json.loads(find("webshop/items_human_ins.1k_subset.json").read_text())
    human_goals = json.loads(find("webshop/human_goals.json").read_text())
    out = []
    for entry in json.loads(REFERENCE.read_text())["queries"]:
        kind, *key = entry["source"]
        text = {
            "literal": lambda k: k[0],
            "items_ins_v2_1000": lambda k: ins[k[0]]["instruction"],
            "items_human_ins_1k": lambda k: human[k[0]][k[1]]["instruction"],
            "human_goals": lambda k: human_goals[k[0]],
        }[kind](key)
        out.append((text.lower(), entry["top10"]))
    return out


class Bm25sEngine:
    """bm25s with Lucene's parameters, for comparison."""

    def __init__(self, docs: list[tuple[str, str]]) -> None:
        import bm25s
        import Stemmer

        self.bm25s, self.stemmer = bm25s, Stemmer.Stemmer("porter")
        self.asins = [a for a, _ in docs]
        tokens = bm25s.tokenize([t for _, t in docs], stopwords=sorted(STOP_WORDS), stemmer=self.stemmer,
                                show_progress=False)  # fmt: skip
        self.retriever = bm25s.BM25(method="lucene", k1=0.9, b=0.4)
        self.retriever.index(tokens, show_progress=False)

    def search(self, query: str, k: int = 50) -> list[str]:
        tokens = self.bm25s.tokenize([query], stopwords=sorted(STOP_WORDS), stemmer=self.stemmer,
                                     show_progress=False)  # fmt: skip
        if not tokens.ids[0]:
            return []
        results, scores = self.retriever.retrieve(tokens, k=min(k, len(self.asins)), show_progress=False)
        return [self.asins[i] for i, s in zip(results[0], scores[0], strict=True) if s > 0]


def timed_build(factory, docs):
    start = time.perf_counter()
    engine = factory(docs)
    return engine, time.perf_counter() - start


def latency_ms(engine, queries: list[str]) -> tuple[float, float]:
    times = []
    for q in queries:
        start = time.perf_counter()
        engine.search(q)
        times.append((time.perf_counter() - start) * 1e3)
    return float(np.percentile(times, 50)), float(np.percentile(times, 99))


def agreement(engine, reference) -> tuple[float, float, float]:
    """Return the mean top-10 overlap, the top-1 agreement and the share of identical first pages."""
    overlap, top1, identical = [], [], []
    for query, lucene in reference:
        mine = engine.search(query)[:10]
        identical.append(mine == lucene)
        if not lucene:
            continue
        overlap.append(len(set(mine) & set(lucene)) / len(lucene))
        top1.append(bool(mine) and mine[0] == lucene[0])
    return float(np.mean(overlap)), float(np.mean(top1)), float(np.mean(identical))


def synthetic_docs(docs: list[tuple[str, str]], n: int, seed: int = 0) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    words = [w for _, t in docs for w in t.split()]
    lengths = [len(t.split()) for _, t in docs]
    return [(f"S{i:09d}", " ".join(rng.choices(words, k=rng.choice(lengths)))) for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=int, default=100_000, help="synthetic products for the scale test")
    args = parser.parse_args()
    catalog = load_catalog("1k")
    docs = list(catalog.documents())
    reference = reference_queries()
    queries = [q for q, _ in reference]
    engines = {"agentgym": SearchIndex.build}
    try:
        import bm25s  # noqa: F401
        import Stemmer  # noqa: F401

        engines["bm25s"] = Bm25sEngine
    except ImportError:
        print("bm25s/PyStemmer not installed: comparing agentgym only", file=sys.stderr)

    table = Table(title=f"WebShop search, {len(queries)} queries vs Lucene top-10")
    columns = ("engine", "products", "build s", "top-10 overlap", "top-1 agree", "page 1 identical", "p50 ms", "p99 ms")
    for column in columns:
        table.add_column(column, justify="right")
    for name, factory in engines.items():
        engine, build = timed_build(factory, docs)
        overlap, top1, identical = agreement(engine, reference)
        p50, p99 = latency_ms(engine, queries)
        scores = (f"{overlap:.3f}", f"{top1:.3f}", f"{identical:.3f}", f"{p50:.2f}", f"{p99:.2f}")
        table.add_row(name, "1,000", f"{build:.2f}", *scores)
    big = synthetic_docs(docs, args.scale)
    for name, factory in engines.items():
        engine, build = timed_build(factory, big)
        p50, p99 = latency_ms(engine, queries)
        table.add_row(name, f"{args.scale:,} (synthetic)", f"{build:.1f}", "-", "-", "-", f"{p50:.2f}", f"{p99:.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()
