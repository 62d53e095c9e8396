"""ALFWorld's text game engine (textworld's ``PddlEnv`` with ALFWorld's name demangler), with cheaper resets.

:class:`AlfredGame` plays one ``game.tw-pddl`` exactly as ALFWorld's ``AlfredTWEnv`` does (``PddlEnv`` wrapped
in ``AlfredDemangler(shuffle=False)``; steps, observations, admissible commands and the win check are
textworld's own code). What differs is only how a game is set up:

- textworld translates the PDDL problem to fast-downward's SAS format twice per state (a full translation
  and an optimized one for the planner), and builds a state at ``load`` and again at ``reset``: four
  translations of ~0.5-1 s each. Here the full translation is cached per problem, so a game start costs one
  translation and a repeated start none, and the planner's translation is made only when
  :meth:`AlfredGame.replan` is first called in an episode.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fast_downward
import textworld
from alfworld.agents.environment.alfred_tw_env import AlfredDemangler
from textworld.envs.pddl import PddlEnv
from textworld.envs.pddl.logic import Atom, GameLogic, PddlState
from textworld.logic import Proposition, Type, Variable

#: Translations and parsed grammars kept per process (a few hundred KB a game), so that restarting a game, or
#: the reset right after its load, skips the work.
SETUP_CACHE_SIZE = 8

_setups: OrderedDict[tuple[str, ...], Any] = OrderedDict()


def _cached(key: tuple[str, ...], build: Callable[[], Any]) -> Any:
    """Return ``build()``, remembered under ``key`` in a small LRU cache."""
    if key in _setups:
        _setups.move_to_end(key)
        return _setups[key]
    value = build()
    _setups[key] = value
    if len(_setups) > SETUP_CACHE_SIZE:
        _setups.popitem(last=False)
    return value


def _digest(*texts: str) -> str:
    return hashlib.sha256("\0".join(texts).encode()).hexdigest()


def translate(domain: str, problem: str, *, optimize: bool) -> tuple[Any, str]:
    """Return fast-downward's ``(normalized PDDL task, SAS text)`` for a problem (cached)."""
    key = ("sas-optimized" if optimize else "sas", _digest(domain, problem))
    return _cached(key, lambda: fast_downward.pddl2sas(domain, problem, optimize=optimize))


def game_logic(domain: str, grammar: str) -> GameLogic:
    """Return textworld's parsed logic (actions, text grammar) of a game (cached; games share none)."""
    return _cached(("logic", _digest(domain, grammar)), lambda: GameLogic(domain=domain, grammar=grammar))


class _TranslatedState(PddlState):
    """A ``PddlState`` built from a cached translation; the planner's task is loaded on the first replan.

    It sets up the same attributes as textworld's ``PddlState.__init__`` (which cannot take a translation).
    """

    def __init__(self, downward_lib: Any, domain: str, problem: str, logic: GameLogic) -> None:
        self._facts = defaultdict(set)
        self._vars_by_name = {}
        self._vars_by_type = defaultdict(set)
        self._var_counts = Counter()
        self._logic = logic
        self.downward_lib = downward_lib
        self.pddl_problem = problem
        self._domain = domain
        self._planner_loaded = False
        self.task, self.sas = translate(domain, problem, optimize=False)
        self._actions = {action.name: action for action in self.task.actions}
        for pddl_type in self.task.types:
            # The type hierarchy belongs to the logic, shared by every state: each type is added once.
            with contextlib.suppress(ValueError):
                logic.types.add(Type(pddl_type.name, pddl_type.supertype_names))
        downward_lib.load_sas(self.sas.encode("utf-8"))
        self.name2type = {obj.name: obj.type_name for obj in self.task.objects}
        self.add_facts([fact for atom in self.task.init if (fact := self._initial_fact(atom)) is not None])
        atoms = (Atom * downward_lib.get_state_size())()
        downward_lib.get_state(atoms)
        facts = (atom.get_fact(self.name2type) for atom in atoms)
        self.add_facts([fact for fact in facts if not fact.is_negation])

    def _initial_fact(self, atom: Any) -> Proposition | None:
        """Return the fact of an ``:init`` entry; ``None`` for equality, costs and distances."""
        pddl = fast_downward.translate.pddl
        if isinstance(atom, pddl.conditions.Atom):
            if atom.predicate == "=":
                return None
            return Proposition(atom.predicate, [Variable(arg, self.name2type[arg]) for arg in atom.args])
        if isinstance(atom, pddl.f_expression.Assign):
            value = str(atom.expression.value)
            if atom.fluent.symbol == "total-cost" or value.isdigit():
                return None
            return Proposition(value, [Variable(arg, self.name2type[arg]) for arg in atom.fluent.args])
        return None

    def replan(self, infos: Any) -> list[str]:
        """Return an optimal command sequence from the current state (fast-downward), ``[]`` if none."""
        if not self._planner_loaded:
            _, sas = translate(self._domain, self.pddl_problem, optimize=True)
            self.downward_lib.load_sas_replan(sas.encode("utf-8"))
            self._planner_loaded = True
        return super().replan(infos)


#: fast-downward library copies released by closed engines, for new engines of this process to reuse.
#: ``PddlEnv`` dlopens a fresh copy of the library per instance; a process that makes many envs one after the
#: other (tests, few-shot demonstrations, in-process runs) would exhaust glibc's static TLS space and crash
#: with a segmentation fault in ``dlopen``. At most one copy per engine alive at once is ever loaded.
_RELEASED_LIBRARIES: list[Any] = []


class _CachedPddlEnv(PddlEnv):
    """textworld's ``PddlEnv`` whose ``load`` and ``reset`` build states from cached translations."""

    def __init__(self, infos: textworld.EnvInfos) -> None:
        """Set up as ``PddlEnv`` does, reusing a released library copy when there is one."""
        textworld.Environment.__init__(self, infos)
        self.downward_lib = _RELEASED_LIBRARIES.pop() if _RELEASED_LIBRARIES else fast_downward.load_lib()

    def load(self, filename: str) -> None:
        """Load a ``game.tw-pddl`` file (as ``PddlEnv.load`` does)."""
        with open(filename, encoding="utf-8") as f:
            data = json.load(f)
        self._game_file = filename
        self._game_data = data
        self.walkthrough = data.get("walkthrough")
        self._logic = game_logic(data["pddl_domain"], data["grammar"])
        self._pddl_state = self._new_state()
        self._entity_infos = self._get_entity_infos()
        self._state_is_initial = True

    def _new_state(self) -> _TranslatedState:
        return _TranslatedState(
            self.downward_lib, self._game_data["pddl_domain"], self._game_data["pddl_problem"], self._logic
        )

    def reset(self) -> textworld.GameState:
        """Restart the loaded game and return its first state (as ``PddlEnv.reset`` does)."""
        if not self._state_is_initial:
            self._pddl_state = self._new_state()
        self._state_is_initial = False
        self.prev_state = None
        self.state = textworld.GameState()
        self._last_action = None
        self._moves = 0
        context = {
            "state": self._pddl_state,
            "facts": list(self._pddl_state.facts),
            "variables": {},
            "mapping": {},
            "entity_infos": self._entity_infos,
        }
        self.state.feedback = self._logic.grammar.derive("#intro#", context)
        self.state.raw = self.state.feedback
        self._gather_infos()
        if "walkthrough" in self.request_infos.extras:
            self.state["extra.walkthrough"] = self.walkthrough or self._pddl_state.replan(self._entity_infos)
        return self.state

    def step(self, command: str) -> tuple[textworld.GameState, float, bool]:
        """Apply a command (``PddlEnv.step``)."""
        self._state_is_initial = False
        return super().step(command)

    def close(self) -> None:
        """Release this env's copy of fast-downward's library for reuse (idempotent)."""
        lib = self.__dict__.pop("downward_lib", None)
        if lib is not None:
            lib.cleanup()
            _RELEASED_LIBRARIES.append(lib)


class AlfredGame:
    """One ALFWorld text game at a time: load a file, reset, step, list admissible commands, plan.

    The engine (and its private copy of fast-downward's library) is created on the first :meth:`start`.
    """

    def __init__(self) -> None:
        """Create nothing yet."""
        self._env: Any = None
        self._state: Any = None

    def start(self, game_file: Path) -> str:
        """Load ``game_file``, reset it and return ALFWorld's first observation."""
        if self._env is None:
            infos = textworld.EnvInfos(won=True, admissible_commands=True, extras=["walkthrough"])
            self._env = AlfredDemangler(shuffle=False)(_CachedPddlEnv(infos))
        self._env.load(str(game_file))
        self._state = self._env.reset()
        return self._state.feedback

    def step(self, command: str) -> tuple[str, bool]:
        """Apply a command; return ``(feedback, won)``. Unknown commands answer ``Nothing happens.``."""
        self._state, _, _ = self._env.step(command)
        return self._state.feedback, bool(self._state["won"])

    @property
    def admissible_commands(self) -> list[str]:
        """The commands valid in the current state, sorted (textworld computes them on every step)."""
        return list(self._state["admissible_commands"])

    @property
    def walkthrough(self) -> list[str]:
        """The game file's stored expert command sequence (from the initial state)."""
        return list(self._state["extra.walkthrough"])

    def replan(self) -> list[str]:
        """Return an optimal command sequence from the current state (fast-downward), ``[]`` if none."""
        pddl_env = self._env.unwrapped
        return pddl_env._pddl_state.replan(pddl_env._entity_infos)

    def close(self) -> None:
        """Release the engine (idempotent)."""
        if self._env is not None:
            self._env.unwrapped.close()
            self._env = None
            self._state = None
