"""ScienceWorld step time and JVM memory: agentgym's env and ``scienceworld.ScienceWorldEnv``, side by side.

Both replay the same actions (each task's gold path) on the same task variations and simplification, in
alternating rounds, so machine load hits both alike. Columns: median and mean ms per step of the stock
``ScienceWorldEnv.step``, of ``agentgym/ScienceWorld-v0`` (``admissible_actions=False``, the default) and of
agentgym with ``admissible_actions=True`` (which lists the valid actions as the stock wrapper does on every
step). Then resident memory (RSS) of the JVMs: the stock one (Java's default heap), agentgym's (``-Xmx256m``),
and ``--envs N`` envs in separate JVMs against one shared JVM.

    python benchmarks/sciworld_step.py [--rounds 3] [--tasks find-living-thing-0 boil-0 ...] [--envs 4]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import gymnasium

import agentgym  # noqa: F401  (registers the env ids)
from agentgym.envs.sciworld.catalog import parse_task_id

DEFAULT_TASKS = ("find-living-thing-0", "chemistry-mix-0", "use-thermometer-0", "lifespan-longest-lived-0")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def gold_paths(task_ids: list[str], simplification: str) -> dict[str, list[str]]:
    env = gymnasium.make("agentgym/ScienceWorld-v0", simplification=simplification, step_limit=None).unwrapped
    paths = {}
    for task_id in task_ids:
        env.reset(options={"task_id": task_id})
        paths[task_id] = []
        while (action := env.expert_action()) is not None:
            paths[task_id].append(action)
            env.step(action)
    env.close()
    return paths


def time_stock(env, task_id: str, actions: list[str], simplification: str) -> list[float]:
    name, variation = parse_task_id(task_id)
    env.load(name, variation, simplification)
    env.reset()
    times = []
    for action in actions:
        start = time.perf_counter()
        env.step(action)
        times.append(time.perf_counter() - start)
    return times


def time_ours(env, task_id: str, actions: list[str]) -> list[float]:
    env.reset(options={"task_id": task_id})
    times = []
    for action in actions:
        start = time.perf_counter()
        env.step(action)
        times.append(time.perf_counter() - start)
    return times


def memory(n_envs: int, task_id: str, actions: list[str]) -> tuple[float, float]:
    """Total JVM RSS after replaying ``actions`` in ``n_envs`` envs: separate JVMs, then one shared JVM."""
    totals = []
    for shared in (False, True):
        envs = [
            gymnasium.make("agentgym/ScienceWorld-v0", simplification="", step_limit=None, share_jvm=shared).unwrapped
            for _ in range(n_envs)
        ]
        for env in envs:
            time_ours(env, task_id, actions)
        totals.append(sum(rss_mb(pid) for pid in {env.jvm_pid for env in envs}))
        for env in envs:
            env.close()
    return totals[0], totals[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tasks", nargs="+", default=list(DEFAULT_TASKS))
    parser.add_argument("--simplification", default="")
    parser.add_argument("--envs", type=int, default=4, help="envs for the shared-JVM memory comparison")
    args = parser.parse_args()

    from scienceworld import ScienceWorldEnv

    paths = gold_paths(args.tasks, args.simplification)
    stock = ScienceWorldEnv("", envStepLimit=10_000)
    ours = gymnasium.make("agentgym/ScienceWorld-v0", simplification=args.simplification, step_limit=None).unwrapped
    ours_valid = gymnasium.make(
        "agentgym/ScienceWorld-v0",
        simplification=args.simplification,
        step_limit=None,
        admissible_actions=True,
    ).unwrapped
    results: dict[str, dict[str, list[float]]] = {t: {"stock": [], "ours": [], "ours+valid": []} for t in args.tasks}
    for _ in range(args.rounds):
        for task_id in args.tasks:
            results[task_id]["stock"] += time_stock(stock, task_id, paths[task_id], args.simplification)
            results[task_id]["ours"] += time_ours(ours, task_id, paths[task_id])
            results[task_id]["ours+valid"] += time_ours(ours_valid, task_id, paths[task_id])

    print(f"ScienceWorld step time, ms (gold paths, simplification={args.simplification!r}, {args.rounds} rounds)")
    header = f"{'task':34} {'steps':>5} {'stock med':>9} {'ours med':>8} {'+valid med':>10} {'speedup':>7}"
    print(header)
    print("-" * len(header))
    pooled: dict[str, list[float]] = {"stock": [], "ours": [], "ours+valid": []}
    for task_id, row in results.items():
        med = {k: statistics.median(v) * 1000 for k, v in row.items()}
        for k, v in row.items():
            pooled[k] += v
        print(
            f"{task_id:34} {len(paths[task_id]):5d} {med['stock']:9.2f} {med['ours']:8.2f} "
            f"{med['ours+valid']:10.2f} {med['stock'] / med['ours']:6.1f}x"
        )
    med = {k: statistics.median(v) * 1000 for k, v in pooled.items()}
    mean = {k: statistics.fmean(v) * 1000 for k, v in pooled.items()}
    print(
        f"{'all (median)':34} {len(pooled['ours']):5d} {med['stock']:9.2f} {med['ours']:8.2f} "
        f"{med['ours+valid']:10.2f} {med['stock'] / med['ours']:6.1f}x"
    )
    print(
        f"{'all (mean)':34} {'':5} {mean['stock']:9.2f} {mean['ours']:8.2f} "
        f"{mean['ours+valid']:10.2f} {mean['stock'] / mean['ours']:6.1f}x"
    )

    print("\nJVM resident memory, MB (after the runs above)")
    print(f"  {'stock ScienceWorldEnv (Java default heap)':46}{rss_mb(stock._gateway.java_process.pid):7.0f}")
    print(f"  {'agentgym, jvm_heap_mb=256':46}{rss_mb(ours.jvm_pid):7.0f}")
    stock.close()
    ours.close()
    ours_valid.close()
    longest = max(args.tasks, key=lambda t: len(paths[t]))
    separate, shared = memory(args.envs, longest, paths[longest])
    print(f"  {f'{args.envs} envs, {args.envs} JVMs (256 MB heap each), total':46}{separate:7.0f}")
    print(f"  {f'{args.envs} envs, 1 shared JVM (256 MB heap)':46}{shared:7.0f}")


if __name__ == "__main__":
    main()
