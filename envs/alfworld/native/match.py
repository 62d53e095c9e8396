"""Finding the objects that satisfy a conjunction of literals in a state: join plans compiled once per game.

A plan orders the positive literals so that each one is looked up with as many arguments bound as possible
(facts of predicates no action changes come from an index built once per game), checks negative literals
and equalities as soon as their variables are bound, checks each variable's type when it is bound, and
finally enumerates parameters no literal binds (e.g. ``inventory``'s agent) over the objects of their type.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from agentgym.envs.alfworld.native.pddl import UnsupportedGame

Literal = tuple[bool, str, tuple[str, ...]]  # (positive, predicate, args); args starting with "?" are variables


def is_var(arg: str) -> bool:
    """Whether a literal argument is a variable (``?x``) rather than an object."""
    return arg.startswith("?")


@dataclass(frozen=True)
class _Step:
    kind: str  # "scan" (bind from facts), "check" (all bound), "enumerate" (one variable over a type)
    literal: Literal | None = None
    bound: tuple[int, ...] = ()  # scan: argument positions known before the lookup
    var: str = ""


class StaticIndex:
    """Facts of predicates no action changes, indexed by any set of bound argument positions (built lazily)."""

    def __init__(self, facts: dict[str, set[tuple[str, ...]]]) -> None:
        """Index ``{predicate: argument tuples}``."""
        self._facts = facts
        self._indexes: dict[tuple[str, tuple[int, ...]], dict[tuple[str, ...], list[tuple[str, ...]]]] = {}

    def lookup(self, predicate: str, positions: tuple[int, ...], values: tuple[str, ...]) -> list[tuple[str, ...]]:
        """The facts of ``predicate`` whose arguments at ``positions`` are ``values``."""
        key = (predicate, positions)
        index = self._indexes.get(key)
        if index is None:
            index = defaultdict(list)
            for args in sorted(self._facts.get(predicate, ())):
                index[tuple(args[p] for p in positions)].append(args)
            self._indexes[key] = index = dict(index)
        return index.get(values, [])


class Plan:
    """A compiled join for one conjunction.

    Args:
        literals: the conjunction.
        typed: every variable with its type (action parameters, then existential variables).
        bound: variables bound before the plan runs.
        static: predicates no action changes (looked up in the :class:`StaticIndex`).
        sizes: the number of initial facts per predicate, to estimate how many matches a lookup gives.
    """

    def __init__(
        self,
        literals: list[Literal],
        typed: tuple[tuple[str, str], ...],
        bound: set[str],
        static: set[str],
        sizes: dict[str, int],
    ) -> None:
        """Order the literals (see the module docstring)."""
        self.types = dict(typed)
        self.output = [var for var, _ in typed]
        known = set(bound)
        positives = [lit for lit in literals if lit[0] and lit[1] != "="]
        checks = [lit for lit in literals if not lit[0] or lit[1] == "="]
        steps: list[_Step] = []

        def flush_checks() -> None:
            for lit in list(checks):
                if all(not is_var(a) or a in known for a in lit[2]):
                    steps.append(_Step("check", lit))
                    checks.remove(lit)

        flush_checks()
        while positives:

            def estimate(lit: Literal) -> tuple[float, bool]:
                free = sum(1 for a in lit[2] if is_var(a) and a not in known)
                return max(sizes.get(lit[1], 0), 1) ** (free / max(len(lit[2]), 1)), lit[1] not in static

            best = min(positives, key=estimate)
            positives.remove(best)
            positions = tuple(i for i, a in enumerate(best[2]) if not is_var(a) or a in known)
            if len(positions) == len(best[2]):
                steps.append(_Step("check", best))
            else:
                steps.append(_Step("scan", best, positions))
                known.update(a for a in best[2] if is_var(a))
            flush_checks()
        for var, _ in typed:
            if var not in known:
                steps.append(_Step("enumerate", var=var))
                known.add(var)
                flush_checks()
        if checks:
            raise UnsupportedGame(f"a precondition's variables are not all bound: {checks}")
        self.steps = tuple(steps)
        self.static = static

    def run(
        self,
        holds: Callable[[str, tuple[str, ...]], bool],
        facts_of: Callable[[str], set[tuple[str, ...]]],
        index: StaticIndex,
        type_of: dict[str, str],
        subtypes: dict[str, set[str]],
        objects_by_type: dict[str, list[str]],
        binding: dict[str, str],
    ) -> Iterator[dict[str, str]]:
        """Yield every extension of ``binding`` that satisfies the conjunction."""
        steps = self.steps
        types = self.types

        def fits(var: str, value: str) -> bool:
            wanted = types.get(var)
            return wanted is None or type_of.get(value) in subtypes.get(wanted, ())

        def walk(i: int, binding: dict[str, str]) -> Iterator[dict[str, str]]:
            if i == len(steps):
                yield binding
                return
            step = steps[i]
            if step.kind == "check":
                positive, predicate, args = step.literal
                ground = tuple(binding.get(a, a) for a in args)
                ok = ground[0] == ground[1] if predicate == "=" else holds(predicate, ground)
                if ok == positive:
                    yield from walk(i + 1, binding)
                return
            if step.kind == "enumerate":
                for value in objects_by_type.get(types[step.var], ()):
                    yield from walk(i + 1, {**binding, step.var: value})
                return
            _, predicate, args = step.literal
            values = tuple(binding.get(args[p], args[p]) for p in step.bound)
            if predicate in self.static:
                candidates = index.lookup(predicate, step.bound, values)
            else:
                candidates = [
                    fact
                    for fact in facts_of(predicate)
                    if len(fact) == len(args) and all(fact[p] == v for p, v in zip(step.bound, values, strict=True))
                ]
            for fact in candidates:
                if len(fact) != len(args):
                    continue
                new = dict(binding)
                for arg, value in zip(args, fact, strict=True):
                    if is_var(arg):
                        if arg in new:
                            if new[arg] != value:
                                break
                        elif not fits(arg, value):
                            break
                        else:
                            new[arg] = value
                else:
                    yield from walk(i + 1, new)

        yield from walk(0, dict(binding))


def product_bindings(
    typed: tuple[tuple[str, str], ...], objects_by_type: dict[str, list[str]], binding: dict[str, str]
) -> Iterator[dict[str, str]]:
    """Every assignment of ``typed`` variables to objects of their types, extending ``binding``."""
    choices = [objects_by_type.get(t, []) for _, t in typed]
    for values in itertools.product(*choices):
        new = dict(binding)
        new.update((var, value) for (var, _), value in zip(typed, values, strict=True))
        yield new
