"""Checks the native engine against TextWorld's, game by game (needs ``pip install 'agentgym[alfworld-textworld]'``).

Both engines play the same commands in lockstep: the game file's walkthrough, then seeded random walks over
the admissible commands with junk commands mixed in (unknown, wrong case, padded, several lines). At every
step the feedback, the sorted admissible commands and ``won`` must be identical, and so must the first
observation. The first difference is reported with the commands that led to it.

``python -m agentgym.envs.alfworld.equivalence --split valid_unseen --report report.json`` sweeps a split.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from agentgym.envs.alfworld.dataset import GameStore
from agentgym.envs.alfworld.native import NativeGame, UnsupportedGame

#: Commands no game admits, in the forms agents produce them.
JUNK = ("", "   ", "look around", "go to nowhere 1", "take all", "inventory\nlook", "Look", "go to desk 99", "é")


@dataclass
class GameResult:
    """The outcome of comparing one game: identical or the first difference."""

    task_id: str
    identical: bool
    steps: int = 0
    walkthrough_won: bool = False
    difference: dict = field(default_factory=dict)


def _junk(rng: random.Random, admissible: list[str]) -> str:
    kind = rng.randrange(4)
    if kind == 0 or not admissible:
        return rng.choice(JUNK)
    command = rng.choice(admissible)
    if kind == 1:
        return command.upper()
    if kind == 2:
        return f"  {command}\t"  # surrounding whitespace is stripped: this one is admissible
    return command + " 1"


class _Pair:
    """The reference (TextWorld + ALFWorld's demangler) and the native engine on one game."""

    def __init__(self, path: Path) -> None:
        from agentgym.envs.alfworld.engine import AlfredGame

        self.reference = AlfredGame()
        self.path = path
        self.native = NativeGame.load(path)

    def reset(self) -> dict | None:
        expected = self.reference.start(self.path)
        actual = self.native.reset()
        return self._compare("reset", expected, actual, self.reference.admissible_commands, False)

    def step(self, command: str) -> dict | None:
        expected, expected_won = self.reference.step(command)
        actual = self.native.step(command)
        return self._compare(command, expected, actual, self.reference.admissible_commands, expected_won)

    def _compare(self, command: str, feedback: str, actual: str, admissible: list[str], won: bool) -> dict | None:
        native_admissible = self.native.admissible_commands
        if feedback != actual:
            return {"command": command, "what": "feedback", "textworld": feedback, "native": actual}
        if admissible != native_admissible:
            return {
                "command": command,
                "what": "admissible commands",
                "only_textworld": sorted(set(admissible) - set(native_admissible)),
                "only_native": sorted(set(native_admissible) - set(admissible)),
            }
        if won != self.native.won:
            return {"command": command, "what": "won", "textworld": won, "native": self.native.won}
        return None

    def close(self) -> None:
        self.reference.close()


def compare_game(path: Path, task_id: str, *, walks: int = 1, steps: int = 30, seed: int = 0) -> GameResult:
    """Play the walkthrough and ``walks`` seeded random walks of ``steps`` commands on both engines."""
    result = GameResult(task_id=task_id, identical=False)
    try:
        pair = _Pair(path)
    except UnsupportedGame as e:
        result.difference = {"what": "unsupported", "error": str(e)}
        return result
    try:
        history: list[str] = []
        episodes = [None] + [random.Random(f"{seed}/{task_id}/{walk}") for walk in range(walks)]
        for rng in episodes:
            history = ["reset"]
            difference = pair.reset()
            commands = iter(pair.native.data.walkthrough) if rng is None else None
            for _ in range(steps if rng is not None else len(pair.native.data.walkthrough)):
                if difference is not None:
                    break
                if rng is None:
                    command = next(commands)
                elif rng.random() < 0.15:
                    command = _junk(rng, pair.native.admissible_commands)
                else:
                    command = rng.choice(pair.native.admissible_commands)
                history.append(command)
                difference = pair.step(command)
                result.steps += 1
            if rng is None and difference is None:
                result.walkthrough_won = pair.native.won
            if difference is not None:
                result.difference = {**difference, "history": history}
                return result
        result.identical = result.walkthrough_won
        if not result.walkthrough_won:
            result.difference = {"what": "walkthrough does not win"}
    except UnsupportedGame as e:
        result.difference = {"what": "unsupported", "error": str(e), "history": history}
    finally:
        pair.close()
    return result


def sweep(
    store: GameStore, split: str, *, walks: int, steps: int, limit: int | None = None, shard: tuple[int, int] = (0, 1)
) -> list[GameResult]:
    """Compare every game of a split (its first ``limit``; of those, shard ``i`` of ``n``), one line per game."""
    results = []
    task_ids = store.task_ids(split)[:limit][shard[0] :: shard[1]]
    for n, task_id in enumerate(task_ids, 1):
        start = time.perf_counter()
        result = compare_game(store.game_file(task_id), task_id, walks=walks, steps=steps)
        results.append(result)
        status = "identical" if result.identical else f"DIFFERS ({result.difference.get('what')})"
        print(f"[{n}/{len(task_ids)}] {task_id}: {status} {time.perf_counter() - start:.1f}s", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    """Sweep splits and write a JSON report (games identical, differing, first difference of each)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", action="append", required=True)
    parser.add_argument("--report", type=Path, required=True)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--walks", type=int, default=1)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--shard", default="0/1", help="I/N: every N-th game from the I-th (parallel sweeps)")
    args = parser.parse_args(argv)
    index, count = (int(part) for part in args.shard.split("/"))
    store = GameStore(args.data_dir)
    report = {"walks": args.walks, "steps": args.steps, "shard": args.shard, "splits": {}}
    for split in args.split:
        results = sweep(store, split, walks=args.walks, steps=args.steps, limit=args.limit, shard=(index, count))
        report["splits"][split] = {
            "games": len(results),
            "identical": sum(r.identical for r in results),
            "differing": [asdict(r) for r in results if not r.identical],
        }
        args.report.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    print(json.dumps({s: {k: v for k, v in r.items() if k != "differing"} for s, r in report["splits"].items()}))
    return 0 if all(not r["differing"] for r in report["splits"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
