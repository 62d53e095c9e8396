"""Game of 24's action grammar: steps ``a op b = c (left: ...)`` and the answer ``Answer: <expression> = 24``.

One action is one line or several (a plan, read line by line: :func:`action_lines`). A line is a step, two of
the numbers left combined (``4 + 8 = 12 (left: 8 12 14)``; the ``(left: ...)`` part is optional, ``× ÷ −`` read
as ``* / -``), or the answer (a line starting ``Answer:``). Whether a step is *right* (numbers left, arithmetic,
a dead end) is the env's rule, not the grammar's.

The papers' search code reads its own candidate lines more loosely: :func:`numbers_left` is ToT's
``get_current_numbers``, :func:`has_numbers_left` its test for a step line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from fractions import Fraction

from agentgym.actions import ActionGrammar, MalformedAction, ParsedAction
from agentgym.core import quote
from agentgym.envs.game24.arithmetic import TARGET, format_number
from agentgym.envs.game24.solver import Move

ACTION_HELP = (
    "Write a step as 'a op b = c' (for example '4 + 8 = 12 (left: 8 12 14)'), "
    "or the final answer as 'Answer: <expression> = 24' using each input number exactly once."
)
#: The longest line read as a step (a real one is under 40 characters); longer ones are rejected, quoted cut.
MAX_STEP_CHARS = 200
#: How many characters of a line that is neither a step nor an answer the message quotes.
QUOTE_LINE_CHARS = 80
#: The operators a step may be written with, and the ASCII one each stands for.
OPERATORS = {"+": "+", "-": "-", "*": "*", "/": "/", "×": "*", "÷": "/", "−": "-"}

_STEP = re.compile(
    r"^\s*(?P<a>[-\d./]+)\s*(?P<op>[-+*/×÷−])\s*(?P<b>[-\d./]+)\s*=\s*(?P<c>[-\d./]+)"
    r"\s*(?:\(\s*left\s*:\s*(?P<left>[^)]*)\))?\s*$",
    re.IGNORECASE,
)
_ANSWER = re.compile(r"^\s*answer\s*:", re.IGNORECASE)
_LEFT_MARKER = "left: "


def action_lines(action: str) -> list[str]:
    """The non-empty lines of an action, stripped, in order: how the env reads a plan."""
    return [line.strip() for line in action.splitlines() if line.strip()]


def is_answer(line: str) -> bool:
    """Whether ``line`` is an answer line (it starts with ``Answer:``, any case)."""
    return _ANSWER.match(line) is not None


def format_numbers(values: Iterable[Fraction]) -> str:
    """Numbers as a step's ``(left: ...)`` part writes them: ``8 12 14``, fractions as ``8/3``."""
    return " ".join(format_number(v) for v in values)


def format_step(step: Move, left: Iterable[Fraction]) -> str:
    """A step line: ``step`` (written ``a op b = c``) and the numbers left after it."""
    return f"{step} (left: {format_numbers(left)})"


def format_answer(expression: str) -> str:
    """The answer line of ``expression`` (over the puzzle's numbers)."""
    return f"Answer: {expression} = {TARGET}"


def numbers_left(line: str) -> str:
    """ToT's ``get_current_numbers``: what follows ``left: `` on the last line, up to ``)`` (else the whole line)."""
    last_line = line.strip().split("\n")[-1]
    return last_line.split(_LEFT_MARKER)[-1].split(")")[0]


def has_numbers_left(line: str) -> bool:
    """ToT's test for a step line (its last-step prompt judges a line without ``left: `` as an answer)."""
    return _LEFT_MARKER in line


class Game24Actions(ActionGrammar):
    """The grammar (see the module docstring): :meth:`parse` reads one line into a step or an answer.

    Example:
        >>> GAME24_ACTIONS.parse("4 + 8 = 12 (left: 8 12 14)").parts
        {'a': '4', 'op': '+', 'b': '8', 'c': '12', 'left': '8 12 14'}
        >>> GAME24_ACTIONS.parse("Answer: (4 + 8) * (14 - 12) = 24").kind
        'answer'
        >>> GAME24_ACTIONS.is_valid("twelve")
        False
    """

    def describe(self) -> str:
        """How to write a step and the answer."""
        return ACTION_HELP

    def parse(self, action: str) -> ParsedAction:
        """One line: ``"answer"`` (part ``answer``: what follows ``Answer:``) or ``"step"``.

        A step's parts are ``a``, ``op`` (in ASCII), ``b``, ``c`` and, if written, ``left``.

        Raises:
            MalformedAction: an empty action, several lines, or a line that is neither (the env's message).
        """
        lines = action_lines(action)
        if not lines:
            raise MalformedAction("the action is empty. " + ACTION_HELP)
        if len(lines) > 1:
            raise MalformedAction(f"a plan of {len(lines)} lines is read one line at a time. {ACTION_HELP}")
        line = lines[0]
        if is_answer(line):
            return ParsedAction("answer", {"answer": line.split(":", 1)[1].strip()}, action)
        match = _STEP.match(line) if len(line) <= MAX_STEP_CHARS else None
        if match is None:
            raise MalformedAction(f"{quote(line, QUOTE_LINE_CHARS)} is neither a step nor an answer. {ACTION_HELP}")
        parts = {key: value for key, value in match.groupdict().items() if value is not None}
        return ParsedAction("step", {**parts, "op": OPERATORS[parts["op"]]}, action)


#: The Game of 24 grammar (``Game24Env.action_grammar``).
GAME24_ACTIONS = Game24Actions()
