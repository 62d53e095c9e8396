"""How one process's memory grows with the number of distinct ALFWorld games it has played.

textworld memoizes every ``Variable``/``Proposition`` it creates in a process-wide dict (``mementos``) that is
never emptied, and every ALFWorld scene has its own object ids, so resident memory grows with each new game.
This script plays N distinct games (reset plus the walkthrough) in one ``ALFWorldEnv`` and prints the resident
set size every ``--every`` games, then replays one game N times (no growth expected), and prints the fitted
growth per distinct game: the basis of the runner's ``worker_episodes`` / ``worker_memory_mb`` for ALFWorld.

    AGENTGYM_DATA=/path/to/data python benchmarks/alfworld_memory.py --split train --games 300
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from agentgym.envs.alfworld.env import ALFWorldEnv


def rss_mb() -> float:
    """Return this process's resident set size in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def play(env: ALFWorldEnv, task_id: str) -> bool:
    """Reset to ``task_id`` and follow the expert; return whether it won."""
    _, info = env.reset(options={"task_id": task_id})
    for _ in range(50):
        action = env.expert_action()
        if action is None:
            break
        _, _, terminated, _, info = env.step(action)
        if terminated:
            break
    return bool(info["won"])


def slope(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of (games, MB) points."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    cov = sum((x - mean_x) * (y - mean_y) for x, y in points)
    var = sum((x - mean_x) ** 2 for x, _ in points)
    return cov / var


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="train")
    parser.add_argument("--games", type=int, default=300)
    parser.add_argument("--every", type=int, default=25)
    parser.add_argument("--repeats", type=int, default=30, help="replays of one game (0 to skip)")
    args = parser.parse_args()

    env = ALFWorldEnv(engine="textworld", split=args.split)
    task_ids = env.tasks.split(args.split)[: args.games]
    env.reset(options={"task_id": task_ids[0]})
    start = time.perf_counter()
    points = [(1, rss_mb())]
    wins = 0
    print(f"{'distinct games':>14} | {'RSS MB':>7} | {'s/game':>6}")
    for i, task_id in enumerate(task_ids, start=1):
        wins += play(env, task_id)
        if i % args.every == 0 or i == len(task_ids):
            points.append((i, rss_mb()))
            print(f"{i:>14} | {points[-1][1]:>7.1f} | {(time.perf_counter() - start) / i:>6.2f}")
    print(f"expert won {wins}/{len(task_ids)}; growth {slope(points[1:]):.2f} MB per distinct game")

    if args.repeats:
        before = rss_mb()
        for _ in range(args.repeats):
            play(env, task_ids[0])
        print(f"same game {args.repeats}x: RSS {before:.1f} -> {rss_mb():.1f} MB")
    env.close()


if __name__ == "__main__":
    main()
