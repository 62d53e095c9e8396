"""One ALFWorld game played natively: its state as facts, admissible commands, effects, feedback and ``won``.

It reproduces what TextWorld's ``PddlEnv`` (driving fast-downward's successor generator, wrapped in
ALFWorld's ``AlfredDemangler``) shows a player, keeping two sets of facts as that engine does:

- the **state**: the true atoms, under PDDL's semantics (conditional effects judged on the state before the
  action; a deleted-and-added atom stays true). Preconditions, the admissible actions and the goal are
  evaluated on it, as fast-downward evaluates them on its own copy;
- the **text facts**: what TextWorld's ``PddlState`` renders text from. TextWorld applies every effect
  fast-downward lists for an operator, whatever its condition, and records a deleted atom ``p(x)`` as a fact
  ``not_p(x)``; grammars query both (``not_inreceptacle``), so both are kept exactly.

An action instance is admissible when its precondition holds and fast-downward's translator kept it: an
operator whose every effect is void is dropped (an effect is void when the precondition already fixes the
value it sets, or when its atom can never take the other value in this game), so ``go to`` the receptacle
the agent stands at is not a command.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from agentgym.envs.alfworld.native.grammar import (
    Conditional,
    Eval,
    Expression,
    Listed,
    Ref,
    Symbol,
    Text,
    parse_document,
    parse_rhs,
)
from agentgym.envs.alfworld.native.match import Plan, StaticIndex
from agentgym.envs.alfworld.native.names import display_names
from agentgym.envs.alfworld.native.pddl import (
    Action,
    Effect,
    Formula,
    UnsupportedGame,
    parse_domain,
    parse_problem,
)

#: What TextWorld answers to a command that is not admissible.
NOTHING_HAPPENS = "Nothing happens."

Atom = tuple[str, tuple[str, ...]]
Literal = tuple[bool, str, tuple[str, ...]]  # (positive, predicate, args); args may be ?variables


@dataclass
class Entity:
    """What the grammar's expressions see of an object (TextWorld's ``EntityInfo`` fields in use)."""

    id: str
    type: str
    name: str
    definite: str = "the"
    indefinite: str = "a"

    def __str__(self) -> str:
        return self.name


_QUERY_PART = re.compile(r"\s*([\w-]+)\s*\(([^)]*)\)\s*")


def parse_query(text: str) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """Parse ``p(a:agent, l:location) & q(...)`` into ``((p, ((a, agent), (l, location))), ...)``."""
    parts = []
    for part in text.split("&"):
        match = _QUERY_PART.fullmatch(part)
        if match is None:
            raise UnsupportedGame(f"unsupported grammar query {text!r}")
        placeholders = []
        for arg in match.group(2).split(","):
            name, _, type_name = arg.strip().partition(":")
            if not name or not type_name:
                raise UnsupportedGame(f"unsupported grammar query {text!r}")
            placeholders.append((name.strip(), type_name.strip()))
        parts.append((match.group(1), tuple(placeholders)))
    return tuple(parts)


Conjunction = tuple[list[Literal], tuple[tuple[str, str], ...]]  # literals, typed existential variables


def _dnf(formula: Formula, negate: bool = False, renames: dict[str, str] | None = None) -> list[Conjunction]:
    """A precondition as a disjunction of conjunctions of literals, each with its existential variables.

    Existential variables are renamed apart (``?a`` of two ``exists`` are two variables).
    """
    renames = renames or {}
    kind = formula[0]
    if kind == "atom":
        return [([(not negate, formula[1], tuple(renames.get(a, a) for a in formula[2]))], ())]
    if kind == "not":
        return _dnf(formula[1], not negate, renames)
    if kind in ("and", "or"):
        conjunctive = (kind == "and") != negate
        parts = [_dnf(f, negate, renames) for f in formula[1]]
        if conjunctive:
            return [
                ([lit for lits, _ in combo for lit in lits], tuple(v for _, typed in combo for v in typed))
                for combo in itertools.product(*parts)
            ]
        return [conj for part in parts for conj in part]
    if kind == "exists" and not negate:
        inner = dict(renames)
        typed = []
        for var, type_name in formula[1]:
            inner[var] = f"{var}#{next(_FRESH)}"
            typed.append((inner[var], type_name))
        return [(lits, tuple(typed) + more) for lits, more in _dnf(formula[2], negate, inner)]
    raise UnsupportedGame(f"unsupported precondition {kind!r}")


_FRESH = itertools.count()
_TRUE: Formula = ("and", ())


class _Facts:
    """Atoms indexed by predicate, with lookups by bound argument positions."""

    def __init__(self, atoms: list[Atom] = ()) -> None:
        self.by_predicate: dict[str, set[tuple[str, ...]]] = defaultdict(set)
        for predicate, args in atoms:
            self.by_predicate[predicate].add(args)

    def __contains__(self, atom: Atom) -> bool:
        return atom[1] in self.by_predicate.get(atom[0], ())

    def add(self, atom: Atom) -> None:
        self.by_predicate[atom[0]].add(atom[1])

    def discard(self, atom: Atom) -> None:
        args = self.by_predicate.get(atom[0])
        if args is not None:
            args.discard(atom[1])

    def copy(self) -> _Facts:
        copy = _Facts()
        for predicate, args in self.by_predicate.items():
            copy.by_predicate[predicate] = set(args)
        return copy


class GameData:
    """A game file read once: domain, problem, grammar and what does not change while it is played."""

    def __init__(self, data: dict) -> None:
        """Read the domain, problem and text of a parsed ``game.tw-pddl``."""
        self.domain = parse_domain(data["pddl_domain"])
        self.problem = parse_problem(data["pddl_problem"])
        self.walkthrough: list[str] = list(data.get("walkthrough") or [])
        action_texts, grammar_json = parse_document(data["grammar"])
        self.rules: dict[str, list[tuple[tuple | None, Sequence[Symbol]]]] = {}
        for name, rules in grammar_json.items():
            self.rules[name] = [
                (parse_query(rule["condition"]) if rule.get("condition") else None, parse_rhs(rule["rhs"]))
                for rule in rules
            ]
        self.templates = {name: parse_rhs(text.template) for name, text in action_texts.items()}
        self.feedback = {name: parse_rhs(text.feedback) for name, text in action_texts.items()}
        self._expressions: dict[str, Expression] = {}
        for symbols in [*self.templates.values(), *self.feedback.values()] + [
            rhs for rules in self.rules.values() for _, rhs in rules
        ]:
            self._compile(symbols)
        for name in self.domain.actions:
            if name not in action_texts:
                raise UnsupportedGame(f"the grammar has no template for action {name!r}")

        self.types = dict(self.problem.objects)
        self.subtypes = self._subtypes()
        self.objects_by_type: dict[str, list[str]] = defaultdict(list)
        for name, type_name in self.problem.objects.items():
            for super_type in self._supertypes(type_name):
                self.objects_by_type[super_type].append(name)
        self.init = list(dict.fromkeys(self.problem.init))
        init_set = set(self.init)
        for _, args in self.init:
            for arg in args:
                if arg not in self.types:
                    raise UnsupportedGame(f"the problem's facts name an undeclared object {arg!r}")
        effects = [e for action in self.domain.actions.values() for e in action.effects]
        self.fluent_predicates = {e.predicate for e in effects}
        self.added_predicates = {e.predicate for e in effects if e.positive}
        self.deleted_predicates = {e.predicate for e in effects if not e.positive}
        self.init_set = init_set
        # TextWorld's entities: every object some initial fact mentions, named by ALFWorld's demangler.
        entity_ids = {arg for _, args in self.init for arg in args}
        names = display_names(entity_ids)
        self.entities = {i: Entity(id=i, type=self.types[i], name=names[i]) for i in entity_ids}
        self._checked_not_predicates()
        self.static_predicates = {p for p, _ in self.init} - self.fluent_predicates
        static_facts: dict[str, set[tuple[str, ...]]] = defaultdict(set)
        for predicate, args in self.init:
            if predicate in self.static_predicates:
                static_facts[predicate].add(args)
        self.static_index = StaticIndex(static_facts)
        self.sizes = sizes = Counter(predicate for predicate, _ in self.init)
        self.plans = {
            name: [
                (lits, Plan(lits, action.params + typed, set(), self.static_predicates, sizes))
                for lits, typed in _dnf(action.precondition)
            ]
            for name, action in self.domain.actions.items()
        }
        self._formula_plans: dict[tuple[int, frozenset[str]], list[Plan]] = {}
        self._command_cache: dict[tuple[str, tuple[str, ...]], str] = {}
        self._static_templates = {name: self._queries_static(symbols) for name, symbols in self.templates.items()}

    def _supertypes(self, type_name: str) -> list[str]:
        result = [type_name]
        while type_name in self.domain.types and self.domain.types[type_name] != type_name:
            type_name = self.domain.types[type_name]
            result.append(type_name)
        if "object" not in result:
            result.append("object")
        return result

    def _subtypes(self) -> dict[str, set[str]]:
        subtypes: dict[str, set[str]] = defaultdict(set)
        all_types = set(self.domain.types) | set(self.problem.objects.values()) | {"object"}
        for type_name in all_types:
            for super_type in self._supertypes(type_name):
                subtypes[super_type].add(type_name)
        return subtypes

    def _compile(self, symbols: Sequence[Symbol]) -> None:
        for symbol in symbols:
            if isinstance(symbol, Listed):
                symbol = symbol.item
            if isinstance(symbol, Conditional):
                if symbol.query:
                    parse_query(symbol.query)
                symbol = symbol.item
            if isinstance(symbol, Eval) and symbol.expression not in self._expressions:
                self._expressions[symbol.expression] = Expression.parse(symbol.expression)

    def _checked_not_predicates(self) -> None:
        """Refuse a grammar whose ``not_p`` facts would depend on fast-downward's reachability analysis.

        A ``not_p(x)`` text fact appears when an operator deletes ``p(x)``; the native engine records that
        exactly when every action deleting ``p`` requires ``p`` (unconditionally) in its precondition.
        """
        queried = set()
        texts = [text for rules in self.rules.values() for cond, rhs in rules for text in self._queries(rhs, cond)]
        texts += [t for symbols in [*self.templates.values(), *self.feedback.values()] for t in self._queries(symbols)]
        for query in texts:
            queried.update(predicate for predicate, _ in query)
        for predicate in queried:
            if not predicate.startswith("not_"):
                continue
            positive = predicate[4:]
            for action in self.domain.actions.values():
                for effect in action.effects:
                    if effect.predicate != positive or effect.positive:
                        continue
                    guarded = effect.condition == _TRUE and all(
                        (True, positive, effect.args) in conj for conj, _ in _dnf(action.precondition)
                    )
                    if not guarded:
                        raise UnsupportedGame(f"the grammar queries {predicate!r}, deleted without a guard")

    def _queries(self, symbols: Sequence[Symbol], condition: tuple | None = None) -> Iterator[tuple]:
        if condition:
            yield condition
        for symbol in symbols:
            if isinstance(symbol, Listed):
                symbol = symbol.item
            if isinstance(symbol, Conditional) and symbol.query:
                yield parse_query(symbol.query)

    def _queries_static(self, symbols: Sequence[Symbol]) -> bool:
        """Whether a template's text depends only on facts no action changes (so it can be cached)."""
        for query in self._queries(symbols):
            for predicate, _ in query:
                if predicate.startswith("not_") or predicate in self.fluent_predicates:
                    return False
        return not any(isinstance(s, Ref) or (isinstance(s, Conditional) and isinstance(s.item, Ref)) for s in symbols)

    def plan_for(self, formula: Formula, bound: frozenset[str]) -> list[Plan]:
        """The join plans of an ``exists`` formula, its free variables already bound (compiled once)."""
        key = (id(formula), bound)
        if key not in self._formula_plans:
            self._formula_plans[key] = [
                Plan(lits, typed, set(bound), self.static_predicates, self.sizes) for lits, typed in _dnf(formula)
            ]
        return self._formula_plans[key]

    def expression(self, text: str) -> Expression:
        """The compiled form of an ``{expression}``."""
        return self._expressions[text]


@dataclass(frozen=True)
class _Instance:
    """A ground action: schema, arguments, the literals its matched precondition fixes."""

    action: Action
    args: tuple[str, ...]
    fixed: frozenset[Literal]


class NativeGame:
    """One game in play. :meth:`reset` starts it, :meth:`step` applies a command.

    Args:
        data: the game file read by :class:`GameData` (shared by every play of that game).
    """

    def __init__(self, data: GameData) -> None:
        """Prepare a play of ``data``; call :meth:`reset` to start."""
        self.data = data
        self.state = _Facts()
        self.text_facts = _Facts()
        self._commands: dict[str, _Instance] = {}

    @classmethod
    def load(cls, path: str | Path) -> NativeGame:
        """Read a ``game.tw-pddl`` file."""
        with open(path, encoding="utf-8") as f:
            return cls.load_data(json.load(f))

    @classmethod
    def load_data(cls, data: dict) -> NativeGame:
        """Read a parsed ``game.tw-pddl`` (``pddl_domain``, ``pddl_problem``, ``grammar``, ``walkthrough``)."""
        return cls(GameData(data))

    # --- playing ---------------------------------------------------------------------------------------------

    def reset(self) -> str:
        """Start the game; return TextWorld's intro text (``#intro#``)."""
        self.state = _Facts(self.data.init)
        self.text_facts = _Facts(self.data.init)
        intro = self.derive([Ref("intro")], {}, {})
        self._refresh()
        return intro

    def step(self, command: str) -> str:
        """Apply a command (surrounding whitespace stripped); return the feedback."""
        instance = self._commands.get(command.strip())
        if instance is None:
            return NOTHING_HAPPENS
        self._apply(instance)
        variables, mapping = self._context(instance)
        feedback = self.derive(self.data.feedback[instance.action.name], variables, mapping)
        self._refresh()
        return feedback

    @property
    def admissible_commands(self) -> list[str]:
        """The commands valid now, sorted."""
        return sorted(self._commands)

    @property
    def won(self) -> bool:
        """Whether the goal holds in the current state."""
        return self._holds(self.data.problem.goal, {})

    def _run(self, plan: Plan, binding: dict[str, str]) -> Iterator[dict[str, str]]:
        data = self.data
        state = self.state
        return plan.run(
            lambda predicate, args: args in state.by_predicate.get(predicate, ()),
            lambda predicate: state.by_predicate.get(predicate, ()),
            data.static_index,
            data.types,
            data.subtypes,
            data.objects_by_type,
            binding,
        )

    # --- actions ---------------------------------------------------------------------------------------------

    def _refresh(self) -> None:
        commands: dict[str, _Instance] = {}
        for instance in self._applicable():
            command = self._command(instance)
            commands.setdefault(command, instance)
        self._commands = commands

    def _applicable(self) -> Iterator[_Instance]:
        seen: set[tuple[str, tuple[str, ...]]] = set()
        for name, action in self.data.domain.actions.items():
            params = [p for p, _ in action.params]
            for conjunction, plan in self.data.plans[name]:
                for binding in self._run(plan, {}):
                    args = tuple(binding[p] for p in params)
                    key = (name, args)
                    fixed = frozenset(
                        (pos, pred, tuple(binding.get(a, a) for a in lit_args)) for pos, pred, lit_args in conjunction
                    )
                    instance = _Instance(action, args, fixed)
                    if key in seen or not self._listed_effects(instance):
                        continue
                    seen.add(key)
                    yield instance

    def _holds(self, formula: Formula, binding: dict[str, str]) -> bool:
        kind = formula[0]
        if kind == "atom":
            ground = tuple(binding.get(a, a) for a in formula[2])
            if formula[1] == "=":
                return ground[0] == ground[1]
            return (formula[1], ground) in self.state
        if kind == "not":
            return not self._holds(formula[1], binding)
        if kind == "and":
            return all(self._holds(f, binding) for f in formula[1])
        if kind == "or":
            return any(self._holds(f, binding) for f in formula[1])
        if kind in ("exists", "forall"):
            if kind == "exists":
                for plan in self.data.plan_for(formula, frozenset(binding)):
                    for _ in self._run(plan, binding):
                        return True
                return False
            choices = [self.data.objects_by_type.get(t, []) for _, t in formula[1]]
            for values in itertools.product(*choices):
                inner = dict(binding)
                inner.update((p, v) for (p, _), v in zip(formula[1], values, strict=True))
                if not self._holds(formula[2], inner):
                    return False
            return True
        raise UnsupportedGame(f"unsupported formula {kind!r}")

    def _ground_effects(self, instance: _Instance) -> Iterator[tuple[Effect, dict[str, str], Atom]]:
        binding = dict(zip((p for p, _ in instance.action.params), instance.args, strict=True))
        for effect in instance.action.effects:
            if effect.params:
                choices = [self.data.objects_by_type.get(t, []) for _, t in effect.params]
                for values in itertools.product(*choices):
                    inner = dict(binding)
                    inner.update((p, v) for (p, _), v in zip(effect.params, values, strict=True))
                    yield effect, inner, (effect.predicate, tuple(inner.get(a, a) for a in effect.args))
            else:
                yield effect, binding, (effect.predicate, tuple(binding.get(a, a) for a in effect.args))

    def _listed_effects(self, instance: _Instance) -> list[tuple[Effect, dict, Atom]]:
        """The effects fast-downward keeps for this operator (see the module docstring)."""
        ground = list(self._ground_effects(instance))
        added = {(atom, effect.condition) for effect, _, atom in ground if effect.positive}
        listed = []
        for effect, inner, atom in ground:
            if effect.condition != _TRUE and not self._condition_possible(effect.condition, inner):
                continue
            if (effect.positive, atom[0], atom[1]) in instance.fixed:
                continue  # the precondition already fixes this value
            if effect.positive:
                # An atom true from the start that nothing deletes is a constant.
                if atom in self.data.init_set and atom[0] not in self.data.deleted_predicates:
                    continue
            else:
                if (atom, effect.condition) in added:
                    continue  # add wins over delete
                if (False, atom[0], atom[1]) in instance.fixed:
                    continue
                never_true = atom not in self.state and atom not in self.data.init_set
                if never_true and effect.condition == _TRUE and atom[0] not in self.data.added_predicates:
                    continue
            listed.append((effect, inner, atom))
        return listed

    def _condition_possible(self, condition: Formula, binding: dict[str, str]) -> bool:
        """False when a conditional effect's condition names a static atom that is false (fast-downward drops it)."""
        for conjunction, _ in _dnf(condition):
            possible = True
            for positive, predicate, args in conjunction:
                if predicate in self.data.fluent_predicates or predicate == "=":
                    continue
                ground = (predicate, tuple(binding.get(a, a) for a in args))
                if (ground in self.data.init_set) != positive:
                    possible = False
                    break
            if possible:
                return True
        return False

    def _apply(self, instance: _Instance) -> None:
        listed = self._listed_effects(instance)
        fired = [
            (effect, atom)
            for effect, inner, atom in listed
            if effect.condition == _TRUE or self._holds(effect.condition, inner)
        ]
        for effect, atom in fired:
            if not effect.positive:
                self.state.discard(atom)
        for effect, atom in fired:
            if effect.positive:
                self.state.add(atom)
        # TextWorld applies every listed effect, conditions ignored; per atom the add comes before the delete.
        for effect, _, atom in sorted(listed, key=lambda item: not item[0].positive):
            predicate, args = atom
            if effect.positive:
                self.text_facts.discard(("not_" + predicate, args))
                self.text_facts.add(atom)
            else:
                self.text_facts.discard(atom)
                self.text_facts.add(("not_" + predicate, args))

    # --- text ------------------------------------------------------------------------------------------------

    def _context(self, instance: _Instance) -> tuple[dict[str, Entity], dict[tuple[str, str], str]]:
        variables = {}
        mapping = {}
        for (param, type_name), value in zip(instance.action.params, instance.args, strict=True):
            name = param.lstrip("?")
            variables[name] = self._entity(value)
            mapping[(name, type_name)] = value
        return variables, mapping

    def _entity(self, entity_id: str) -> Entity:
        entity = self.data.entities.get(entity_id)
        if entity is None:
            raise UnsupportedGame(f"{entity_id!r} has no name (no initial fact mentions it)")
        return entity

    def _command(self, instance: _Instance) -> str:
        key = (instance.action.name, instance.args)
        cached = self.data._command_cache.get(key)
        if cached is not None:
            return cached
        variables, mapping = self._context(instance)
        command = self.derive(self.data.templates[instance.action.name], variables, mapping)
        if self.data._static_templates[instance.action.name]:
            self.data._command_cache[key] = command
        return command

    def derive(
        self, symbols: Sequence[Symbol], variables: dict[str, Entity], mapping: dict[tuple[str, str], str]
    ) -> str:
        """Expand symbols into text in a context (entities by placeholder name, placeholder -> object id)."""
        out: list[str] = []
        for symbol in symbols:
            self._derive_symbol(symbol, variables, mapping, out)
        return "".join(out)

    def _derive_symbol(self, symbol: Symbol, variables: dict, mapping: dict, out: list[str]) -> None:
        if isinstance(symbol, Text):
            out.append(symbol.text)
        elif isinstance(symbol, Ref):
            out.append(self.derive(self._rule(symbol.symbol, mapping), variables, mapping))
        elif isinstance(symbol, Eval):
            out.append(str(self.data.expression(symbol.expression).evaluate(variables)))
        elif isinstance(symbol, Conditional):
            for item_vars, item_map in self._contexts(symbol, variables, mapping):
                self._derive_symbol(symbol.item, item_vars, item_map, out)
        elif isinstance(symbol, Listed):
            items = [
                self.derive([symbol.item.item], item_vars, item_map)
                for item_vars, item_map in self._contexts(symbol.item, variables, mapping)
            ]
            if not items:
                out.append(self.derive([Ref("list_empty")], variables, mapping))
            elif len(items) == 1:
                out.append(items[0])
            else:
                separator = self.derive([Ref("list_separator")], variables, mapping)
                last = self.derive([Ref("list_last_separator")], variables, mapping)
                out.append(separator.join(items[:-1]) + last + items[-1])

    def _rule(self, name: str, mapping: dict) -> Sequence[Symbol]:
        rules = self.data.rules.get(name)
        if not rules:
            raise UnsupportedGame(f"the grammar has no symbol #{name}#")
        for condition, rhs in rules:
            if condition is None or next(self._query(condition, mapping), None) is not None:
                return rhs
        raise UnsupportedGame(f"no rule of #{name}# applies")

    def _contexts(self, symbol: Conditional, variables: dict, mapping: dict) -> Iterator[tuple[dict, dict]]:
        if not symbol.query:
            yield variables, mapping
            return
        for match in self._query(parse_query(symbol.query), mapping):
            item_vars = dict(variables)
            item_vars.update((name, self._entity(value)) for (name, _), value in match.items())
            yield item_vars, match

    def _query(self, query: tuple, mapping: dict[tuple[str, str], str]) -> Iterator[dict[tuple[str, str], str]]:
        """TextWorld's ``State.all_assignments`` over the text facts: matches in its order, distinct objects."""
        binding = dict(mapping)
        used = set(binding.values())
        yield from self._assign(query, 0, binding, used)

    def _assign(self, query: tuple, depth: int, binding: dict, used: set) -> Iterator[dict]:
        if depth == len(query):
            yield dict(binding)
            return
        predicate, placeholders = query[depth]
        facts = self._facts_for(predicate, placeholders)
        for fact in facts:
            new = []
            ok = True
            for placeholder, value in zip(placeholders, fact, strict=False):
                existing = binding.get(placeholder)
                if existing is None:
                    if value in used:
                        ok = False
                        break
                    binding[placeholder] = value
                    used.add(value)
                    new.append(placeholder)
                elif existing != value:
                    ok = False
                    break
            if ok:
                yield from self._assign(query, depth + 1, binding, used)
            for placeholder in new:
                used.discard(binding.pop(placeholder))

    def _facts_for(self, predicate: str, placeholders: tuple) -> list[tuple[str, ...]]:
        """The facts of a query predicate whose objects' types fit, sorted as TextWorld sorts propositions."""
        types = self.data.types
        subtypes = self.data.subtypes
        facts = [
            args
            for args in self.text_facts.by_predicate.get(predicate, ())
            if len(args) == len(placeholders)
            and all(types.get(a) in subtypes.get(t, {t}) for a, (_, t) in zip(args, placeholders, strict=True))
        ]
        signatures = {tuple(types[a] for a in args) for args in facts}
        if len(signatures) > 1:
            raise UnsupportedGame(f"facts of {predicate!r} with several type signatures")
        return sorted(facts, key=lambda args: tuple((a, types[a]) for a in args))
