"""A PDDL reader for ALFWorld's games: the domain's typed actions and the problem's objects, facts and goal.

Names are lower-cased, as fast-downward's translator (which TextWorld runs) does. Formulas are nested tuples:
``("atom", predicate, args)``, ``("not", f)``, ``("and", fs)``, ``("or", fs)``, ``("exists", params, f)``,
``("forall", params, f)``; effects are lists of :class:`Effect`. What the games do not use (numeric
fluents other than ``total-cost``, derived predicates, durative actions) is refused with
:class:`UnsupportedGame`, so a game outside this subset is never played wrongly.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

Formula = tuple
Params = tuple[tuple[str, str], ...]

_TOKEN = re.compile(r"\(|\)|[^\s()]+")


class UnsupportedGame(ValueError):
    """The game uses a PDDL feature the native engine does not implement."""


def parse_sexpr(text: str) -> list[Any]:
    """Parse PDDL text (``;`` comments) into nested lists of lower-cased tokens."""
    text = "\n".join(line.split(";", 1)[0] for line in text.splitlines())
    stack: list[list[Any]] = [[]]
    for token in _TOKEN.findall(text.lower()):
        if token == "(":
            stack.append([])
        elif token == ")":
            if len(stack) == 1:
                raise UnsupportedGame("unbalanced parentheses in PDDL")
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(token)
    if len(stack) != 1:
        raise UnsupportedGame("unbalanced parentheses in PDDL")
    return stack[0]


def _typed_list(items: list[str]) -> Params:
    """``?a ?b - t ?c - u`` -> ``(("?a", "t"), ("?b", "t"), ("?c", "u"))`` (untyped names are ``object``)."""
    result: list[tuple[str, str]] = []
    pending: list[str] = []
    i = 0
    while i < len(items):
        if items[i] == "-":
            if i + 1 >= len(items) or not isinstance(items[i + 1], str):
                raise UnsupportedGame("bad typed list in PDDL")
            result.extend((name, items[i + 1]) for name in pending)
            pending = []
            i += 2
        else:
            if not isinstance(items[i], str):
                raise UnsupportedGame("bad typed list in PDDL")
            pending.append(items[i])
            i += 1
    result.extend((name, "object") for name in pending)
    return tuple(result)


def parse_formula(expr: Any) -> Formula:
    """Convert a precondition or goal s-expression into a formula tuple."""
    if not isinstance(expr, list):
        raise UnsupportedGame(f"unexpected PDDL token {expr!r}")
    if not expr:
        return ("and", ())
    head = expr[0]
    if head == "and":
        return ("and", tuple(parse_formula(e) for e in expr[1:]))
    if head == "or":
        return ("or", tuple(parse_formula(e) for e in expr[1:]))
    if head == "not":
        return ("not", parse_formula(expr[1]))
    if head == "imply":
        return ("or", (("not", parse_formula(expr[1])), parse_formula(expr[2])))
    if head in ("exists", "forall"):
        # Kept verbatim, as fast-downward reads them: ``(?l - location, ?r - r)`` types ?l as "location,".
        return (head, _typed_list(expr[1]), parse_formula(expr[2]))
    if isinstance(head, str) and all(isinstance(a, str) for a in expr[1:]):
        return ("atom", head, tuple(expr[1:]))
    raise UnsupportedGame(f"unsupported PDDL condition {head!r}")


@dataclass(frozen=True)
class Effect:
    """One literal of an action's effect: set ``atom`` true (``positive``) or false, when ``condition`` holds."""

    predicate: str
    args: tuple[str, ...]
    positive: bool
    condition: Formula = ("and", ())
    params: Params = ()  # variables of an enclosing ``forall``


def parse_effects(expr: Any, condition: Formula = ("and", ()), params: Params = ()) -> list[Effect]:
    """Flatten an effect s-expression into literals (``increase`` of ``total-cost`` is ignored)."""
    if not isinstance(expr, list) or not expr:
        return []
    head = expr[0]
    if head == "and":
        return [e for part in expr[1:] for e in parse_effects(part, condition, params)]
    if head == "increase":
        if expr[1] != ["total-cost"]:
            raise UnsupportedGame("numeric effects other than total-cost are not supported")
        return []
    if head == "when":
        if condition != ("and", ()):
            raise UnsupportedGame("nested conditional effects are not supported")
        return parse_effects(expr[2], parse_formula(expr[1]), params)
    if head == "forall":
        return parse_effects(expr[2], condition, params + _typed_list(expr[1]))
    if head == "not":
        inner = parse_formula(expr[1])
        if inner[0] != "atom":
            raise UnsupportedGame("only atoms can be deleted")
        return [Effect(inner[1], inner[2], False, condition, params)]
    atom = parse_formula(expr)
    if atom[0] != "atom":
        raise UnsupportedGame(f"unsupported effect {head!r}")
    return [Effect(atom[1], atom[2], True, condition, params)]


@dataclass(frozen=True)
class Action:
    """An action schema: typed parameters, a precondition and effect literals."""

    name: str
    params: Params
    precondition: Formula
    effects: tuple[Effect, ...]


@dataclass
class Domain:
    """A PDDL domain: its type hierarchy (child -> parent) and action schemas, in file order."""

    types: dict[str, str] = field(default_factory=dict)
    actions: dict[str, Action] = field(default_factory=dict)


@dataclass
class Problem:
    """A PDDL problem: typed objects (in file order), the initial true atoms, the goal."""

    objects: dict[str, str]
    init: list[tuple[str, tuple[str, ...]]]
    goal: Formula


def _section(define: list[Any], key: str) -> list[list[Any]]:
    return [part for part in define[2:] if isinstance(part, list) and part and part[0] == key]


def _define(text: str) -> list[Any]:
    for expr in parse_sexpr(text):
        if isinstance(expr, list) and expr and expr[0] == "define":
            return expr
    raise UnsupportedGame("no (define ...) in PDDL text")


@functools.lru_cache(maxsize=8)
def parse_domain(text: str) -> Domain:
    """Read a domain's types and actions (remembered: ALFWorld's games share one domain; do not mutate)."""
    define = _define(text)
    domain = Domain()
    for section in _section(define, ":types"):
        for name, parent in _typed_list(section[1:]):
            domain.types[name] = parent
    if _section(define, ":constants") or _section(define, ":derived"):
        raise UnsupportedGame("domain constants and derived predicates are not supported")
    for section in _section(define, ":action"):
        fields = dict(zip(section[2::2], section[3::2], strict=False))
        name = section[1]
        domain.actions[name] = Action(
            name=name,
            params=_typed_list(fields.get(":parameters", [])),
            precondition=parse_formula(fields.get(":precondition", [])),
            effects=tuple(parse_effects(fields.get(":effect", []))),
        )
    return domain


def parse_problem(text: str) -> Problem:
    """Read a problem's objects, initial atoms (``=`` assignments of numbers are skipped) and goal."""
    define = _define(text)
    objects: dict[str, str] = {}
    for section in _section(define, ":objects"):
        for name, type_name in _typed_list(section[1:]):
            objects.setdefault(name, type_name)
    init: list[tuple[str, tuple[str, ...]]] = []
    for section in _section(define, ":init"):
        for fact in section[1:]:
            if fact and fact[0] == "=":
                if not (isinstance(fact[2], str) and fact[2].isdigit()):
                    raise UnsupportedGame("non-numeric function values in :init are not supported")
                continue
            if not all(isinstance(a, str) for a in fact):
                raise UnsupportedGame(f"unsupported :init entry {fact!r}")
            init.append((fact[0], tuple(fact[1:])))
    goals = _section(define, ":goal")
    if len(goals) != 1:
        raise UnsupportedGame("a problem needs exactly one :goal")
    return Problem(objects=objects, init=init, goal=parse_formula(goals[0][1]))
