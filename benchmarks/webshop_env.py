"""WebShop text-env step latency and Flask-site requests/s.

    AGENTGYM_DATA=/path/to/data python benchmarks/webshop_env.py [--goals 100] [--clients 8] [--seconds 10]

Text env: the oracle plays ``--goals`` test goals; the time of every ``step`` is recorded by action kind
(search, click), next to its two parts measured apart in the same run: the raw search engine call and the
page render + parse (the original's SimServer renders Jinja and parses with BeautifulSoup the same way; the
original package itself is research-licensed and not installable here, so it is not run).
Site: ``--clients`` threads request search-result and item pages of the site on a loopback port for
``--seconds``; reported as requests/s and latency percentiles.
"""

from __future__ import annotations

import argparse
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from rich.console import Console
from rich.table import Table

from agentgym.envs.webshop import pages
from agentgym.envs.webshop.env import WebShopEnv
from agentgym.envs.webshop.session import render_page
from agentgym.envs.webshop.site import BackgroundSite
from agentgym.envs.webshop.task import goal_query, shop_resources


def percentiles(times: list[float]) -> tuple[str, str, str]:
    a = np.array(times) * 1e3
    return f"{len(a)}", f"{np.percentile(a, 50):.2f}", f"{np.percentile(a, 99):.2f}"


def bench_env(goals: int) -> Table:
    env = WebShopEnv()
    env.reset(options={"index": 0})  # load the catalog, index and spaCy before timing
    by_kind: dict[str, list[float]] = {"search": [], "click": [], "buy": []}
    search_raw, render_raw = [], []
    for index in range(goals):
        env.reset(options={"split": "test", "index": index})
        while (action := env.expert_action()) is not None:
            kind = "buy" if action == "click[Buy Now]" else action.split("[", 1)[0]
            start = time.perf_counter()
            _, _, done, _, _ = env.step(action)
            by_kind[kind].append(time.perf_counter() - start)
            if kind == "search":
                start = time.perf_counter()
                env.session.index.search(action[7:-1])
                search_raw.append(time.perf_counter() - start)
            if not done:
                start = time.perf_counter()
                pages.parse(render_page(env.session))
                render_raw.append(time.perf_counter() - start)
            if done:
                break
    table = Table(title=f"WebShop-v0 step latency, oracle on {goals} test goals (ms)")
    for column in ("what", "n", "p50", "p99"):
        table.add_column(column, justify="right")
    for kind, times in by_kind.items():
        table.add_row(f"step: {kind}", *percentiles(times))
    table.add_row("  part: search engine", *percentiles(search_raw))
    table.add_row("  part: render + parse page", *percentiles(render_raw))
    return table


def bench_site(clients: int, seconds: float) -> Table:
    catalog, _ = shop_resources("1k")
    goals = catalog.goals("synthetic")
    with BackgroundSite() as site:
        paths = []
        for i in range(50):
            session = f"bench_fixed_{i}"
            urllib.request.urlopen(f"{site.url}/{session}").read()
            keywords = urllib.parse.quote(str(goal_query(goals[i]).split(" ")))
            paths.append(f"/search_results/{session}/{keywords}/1")
            paths.append(f"/item_page/{session}/{goals[i]['asin']}/{keywords}/1/%7B%7D")

        def client(offset: int) -> list[tuple[str, float]]:
            out, deadline, i = [], time.perf_counter() + seconds, offset
            while time.perf_counter() < deadline:
                path = paths[i % len(paths)]
                start = time.perf_counter()
                with urllib.request.urlopen(site.url + path) as response:
                    response.read()
                out.append(("search" if "search_results" in path else "item", time.perf_counter() - start))
                i += 1
            return out

        start = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            samples = [s for part in pool.map(client, range(clients)) for s in part]
        elapsed = time.perf_counter() - start
    table = Table(title=f"WebShop site, {clients} concurrent clients for {seconds:.0f} s (threaded werkzeug)")
    for column in ("page", "requests", "p50 ms", "p99 ms", "requests/s"):
        table.add_column(column, justify="right")
    for kind in ("search", "item"):
        times = [t for k, t in samples if k == kind]
        table.add_row(kind, *percentiles(times), f"{len(times) / elapsed:.0f}")
    table.add_row("all", *percentiles([t for _, t in samples]), f"{len(samples) / elapsed:.0f}")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--goals", type=int, default=100)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    console = Console()
    console.print(bench_env(args.goals))
    console.print(bench_site(args.clients, args.seconds))


if __name__ == "__main__":
    main()
