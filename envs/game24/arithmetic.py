"""Exact arithmetic for Game of 24: parse numbers and expressions, judge answers and steps.

Everything is computed with :class:`fractions.Fraction`; nothing is ``eval``'d. The answer judge
reproduces the Tree-of-Thoughts check (``tot/tasks/game24.py``): take the text left of the first ``=``,
require the integer literals in it to be exactly the puzzle's numbers (as a multiset), and accept when the
expression equals 24 exactly. Differences, by design: only ``+ - * /``, parentheses and unary minus are
accepted (ToT also accepts anything sympy parses, e.g. ``**``, which the game's rules do not allow);
``×``/``÷``/``−`` are read as ``* / -``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from fractions import Fraction

from agentgym.core import quote

TARGET = 24
#: Longest answer expression the judge parses (a real answer is < 40 characters).
MAX_EXPRESSION_LENGTH = 500

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|(.))")
_OPERATORS = {"+", "-", "*", "/"}
_NORMALISE = str.maketrans({"×": "*", "x": "*", "X": "*", "÷": "/", "−": "-", "–": "-", "[": "(", "]": ")"})


class ExpressionError(ValueError):
    """The text is not a well-formed arithmetic expression (the message says why)."""


def format_number(value: Fraction) -> str:
    """Write ``value`` as an integer (``12``) or a fraction (``8/3``)."""
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def parse_number(text: str) -> Fraction:
    """Parse ``12``, ``-3``, ``0.5`` or ``8/3`` into a Fraction.

    Raises:
        ExpressionError: for anything else.
    """
    text = text.strip().translate(_NORMALISE)
    if not re.fullmatch(r"-?\d+(?:\.\d+)?(?:/\d+(?:\.\d+)?)?", text):
        raise ExpressionError(f"{text!r} is not a number")
    numerator, _, denominator = text.partition("/")
    value = Fraction(numerator)
    if denominator:
        if Fraction(denominator) == 0:
            raise ExpressionError(f"{text!r} divides by zero")
        value /= Fraction(denominator)
    return value


class _Parser:
    """Recursive-descent parser: expr := term (('+'|'-') term)*; term := factor (('*'|'/') factor)*."""

    def __init__(self, text: str) -> None:
        self.tokens: list[str] = []
        for number, other in _TOKEN.findall(text):
            if number:
                self.tokens.append(number)
            elif other.strip():
                if other not in _OPERATORS and other not in "()":
                    raise ExpressionError(f"unexpected character {other!r}")
                self.tokens.append(other)
        self.pos = 0
        self.literals: list[int] = []

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise ExpressionError("the expression ends too early")
        self.pos += 1
        return token

    def expression(self) -> Fraction:
        value = self.term()
        while self.peek() in ("+", "-"):
            value = value + self.term() if self.take() == "+" else value - self.term()
        return value

    def term(self) -> Fraction:
        value = self.factor()
        while self.peek() in ("*", "/"):
            operator = self.take()
            right = self.factor()
            if operator == "*":
                value *= right
            elif right == 0:
                raise ExpressionError("division by zero")
            else:
                value /= right
        return value

    def factor(self) -> Fraction:
        token = self.take()
        if token == "-":
            return -self.factor()
        if token == "+":
            return self.factor()
        if token == "(":
            value = self.expression()
            if self.take() != ")":
                raise ExpressionError("a parenthesis is not closed")
            return value
        if token in _OPERATORS or token == ")":
            raise ExpressionError(f"unexpected {token!r}")
        if "." in token:
            shown = token if len(token) <= 40 else f"{token[:40]}... ({len(token):,} characters)"
            raise ExpressionError(f"{shown} is not an integer: use the puzzle's numbers")
        self.literals.append(int(token))
        return Fraction(int(token))


def evaluate(expression: str) -> tuple[Fraction, list[int]]:
    """Evaluate an arithmetic expression exactly; returns ``(value, integer literals used)``.

    Raises:
        ExpressionError: malformed text, or a division by zero.
    """
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_EXPRESSION_LENGTH} characters")
    parser = _Parser(expression.translate(_NORMALISE))
    if not parser.tokens:
        raise ExpressionError("the expression is empty")
    value = parser.expression()
    if parser.peek() is not None:
        raise ExpressionError(f"unexpected {parser.peek()!r} after a complete expression")
    return value, parser.literals


def answer_expression(text: str) -> str:
    """Extract an answer's expression as ToT does: last line, ``answer:`` dropped, left of the first ``=``."""
    lines = text.strip().splitlines() or [""]
    last = lines[-1].strip()
    last = re.sub(r"(?i)^answer\s*:\s*", "", last)
    return last.split("=", 1)[0]


def judge_answer(text: str, numbers: Sequence[int]) -> tuple[bool, str]:
    """Judge an ``Answer: <expression> = 24`` text against the puzzle ``numbers``.

    Returns:
        ``(correct, reason)``: the reason explains a rejection in words an agent can act on.
    """
    expression = answer_expression(text)
    try:
        value, literals = evaluate(expression)
    except ExpressionError as e:
        return False, f"the answer {quote(expression.strip())} cannot be evaluated: {e}"
    if Counter(literals) != Counter(numbers):
        used = " ".join(map(str, sorted(literals)))
        wanted = " ".join(map(str, sorted(numbers)))
        return False, f"the answer uses the numbers {used}, but must use each of {wanted} exactly once"
    if value != TARGET:
        return False, f"the answer evaluates to {format_number(value)}, not {TARGET}"
    return True, "the answer is correct"
