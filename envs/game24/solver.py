"""An exact Game-of-24 solver over rational numbers: step-wise solutions, and solution counts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cache

from agentgym.envs.game24.arithmetic import TARGET, format_number


@dataclass(frozen=True)
class Operand:
    """A number left in play, with the expression over the puzzle's numbers that produced it."""

    value: Fraction
    expression: str


@dataclass(frozen=True)
class Move:
    """One step ``left op right = result``."""

    left: Fraction
    operator: str
    right: Fraction
    result: Fraction

    def __str__(self) -> str:
        """Write the step as the papers do, without the ``(left: ...)`` part."""
        left, right, result = map(format_number, (self.left, self.right, self.result))
        return f"{left} {self.operator} {right} = {result}"


def apply(operator: str, left: Fraction, right: Fraction) -> Fraction | None:
    """Return ``left operator right``, or ``None`` for a division by zero."""
    if operator == "+":
        return left + right
    if operator == "-":
        return left - right
    if operator == "*":
        return left * right
    return None if right == 0 else left / right


def legal_moves(values: tuple[Fraction, ...]) -> Iterator[tuple[Move, tuple[Fraction, ...]]]:
    """Every step from ``values``: the move, and the sorted numbers left after it."""
    for i, left in enumerate(values):
        for j, right in enumerate(values):
            if i == j:
                continue
            rest = tuple(v for k, v in enumerate(values) if k not in (i, j))
            for operator in "+-*/":
                if operator in "+*" and i > j:  # commutative: one order is enough
                    continue
                result = apply(operator, left, right)
                if result is not None:
                    yield Move(left, operator, right, result), tuple(sorted((*rest, result)))


@cache
def solvable(values: tuple[Fraction, ...]) -> bool:
    """Return whether the sorted multiset ``values`` can reach 24 (every number used once)."""
    if len(values) == 1:
        return values[0] == TARGET
    return any(solvable(rest) for _, rest in legal_moves(values))


@cache
def count_solutions(values: tuple[Fraction, ...]) -> int:
    """Count the step sequences (commutative duplicates merged) from sorted ``values`` to 24."""
    if len(values) == 1:
        return int(values[0] == TARGET)
    return sum(count_solutions(rest) for _, rest in legal_moves(values))


def next_move(values: Sequence[Fraction]) -> tuple[Move, tuple[Fraction, ...]] | None:
    """Return a first step of a solution from ``values`` and the numbers left after it, or ``None``."""
    key = tuple(sorted(values))
    # Prefer steps that keep non-negative integers (as a person would), then any solving step.
    candidates = [(move, rest) for move, rest in legal_moves(key) if solvable(rest)]
    candidates.sort(key=lambda c: (c[0].result.denominator != 1, c[0].result < 0))
    return candidates[0] if candidates else None


def solve(numbers: Sequence[int]) -> list[Move] | None:
    """Return the steps of one solution for ``numbers``, or ``None`` if the puzzle is unsolvable."""
    values = tuple(sorted(Fraction(n) for n in numbers))
    steps = []
    while len(values) > 1:
        step = next_move(values)
        if step is None:
            return None
        steps.append(step[0])
        values = step[1]
    return steps if values == (TARGET,) else None
