"""Soak: a long expert run of ALFWorld train games on worker processes, with memory and throughput over time.

Plays N train games with the expert on W local workers (the runner's own executor, recycling included) and,
every few seconds, samples the resident memory of the runner process and of each worker (with whatever the
worker started) and the episodes per second since the previous sample. Prints the curve as a table, writes it
to a CSV as it goes and to a PNG at the end. A healthy run has a flat runner line, worker memory that drops at
each recycle instead of climbing for ever, and steady episodes/s.

    AGENTGYM_DATA=/path/to/data python benchmarks/soak.py --games 2000 --workers 2 --png soak.png

``--from-csv soak.csv`` prints the comparison and redraws the PNG of a finished or interrupted run.

Needs ``psutil`` and, for the PNG, ``matplotlib`` (``pip install 'agentgym[report]'``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from agentgym.registry import entry_for
from agentgym.runner import LocalExecutor, aevaluate
from agentgym.runner.worker import EnvConfig

ENV_ID = "agentgym/ALFWorld-v0"


@dataclass
class Sample:
    t_s: float
    episodes: int
    episodes_per_s: float
    runner_mb: float
    workers_mb: float
    max_worker_mb: float
    recycled: int
    restarts: int


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants in MB (0 if it is gone)."""
    try:
        process = psutil.Process(pid)
        total = process.memory_info().rss
        for child in process.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
    except psutil.Error:
        return 0.0
    return total / 2**20


async def sample_every(
    interval_s: float, executor: LocalExecutor, done: list[int], samples: list[Sample], file: Any
) -> None:
    """Append a :class:`Sample` every ``interval_s`` to ``samples`` and as a CSV row to ``file``, until cancelled."""
    writer = csv.writer(file)
    start = time.monotonic()
    runner = psutil.Process()
    last_t, last_n = 0.0, 0
    while True:
        await asyncio.sleep(interval_s)
        t = time.monotonic() - start
        workers = [tree_rss_mb(pid) for pid in executor.worker_pids()]
        sample = Sample(
            t_s=round(t, 1),
            episodes=done[0],
            episodes_per_s=round((done[0] - last_n) / (t - last_t), 3),
            runner_mb=round(runner.memory_info().rss / 2**20, 1),
            workers_mb=round(sum(workers), 1),
            max_worker_mb=round(max(workers, default=0.0), 1),
            recycled=executor.recycled,
            restarts=executor.restarts,
        )
        samples.append(sample)
        writer.writerow(sample.__dict__.values())
        file.flush()  # the curve survives an interrupted run
        print(" ".join(f"{v:>10}" for v in sample.__dict__.values()), flush=True)
        last_t, last_n = t, done[0]


def plot(samples: list[Sample], path: Path, title: str) -> None:
    """Write memory and throughput against time as a two-panel PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [s.t_s / 60 for s in samples]
    fig, (memory, speed) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    memory.plot(t, [s.runner_mb for s in samples], label="runner")
    memory.plot(t, [s.workers_mb for s in samples], label="workers (sum)")
    memory.plot(t, [s.max_worker_mb for s in samples], label="largest worker")
    memory.set_ylabel("resident MB")
    memory.set_ylim(bottom=0)
    memory.legend()
    memory.set_title(title)
    speed.plot(t, [s.episodes_per_s for s in samples], color="tab:green")
    speed.set_ylabel("episodes / s")
    speed.set_xlabel("minutes")
    speed.set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


async def soak(args: argparse.Namespace) -> tuple[list[Sample], dict]:
    entry = entry_for(ENV_ID)
    assert entry is not None
    executor = LocalExecutor(
        EnvConfig(ENV_ID, max_episode_steps=entry.max_episode_steps),
        args.workers,
        recycle_episodes=args.recycle_episodes or entry.worker_episodes,
        recycle_memory_mb=entry.worker_memory_mb,
    )
    done = [0]
    samples: list[Sample] = []

    def count(record: dict) -> None:
        done[0] += 1

    with open(args.csv, "w", newline="") as f:
        csv.writer(f).writerow(Sample.__dataclass_fields__)
        print(" ".join(f"{name:>10}" for name in Sample.__dataclass_fields__))
        sampler = asyncio.create_task(sample_every(args.interval, executor, done, samples, f))
        try:
            with tempfile.TemporaryDirectory() as out:
                result = await aevaluate(
                    ENV_ID,
                    split="train",
                    limit=args.games,
                    workers=args.workers,
                    executor=executor,
                    out=out,
                    progress=False,
                    on_episode=count,
                )
        finally:
            sampler.cancel()
    summary = {**result.summary, "recycled": executor.recycled, "restarts": executor.restarts}
    return samples, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--games", type=int, default=2000, help="ALFWorld train games to play")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--recycle-episodes", type=int, default=None, help="default: the env's registered hint")
    parser.add_argument("--csv", type=Path, default=Path("soak.csv"))
    parser.add_argument("--png", type=Path, default=Path("soak.png"))
    parser.add_argument("--from-csv", type=Path, default=None, help="only summarize and plot this earlier curve")
    args = parser.parse_args()

    if args.from_csv is not None:
        with args.from_csv.open() as f:
            samples = [Sample(*(float(v) for v in row.values())) for row in csv.DictReader(f)]
        episodes = int(samples[-1].episodes) if samples else 0
    else:
        samples, summary = asyncio.run(soak(args))
        episodes = summary["episodes"]
        print(
            f"\n{episodes} episodes, {summary['errors']} errors, success {summary['success_rate']:.1%}, "
            f"{summary['episodes_per_s']:.3f} episodes/s, {summary['recycled']} recycles, "
            f"{summary['restarts']} restarts"
        )
    if len(samples) >= 4:
        half = len(samples) // 2
        first, second = samples[1:half], samples[half:]  # the first sample includes worker start-up

        def mean(values: list[float]) -> float:
            return sum(values) / len(values)

        for name in ("runner_mb", "workers_mb", "episodes_per_s"):
            a, b = mean([getattr(s, name) for s in first]), mean([getattr(s, name) for s in second])
            change = f" ({(b - a) / a:+.1%})" if a else ""
            print(f"{name:>15}: first half {a:9.2f}, second half {b:9.2f}{change}")
    plot(samples, args.png, f"ALFWorld train, expert, {args.workers} workers: {episodes} games")
    print(f"curve: {args.from_csv or args.csv}, plot: {args.png}")


if __name__ == "__main__":
    main()
