"""The Game-of-24 puzzle list and its splits.

With ``game24/24.csv`` under the data root (the Tree-of-Thoughts file: 1,362 puzzles ranked by human solve
time), puzzles are those rows in rank order and the splits are the papers': ``test`` = rows 900-999 (ToT and
RAFA's ``--task_start_index 900 --task_end_index 1000``), ``train`` = the other rows, ``all``.

Without it, the env still works offline on a built-in list: every multiset of four numbers from 1-13 that
can make 24 (1,362 of them, the same set as the file's), ordered from easy to hard by a documented proxy:
more distinct solution paths first (ties broken by the numbers). The same row ranges define the splits, but
the built-in ``test`` rows are not the papers' test set: ``PuzzleList.source`` says which list is loaded.
"""

from __future__ import annotations

import csv
import itertools
from dataclasses import dataclass
from fractions import Fraction
from functools import cache

from agentgym import data
from agentgym.envs.game24.solver import count_solutions, solvable
from agentgym.files import atomic_write

DATA_FILE = "game24/24.csv"
TEST_ROWS = range(900, 1000)
_BUILTIN_CACHE = "builtin-puzzles-v1.txt"  # bump when the order changes


@dataclass(frozen=True)
class PuzzleList:
    """Puzzles in difficulty order; ``source`` is ``"tot-24.csv"`` or ``"built-in"``."""

    puzzles: tuple[tuple[int, ...], ...]
    source: str

    @property
    def task_ids(self) -> tuple[str, ...]:
        """Task ids: the puzzle's numbers as the original writes them (``"4 5 6 10"``)."""
        return tuple(puzzle_id(p) for p in self.puzzles)


def puzzle_id(numbers: tuple[int, ...]) -> str:
    """Return the task id of a puzzle."""
    return " ".join(map(str, numbers))


def _read_csv(path: str) -> tuple[tuple[int, ...], ...]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = sorted(csv.DictReader(f), key=lambda row: int(row["Rank"]))
    return tuple(tuple(int(n) for n in row["Puzzles"].split()) for row in rows)


def builtin_puzzles() -> tuple[tuple[int, ...], ...]:
    """Every solvable multiset of four numbers from 1-13, most solution paths first.

    Computing the order takes ~15 s (exact search over every puzzle), so it is cached on disk once.
    """
    cached = data.cache_dir("game24") / _BUILTIN_CACHE
    if cached.exists():
        return tuple(tuple(map(int, line.split())) for line in cached.read_text().splitlines())
    puzzles = [p for p in itertools.combinations_with_replacement(range(1, 14), 4) if _solvable_ints(p)]
    ordered = tuple(sorted(puzzles, key=lambda p: (-count_solutions(tuple(map(Fraction, p))), p)))
    atomic_write(cached, "".join(puzzle_id(p) + "\n" for p in ordered))  # concurrent workers never read half a file
    return ordered


def _solvable_ints(numbers: tuple[int, ...]) -> bool:
    return solvable(tuple(map(Fraction, numbers)))


@cache
def load_puzzles() -> PuzzleList:
    """Return the official list when its file is present, else the built-in one."""
    path = data.find(DATA_FILE)
    if path is not None:
        return PuzzleList(_read_csv(str(path)), "tot-24.csv")
    return PuzzleList(builtin_puzzles(), "built-in")
