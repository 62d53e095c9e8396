"""An env's action grammar: how its actions are written, told in words for a prompt and read into their parts.

Every env class names its grammar in its ``action_grammar`` attribute (see the contract of
:class:`~agentgym.core.TextEnv`); :func:`grammar_of` finds it from a gymnasium id, so a generic agent can describe
the actions in its prompt or check a model's action before sending it without importing the benchmark. An env
that declares none takes any string (:data:`FREE_TEXT`); the env itself stays the judge of what an action does.

Writing a grammar::

    class Commands(ActionGrammar):
        def describe(self) -> str:
            return "Write one command: 'go <place>' or 'look'."

        def parse(self, action: str) -> ParsedAction:
            verb, _, rest = action.strip().partition(" ")
            if verb == "look" and not rest:
                return ParsedAction("look", {}, action)
            if verb == "go" and rest:
                return ParsedAction("go", {"place": rest}, action)
            raise MalformedAction(f"{action[:40]!r} is not a command. {self.describe()}")
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import gymnasium

from agentgym.error import Error, SettingError

#: A named rewrite of a model's action into the env's syntax (see :attr:`ActionGrammar.rewrites`).
Rewrite = Callable[[str], str]


class MalformedAction(Error, ValueError):
    """An action that does not follow its env's grammar; ``str()`` is the one-line reason (the env's own words)."""


@dataclass(frozen=True)
class ParsedAction:
    """An action read into its parts.

    Attributes:
        kind: which form of the grammar it has (``"step"``, ``"answer"``, ``"search"``, ``"click"``, ...).
        parts: the pieces that form names, as written (``{"query": "red shoes"}``).
        text: the action as it was given.
    """

    kind: str
    parts: Mapping[str, str] = field(default_factory=dict)
    text: str = ""


class ActionGrammar(ABC):
    """The syntax of one env's actions (the rules of what an action *does* stay in the env).

    Subclasses implement :meth:`describe` and :meth:`parse`; :attr:`rewrites` lists the named rewrites that papers
    apply to a model's action for this env (an agent setting names them, and a run's card records which were on).
    """

    #: Named rewrites of a model's action into this env's syntax (none by default).
    rewrites: Mapping[str, Rewrite] = MappingProxyType({})

    @abstractmethod
    def describe(self) -> str:
        """The grammar in words, as a prompt can show it (one or two sentences)."""

    @abstractmethod
    def parse(self, action: str) -> ParsedAction:
        """Read ``action`` into its parts.

        Raises:
            MalformedAction: the action does not follow the grammar (the message says why, in one line).
        """

    def is_valid(self, action: str) -> bool:
        """Whether ``action`` follows the grammar (it may still be refused by the env's rules)."""
        try:
            self.parse(action)
        except MalformedAction:
            return False
        return True

    def rewrite(self, action: str, names: tuple[str, ...] | list[str]) -> str:
        """``action`` after the rewrites ``names``, in order.

        Raises:
            SettingError: (a ValueError) a name this grammar does not know (the message lists the known ones).
        """
        unknown = [name for name in names if name not in self.rewrites]
        if unknown:
            raise SettingError(f"unknown rewrites {unknown}; known: {sorted(self.rewrites)}")
        for name in names:
            action = self.rewrites[name](action)
        return action


class FreeText(ActionGrammar):
    """Any string is an action: the grammar of an env that declares none."""

    def describe(self) -> str:
        """A generic sentence."""
        return "Write the action as plain text."

    def parse(self, action: str) -> ParsedAction:
        """The whole string, as one part ``text``."""
        return ParsedAction("text", {"text": action}, action)


#: The grammar of an env that declares none.
FREE_TEXT = FreeText()


def grammar_of(env_id: str) -> ActionGrammar:
    """The action grammar of the env registered as ``env_id`` (its class's ``action_grammar``).

    Raises:
        gymnasium.error.Error: ``env_id`` is not registered.
    """
    entry_point = gymnasium.spec(env_id).entry_point
    if callable(entry_point):
        target = entry_point
    else:
        module, _, attribute = str(entry_point).partition(":")
        target = getattr(importlib.import_module(module), attribute)
    grammar = getattr(target, "action_grammar", FREE_TEXT)
    return grammar if isinstance(grammar, ActionGrammar) else FREE_TEXT
