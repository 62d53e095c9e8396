from fractions import Fraction

import pytest

from agentgym.envs.game24 import puzzles
from agentgym.envs.game24.solver import count_solutions, solvable, solve


def replay(steps) -> Fraction:
    return steps[-1].result


def test_solver_solves_every_official_puzzle(shared_data):
    official = puzzles._read_csv(str(shared_data / puzzles.DATA_FILE))
    assert len(official) == 1362
    for numbers in official:
        steps = solve(numbers)
        assert steps is not None, numbers
        assert len(steps) == 3 and replay(steps) == 24


@pytest.mark.parametrize("numbers", [(1, 1, 1, 1), (1, 1, 1, 2), (13, 13, 13, 13), (2, 2, 2, 2)])
def test_unsolvable_puzzles(numbers):
    assert solve(numbers) is None
    assert not solvable(tuple(sorted(map(Fraction, numbers))))


def test_count_solutions():
    assert count_solutions((Fraction(24),)) == 1
    assert count_solutions((Fraction(3), Fraction(8))) == 1  # 3 * 8 (commutative orders merged)
    assert count_solutions(tuple(map(Fraction, (3, 3, 8, 8)))) >= 1


def test_builtin_list_is_every_solvable_puzzle_in_its_documented_order(shared_data, isolated_cache):
    builtin = puzzles.builtin_puzzles()
    official = puzzles._read_csv(str(shared_data / puzzles.DATA_FILE))
    assert len(builtin) == 1362
    assert set(builtin) == {tuple(sorted(p)) for p in official}
    counts = [count_solutions(tuple(map(Fraction, p))) for p in builtin]
    assert counts == sorted(counts, reverse=True)
    assert puzzles.builtin_puzzles() == builtin  # read back from the on-disk cache
    assert list(isolated_cache.rglob("builtin-puzzles-*.txt"))
