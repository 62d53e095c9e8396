"""The text side of a game file: action templates, feedback rules and the context-sensitive grammar.

A game's ``grammar`` field is TextWorld's "PDDL logic" document: ``action NAME { template :: "..."; feedback ::
"..."; grammar :: \"\"\"{json}\"\"\"; }`` blocks and top-level ``grammar :: \"\"\"{json}\"\"\";`` blocks (``#`` starts a
comment outside strings). The JSON maps a symbol to its production rules (``rhs``, optional ``condition``).
A right-hand side is a sequence of symbols, read here as TextWorld's tatsu grammar (``textgen.ebnf``) reads
it: literal text, ``"quoted"`` text, ``#symbol#``, ``{expression | query}`` and ``[{...}]`` lists. Parsing
stops at the first character no symbol can start with (the rest of the text is dropped, as tatsu does), and
leading blanks of the whole text are skipped.

Deriving is deterministic: a symbol expands to its first rule whose condition has a match (TextWorld never
draws among rules), a ``{e | query}`` repeats ``e`` for every match of the query in the order TextWorld
finds them (facts sorted, see :mod:`agentgym.envs.alfworld.native.facts`), and a list joins items with the
grammar's ``list_separator`` / ``list_last_separator`` / ``list_empty`` rules.
"""

from __future__ import annotations

import functools
import json
import re
import textwrap
from dataclasses import dataclass

from agentgym.envs.alfworld.native.pddl import UnsupportedGame

# --- the logic document (textworld/envs/pddl/logic/logic.ebnf) ---------------------------------------------------

_DOC_TOKEN = re.compile(r'\s+|#[^\n]*|"""(?:.|\n)*?"""|"[^"]*"|::|[{};]|[\w/-]+', re.MULTILINE)


@dataclass(frozen=True)
class ActionText:
    """An action's command template and feedback rule (right-hand sides in the grammar's syntax)."""

    template: str
    feedback: str


def _doc_tokens(text: str) -> list[str]:
    tokens = []
    pos = 0
    while pos < len(text):
        match = _DOC_TOKEN.match(text, pos)
        if match is None:
            raise UnsupportedGame(f"unreadable game grammar at {text[pos : pos + 30]!r}")
        token = match.group()
        pos = match.end()
        if not token.isspace() and not token.startswith("#"):
            tokens.append(token)
    return tokens


def _block(token: str) -> str:
    return textwrap.dedent(token[3:-3])


def parse_document(text: str) -> tuple[dict[str, ActionText], dict[str, list[dict]]]:
    """Return the actions (by lower-cased name) and the merged grammar JSON of a game's ``grammar`` field."""
    tokens = _doc_tokens(text)
    actions: dict[str, ActionText] = {}
    grammar: dict[str, list[dict]] = {}
    i = 0

    def field(i: int) -> tuple[str, str, int]:
        if tokens[i + 1] != "::" or tokens[i + 3] != ";":
            raise UnsupportedGame(f"unreadable game grammar near {tokens[i]!r}")
        return tokens[i], tokens[i + 2], i + 4

    try:
        while i < len(tokens):
            if tokens[i] == "grammar":
                _, value, i = field(i)
                grammar.update(json.loads(_block(value)))
            elif tokens[i] == "action" and tokens[i + 2] == "{":
                name, i = tokens[i + 1], i + 3
                parts: dict[str, str] = {}
                while tokens[i] != "}":
                    key, value, i = field(i)
                    parts[key] = value
                i += 1
                if "grammar" in parts:
                    code = _block(parts["grammar"])
                    code = "\n".join(line for line in code.split("\n") if not line.lstrip().startswith("#"))
                    grammar.update(json.loads(code))
                actions[name.lower()] = ActionText(parts["template"][1:-1], parts["feedback"][1:-1])
            else:
                raise UnsupportedGame(f"unreadable game grammar near {tokens[i]!r}")
    except (IndexError, KeyError, json.JSONDecodeError) as e:
        raise UnsupportedGame(f"unreadable game grammar: {e}") from e
    return actions, grammar


# --- right-hand sides (textworld/envs/pddl/textgen/textgen.ebnf) --------------------------------------------------

_LITERAL = re.compile(r'[^;|"<>\[\]#{}]*')
_TAG = re.compile(r"[\w()/!<>\-\s,.]+")
_GIVEN = re.compile(r"[^;|{}\n\[\]#]+")
_STATEMENT = re.compile(r"[^|\[\]{}\n<>]+")
_BAR = re.compile(r"\s*\|\s*")
_TABS = re.compile(r"[\t]*")
_COMMENT = re.compile(r"(//.*|\s*)\n?")


@dataclass(frozen=True)
class Text:
    """Literal text."""

    text: str


@dataclass(frozen=True)
class Ref:
    """``#symbol#``: expands by the symbol's rules."""

    symbol: str


@dataclass(frozen=True)
class Eval:
    """An expression over the context's entities, e.g. ``o.indefinite + ' ' + o.name``."""

    expression: str


@dataclass(frozen=True)
class Conditional:
    """``{item | query}``: ``item`` once per match of ``query`` (once, in the current context, without one)."""

    item: Ref | Eval
    query: str | None


@dataclass(frozen=True)
class Listed:
    """``[{...}]``: the matches joined as a list."""

    item: Conditional


Symbol = Text | Ref | Eval | Conditional | Listed


class _RhsParser:
    """A recursive-descent reading of ``textgen.ebnf``, skipping blanks where tatsu does."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def skip(self) -> None:
        while True:
            start = self.pos
            if self.pos == 0:  # the comment pattern is anchored (``^``): it applies at the very start only
                self.pos = _COMMENT.match(self.text, self.pos).end()
            self.pos = _TABS.match(self.text, self.pos).end()
            if self.pos == start:
                return

    def peek(self, token: str) -> bool:
        return self.text.startswith(token, self.pos)

    def symbols(self) -> list[Symbol]:
        result: list[Symbol] = []
        while True:
            saved = self.pos
            symbol = self.symbol()
            if symbol is None or (self.pos == saved and result):
                self.pos = saved
                return result
            result.append(symbol)
            if self.pos == saved:  # an empty first symbol ends the text, as in tatsu's closure
                return result

    def symbol(self) -> Symbol | None:
        for parse in (self.listed, self.conditional, self.ref, self.terminal):
            saved = self.pos
            symbol = parse()
            if symbol is not None:
                return symbol
            self.pos = saved
        return None

    def listed(self) -> Listed | None:
        self.skip()
        if not self.peek("["):
            return None
        self.pos += 1
        item = self.conditional()
        self.skip()
        if item is None or not self.peek("]"):
            return None
        self.pos += 1
        return Listed(item)

    def conditional(self) -> Conditional | None:
        self.skip()
        if not self.peek("{"):
            return None
        self.pos += 1
        saved = self.pos
        item: Ref | Eval | None = self.ref()
        if item is None:
            self.pos = saved
            item = self.eval()
        if item is None:
            return None
        query = None
        self.skip()
        bar = _BAR.match(self.text, self.pos)
        if bar:
            after_bar = bar.end()
            self.pos = after_bar
            self.skip()
            given = _GIVEN.match(self.text, self.pos)
            if given:
                query = given.group()
                self.pos = given.end()
            else:
                self.pos = bar.start()
        self.skip()
        if not self.peek("}"):
            return None
        self.pos += 1
        return Conditional(item, query)

    def ref(self) -> Ref | None:
        self.skip()
        if not self.peek("#"):
            return None
        self.pos += 1
        self.skip()
        tag = _TAG.match(self.text, self.pos)
        if tag is None:
            return None
        self.pos = tag.end()
        self.skip()
        if not self.peek("#"):
            return None
        self.pos += 1
        return Ref(tag.group())

    def eval(self) -> Eval | None:
        self.skip()
        statement = _STATEMENT.match(self.text, self.pos)
        if statement is None:
            return None
        self.pos = statement.end()
        return Eval(statement.group())

    def terminal(self) -> Text | None:
        self.skip()
        if self.peek('"'):
            self.pos += 1
            literal = _LITERAL.match(self.text, self.pos)
            end = literal.end()
            if self.text.startswith('"', end):
                self.pos = end + 1
                return Text(literal.group())
            self.pos -= 1
        literal = _LITERAL.match(self.text, self.pos)
        self.pos = literal.end()
        return Text(literal.group())


@functools.lru_cache(maxsize=4096)
def parse_rhs(text: str) -> tuple[Symbol, ...]:
    """Parse a right-hand side, template or feedback rule into symbols (remembered: games share most texts)."""
    return tuple(_RhsParser(text).symbols())


# --- expressions -----------------------------------------------------------------------------------------------

_EXPR_TOKEN = re.compile(r"\s*(?:'([^'\\]*)'|\"([^\"\\]*)\"|([A-Za-z_]\w*)(?:\.([A-Za-z_]\w*))?|(\+)|(\S))")


@dataclass(frozen=True)
class Expression:
    """The Python expressions the games' grammars use: ``x``, ``x.attr``, ``'text'``, ``a + b``, ``a or b``.

    Anything else raises :class:`UnsupportedGame` when the grammar is read (TextWorld would ``eval`` it).
    """

    alternatives: tuple[tuple[tuple[str, str | None, str | None], ...], ...]

    @classmethod
    def parse(cls, text: str) -> Expression:
        """Compile an expression (raises :class:`UnsupportedGame` for anything else)."""
        alternatives: list[tuple] = []
        terms: list[tuple[str, str | None, str | None]] = []
        expect_term = True
        pos = 0
        stripped = text.strip()
        while pos < len(stripped):
            match = _EXPR_TOKEN.match(stripped, pos)
            if match is None:
                break
            pos = match.end()
            single, double, name, attr, plus, _ = match.groups()
            if expect_term and (single is not None or double is not None):
                terms.append(("str", single if single is not None else double, None))
                expect_term = False
            elif expect_term and name is not None and name not in ("or", "and", "not"):
                terms.append(("var", name, attr))
                expect_term = False
            elif not expect_term and plus:
                expect_term = True
            elif not expect_term and name == "or" and attr is None:
                alternatives.append(tuple(terms))
                terms, expect_term = [], True
            else:
                raise UnsupportedGame(f"unsupported grammar expression {text!r}")
        if expect_term:
            raise UnsupportedGame(f"unsupported grammar expression {text!r}")
        alternatives.append(tuple(terms))
        return cls(tuple(alternatives))

    def evaluate(self, variables: dict[str, object]) -> object:
        """Evaluate against entities (objects with ``name``, ``id``, ``definite``, ``indefinite``, ``type``)."""
        value: object = None
        for terms in self.alternatives:
            value = None
            for kind, name, attr in terms:
                if kind == "str":
                    item: object = name
                else:
                    if name not in variables:
                        raise UnsupportedGame(f"unknown name {name!r} in a grammar expression")
                    item = variables[name]
                    if attr is not None:
                        item = getattr(item, attr)
                value = item if value is None else value + item  # type: ignore[operator]
            if value:
                return value
        return value
