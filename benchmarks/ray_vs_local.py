"""Episodes/s with the local executor vs the Ray executor, 1 and 2 workers, on the same machine.

    python benchmarks/ray_vs_local.py [--episodes 100] [--env game24|alfworld] [--address HOST:PORT]

Each row is one ``agentgym.evaluate`` of the expert agent on the same tasks, worker start-up included (a
fresh interpreter for a local worker, an actor for Ray). Ray runs a private instance started here with
``ray.init(num_cpus=2)`` (not timed), or the cluster at ``--address``. "Ray / local" is the ratio of wall times
for the same worker count: Ray's overhead (actor calls through Ray's object store and scheduler instead of a
socket pair to a child process).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import time
from collections.abc import Awaitable, Callable
from typing import Any

import gymnasium
import ray
from rich.console import Console
from rich.table import Table

import agentgym
from agentgym.registry import resolve_env_id
from agentgym.runner.ray_executor import RayExecutor
from agentgym.runner.worker import EnvConfig, EnvWorker

SPLITS = {"agentgym/Game24-v0": "all", "agentgym/ALFWorld-v0": "valid_unseen"}


def run(env_id: str, task_ids: list[str], executor: str, workers: int) -> tuple[float, int]:
    start = time.perf_counter()
    result = agentgym.evaluate(env_id, task_ids=task_ids, workers=workers, executor=executor, progress=False)
    assert result.summary["errors"] == 0, result.records
    return time.perf_counter() - start, sum(r["num_steps"] for r in result.records)


async def startup(env_id: str, task_id: str) -> tuple[float, float, float, float]:
    """Start-up (s) and ``expert_action`` round trip (ms) of one local worker, then of one actor."""
    worker = EnvWorker(EnvConfig(env_id))
    start = time.perf_counter()
    await worker.start()
    local_start = time.perf_counter() - start
    local_rtt = await round_trip(worker.call, task_id)
    await worker.close()
    executor = RayExecutor(EnvConfig(env_id), 1)
    start = time.perf_counter()
    handle = await executor.acquire()
    actor_start = time.perf_counter() - start
    actor_rtt = await round_trip(handle.call, task_id)
    await executor.close()
    return local_start, local_rtt, actor_start, actor_rtt


async def round_trip(call: Callable[..., Awaitable[Any]], task_id: str, n: int = 200) -> float:
    await call("reset", options={"task_id": task_id})
    start = time.perf_counter()
    for _ in range(n):
        await call("expert_action")
    return (time.perf_counter() - start) / n * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--env", default="game24")
    parser.add_argument("--address", default=None, help="a running Ray cluster (default: a private one here)")
    args = parser.parse_args()
    env_id = resolve_env_id(args.env)
    task_ids = list(gymnasium.make(env_id).unwrapped.tasks.split(SPLITS[env_id]))[: args.episodes]
    started = time.perf_counter()
    if args.address:
        ray.init(address=args.address, log_to_driver=False, logging_level="WARNING")
    else:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
    init_s = time.perf_counter() - started

    machine = f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, Python {platform.python_version()}"
    table = Table(title=f"{env_id} expert: {len(task_ids)} episodes per row; {machine}; ray {ray.__version__}")
    for column in ("workers", "executor", "wall s", "episodes/s", "ms/step", "ray / local"):
        table.add_column(column, justify="right")
    for workers in (1, 2):
        local_wall, steps = run(env_id, task_ids, "local", workers)
        ray_wall, _ = run(env_id, task_ids, "ray", workers)
        for name, wall in (("local", local_wall), ("ray", ray_wall)):
            table.add_row(
                str(workers),
                name,
                f"{wall:.2f}",
                f"{len(task_ids) / wall:.1f}",
                f"{wall / steps * 1e3:.2f}",
                f"{ray_wall / local_wall:.2f}" if name == "ray" else "-",
            )
    console = Console(width=120)
    console.print(table)
    local_start, local_rtt, actor_start, actor_rtt = asyncio.run(startup(env_id, task_ids[0]))
    console.print(f"start-up: local worker {local_start:.2f} s, Ray actor {actor_start:.2f} s")
    console.print(f"expert_action round trip: local worker {local_rtt:.2f} ms, Ray actor {actor_rtt:.2f} ms")
    where = f"cluster {args.address}" if args.address else "ray.init(num_cpus=2), a private instance"
    console.print(f"connecting to Ray ({where}): {init_s:.1f} s, not in the rows")
    ray.shutdown()


if __name__ == "__main__":
    main()
