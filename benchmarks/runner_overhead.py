"""Runner overhead per step, and episodes/s with 1 vs 2 worker processes, on Game of 24.

    python benchmarks/runner_overhead.py [--episodes 100]

Two workloads: ``random`` (the direct agent with the random policy: every step is a cheap invalid action, so
the time is the runner's own: agent call, RPC to the worker, record keeping) and ``expert`` (the solver's
steps). The baseline is the same work as a plain ``gymnasium.make`` loop in this process. Worker start-up
(a fresh interpreter importing gymnasium and agentgym) is included in the workers' wall time and shown apart.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import time

import gymnasium
from rich.console import Console
from rich.table import Table

import agentgym
from agentgym.policies import RandomPolicy, Request
from agentgym.runner.worker import EnvConfig, EnvWorker

ENV_ID = "agentgym/Game24-v0"


def raw_loop(task_ids: list[str], workload: str) -> tuple[float, int]:
    """The baseline: gymnasium.make and a plain loop in this process, the same actions as the runner's."""
    env = gymnasium.make(ENV_ID)
    policy = RandomPolicy(seed=0)
    steps = 0
    start = time.perf_counter()
    for task_id in task_ids:
        observation, _ = env.reset(options={"task_id": task_id})
        terminated = truncated = False
        while not (terminated or truncated):
            if workload == "expert":
                action = env.unwrapped.expert_action()
            else:
                action = policy.generate([Request([{"role": "user", "content": observation}])])[0].text
            observation, _, terminated, truncated, _ = env.step(action)
            steps += 1
    return time.perf_counter() - start, steps


def runner(task_ids: list[str], workload: str, workers: int) -> tuple[float, int]:
    agent, policy = ("expert", "expert") if workload == "expert" else ("direct", RandomPolicy(seed=0))
    start = time.perf_counter()
    result = agentgym.evaluate(ENV_ID, agent, policy, task_ids=task_ids, workers=workers, progress=False)
    assert result.summary["errors"] == 0
    return time.perf_counter() - start, sum(r["num_steps"] for r in result.records)


async def worker_start_s() -> float:
    worker = EnvWorker(EnvConfig(ENV_ID))
    start = time.perf_counter()
    await worker.start()
    elapsed = time.perf_counter() - start
    await worker.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100)
    args = parser.parse_args()
    task_ids = list(gymnasium.make(ENV_ID).unwrapped.tasks.split("all"))[: args.episodes]
    raw_loop(task_ids, "expert")  # warm this process's solver cache, so that the baseline runs warm too

    machine = f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, Python {platform.python_version()}"
    table = Table(title=f"{ENV_ID}: {len(task_ids)} episodes per row; {machine}")
    for column in ("workload", "setup", "wall s", "episodes/s", "ms/step", "vs raw ms/step"):
        table.add_column(column, justify="left" if column in ("workload", "setup") else "right")
    for workload in ("random", "expert"):
        raw_wall, raw_steps = raw_loop(task_ids, workload)
        rows = [("raw env loop (baseline)", raw_wall, raw_steps)]
        rows.append(("runner, in-process", *runner(task_ids, workload, 0)))
        rows += [(f"runner, {n} worker(s)", *runner(task_ids, workload, n)) for n in (1, 2)]
        for name, wall, steps in rows:
            overhead = (wall / steps - raw_wall / raw_steps) * 1e3
            table.add_row(
                workload,
                name,
                f"{wall:.2f}",
                f"{len(task_ids) / wall:.1f}",
                f"{wall / steps * 1e3:.3f}",
                "-" if name.startswith("raw") else f"{overhead:+.3f}",
            )
    console = Console(width=120)
    console.print(table)
    start_s = asyncio.run(worker_start_s())
    console.print(f"one worker's start-up (fresh interpreter, imports, env built): {start_s:.2f} s")


if __name__ == "__main__":
    main()
