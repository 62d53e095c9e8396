"""ALFWorld's two engines replaying the same commands in one run: step and reset times, steps/s per core, memory.

"textworld" is what ALFWorld's ``AlfredTWEnv`` runs: TextWorld's ``PddlEnv`` (fast-downward's successor
generator underneath) wrapped in ALFWorld's ``AlfredDemangler``; a first reset is ``load(game)`` + ``reset()``.
"native" is :mod:`agentgym.envs.alfworld.native`; a first reset reads the game file and resets. Each game's
commands (one junk command, seeded random admissible commands, then the walkthrough) are made once and
replayed by both engines, in alternating order so that machine load hits both alike; the texts are compared
on the way (a difference aborts the run). Steps/s per core divides steps by the process CPU time they took.
Then the native engine plays ``--episodes`` walkthrough episodes over the split's games in one process
(through the env's engine, which keeps the last few parsed games) and prints its resident memory as it goes.
Targets: a step >= 20x faster (aim 50x), a first reset >= 10x faster, memory flat.

    AGENTGYM_DATA=../shared/data python benchmarks/alfworld_engines.py --games 10 --episodes 10000
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import time
from pathlib import Path

import textworld
from alfworld.agents.environment.alfred_tw_env import AlfredDemangler
from textworld.envs.pddl import PddlEnv

from agentgym.envs.alfworld.dataset import GameStore
from agentgym.envs.alfworld.engines import NativeEngine
from agentgym.envs.alfworld.native import NativeGame


def rss_mb() -> float:
    """The process's current resident memory in MB (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def commands_for(game_file: Path, extra: int, seed: int) -> list[str]:
    """One junk command, ``extra`` seeded random admissible commands, then the walkthrough from a fresh start."""
    game = NativeGame.load(game_file)
    game.reset()
    rng = random.Random(seed)
    commands = ["jump around"]
    for _ in range(extra):
        commands.append(rng.choice(game.admissible_commands))
        game.step(commands[-1])
    return [*commands, "__reset__", *game.data.walkthrough]


class TextWorldPlayer:
    """ALFWorld's engine, unmodified."""

    def __init__(self) -> None:
        infos = textworld.EnvInfos(won=True, admissible_commands=True, extras=["walkthrough"])
        self.env = AlfredDemangler(shuffle=False)(PddlEnv(infos))

    def first_reset(self, game_file: Path) -> str:
        self.env.load(str(game_file))
        return self.env.reset().feedback

    def reset(self) -> str:
        return self.env.reset().feedback

    def step(self, command: str) -> tuple[str, list[str], bool]:
        state, _, _ = self.env.step(command)
        return state.feedback, state["admissible_commands"], state["won"]


class NativePlayer:
    """The native engine, reading the game file on each first reset."""

    def first_reset(self, game_file: Path) -> str:
        self.game = NativeGame.load(game_file)
        return self.game.reset()

    def reset(self) -> str:
        return self.game.reset()

    def step(self, command: str) -> tuple[str, list[str], bool]:
        feedback = self.game.step(command)
        return feedback, self.game.admissible_commands, self.game.won


def play(player, game_file: Path, commands: list[str], out: dict[str, list[float]]) -> list:
    """Time a first reset, the steps and a second reset; return what the engine showed."""
    shown = []
    start = time.perf_counter()
    shown.append(player.first_reset(game_file))
    out["first reset"].append(time.perf_counter() - start)
    for command in commands:
        wall, cpu = time.perf_counter(), time.process_time()
        if command == "__reset__":
            shown.append(player.reset())
            out["reset again"].append(time.perf_counter() - wall)
            continue
        shown.append(player.step(command))
        out["step"].append(time.perf_counter() - wall)
        out["step cpu"].append(time.process_time() - cpu)
    return shown


def summary(values: list[float]) -> tuple[float, float, float]:
    """(median, mean, p90) in milliseconds."""
    ordered = sorted(values)
    return (
        statistics.median(ordered) * 1e3,
        statistics.fmean(ordered) * 1e3,
        ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))] * 1e3,
    )


def compare(store: GameStore, split: str, games: int, extra: int) -> None:
    ids = store.task_ids(split)
    task_ids = ids[:: max(1, len(ids) // games)][:games]
    keys = ("first reset", "reset again", "step", "step cpu")
    times = {name: {k: [] for k in keys} for name in ("textworld", "native")}
    textworld_player, native_player = TextWorldPlayer(), NativePlayer()
    for n, task_id in enumerate(task_ids):
        game_file = store.game_file(task_id)
        commands = commands_for(game_file, extra, seed=n)
        order = [("textworld", textworld_player), ("native", native_player)]
        shown = {name: play(player, game_file, commands, times[name]) for name, player in order[:: 1 - 2 * (n % 2)]}
        if shown["textworld"] != shown["native"]:
            raise SystemExit(f"the engines differ on {task_id}")
    steps = len(times["native"]["step"])
    print(f"{split}: {len(task_ids)} games, {steps} steps and {len(task_ids)} first resets per engine, same output")
    print("| | textworld median / mean / p90 ms | native median / mean / p90 ms | speed-up (median) |")
    print("| --- | --- | --- | --- |")
    for key in ("first reset", "reset again", "step", "step cpu"):
        tw, nat = summary(times["textworld"][key]), summary(times["native"][key])
        print(
            f"| {key} | {tw[0]:.2f} / {tw[1]:.2f} / {tw[2]:.2f} | {nat[0]:.3f} / {nat[1]:.3f} / {nat[2]:.3f} |"
            f" {tw[0] / nat[0]:.0f}x |"
        )
    for name in ("textworld", "native"):
        cpu = sum(times[name]["step cpu"])
        print(f"{name}: {steps / cpu:.0f} steps/s per core ({cpu:.2f} CPU s for {steps} steps)")


def memory(store: GameStore, split: str, episodes: int) -> None:
    ids = store.task_ids(split)
    files = [store.game_file(task_id) for task_id in ids]
    engine = NativeEngine()
    marks = sorted({max(1, episodes // 10) * k for k in range(1, 11)} | {episodes})
    start = time.perf_counter()
    print(f"memory, native engine, {episodes} walkthrough episodes over {len(ids)} {split} games:")
    print("| episodes | RSS MB | won | s |\n| --- | --- | --- | --- |")
    won = 0
    for episode in range(1, episodes + 1):
        engine.start(files[episode % len(files)])
        for command in engine.walkthrough:
            _, done = engine.step(command)
        won += done
        if episode in marks:
            print(f"| {episode} | {rss_mb():.1f} | {won} | {time.perf_counter() - start:.0f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="valid_unseen")
    parser.add_argument("--games", type=int, default=10, help="games replayed by both engines (0: skip)")
    parser.add_argument("--extra", type=int, default=15, help="random admissible commands per game")
    parser.add_argument("--episodes", type=int, default=10_000, help="native episodes for the memory run (0: skip)")
    args = parser.parse_args()
    store = GameStore(None)
    if args.games:
        compare(store, args.split, args.games, args.extra)
    if args.episodes:
        memory(store, args.split, args.episodes)


if __name__ == "__main__":
    main()
