import itertools
import re
from fractions import Fraction

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from agentgym.envs.game24.arithmetic import ExpressionError, evaluate, judge_answer, parse_number


def tot_reference(text: str, puzzle: str) -> bool:
    """The Tree-of-Thoughts check, rewritten here from its description: integer literals, then sympy."""
    expression = text.strip().split("\n")[-1].lower().replace("answer: ", "").split("=")[0]
    if sorted(re.findall(r"\d+", expression)) != sorted(re.findall(r"\d+", puzzle)):
        return False
    try:
        return bool(sympy.simplify(expression) == 24)
    except Exception:  # noqa: BLE001  (any sympy failure scores 0, as in ToT)
        return False


@pytest.mark.parametrize(
    ("answer", "numbers", "correct"),
    [
        ("Answer: (10 - 6) * 5 + 4 = 24", [4, 5, 6, 10], True),
        ("4 * 5 + 10 - 6 = 24", [4, 5, 6, 10], True),
        ("answer: 8 / (3 - 8 / 3) = 24", [3, 3, 8, 8], True),
        ("Answer: 6/(1-3/4) = 24", [1, 3, 4, 6], True),
        ("Answer: (10-4)*(6-5)*4 = 24", [4, 5, 6, 10], False),
        ("Answer: (5+10-6)*4 = 24", [4, 5, 6, 10], False),
        ("Answer: 4*(5+10/6) = 24", [4, 5, 6, 10], False),
        ("Answer: 4 * 6 = 24", [4, 5, 6, 10], False),
        ("Answer: 4 / (5 - 5) + 6 + 10 = 24", [4, 5, 5, 10], False),
        ("Answer: (4 + 4) * 3 = 24", [3, 4, 6, 10], False),
        ("Answer: ((4 + 5) * 6 - 10 = 24", [4, 5, 6, 10], False),
        ("Answer: 4 ** 5 - 6 - 10 = 24", [4, 5, 6, 10], False),
        ("", [4, 5, 6, 10], False),
    ],
)
def test_judge_known_answers(answer, numbers, correct):
    assert judge_answer(answer, numbers)[0] is correct


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("Answer: 4 / (5 - 5) + 6 + 10", "division by zero"),
        ("Answer: 4 * 6", "must use each of 4 5 6 10 exactly once"),
        ("Answer: 4 + 5 + 6 + 10", "evaluates to 25, not 24"),
        ("Answer: import os", "unexpected character 'i'"),
        ("Answer: (4 + 5", "ends too early"),
    ],
)
def test_judge_explains_rejections(answer, reason):
    correct, message = judge_answer(answer, [4, 5, 6, 10])
    assert not correct and reason in message


def test_evaluate_is_exact():
    assert evaluate("8/(3-8/3)") == (Fraction(24), [8, 3, 8, 3])
    assert evaluate("1/3 + 1/3 + 1/3")[0] == 1
    with pytest.raises(ExpressionError, match="longer than"):
        evaluate("1+" * 400 + "1")


@pytest.mark.parametrize(("text", "value"), [("12", 12), ("-3", -3), ("0.5", Fraction(1, 2)), ("8/3", Fraction(8, 3))])
def test_parse_number(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["", "abc", "1/0", "1e5", "--1"])
def test_parse_number_rejects(text):
    with pytest.raises(ExpressionError):
        parse_number(text)


def expressions(numbers):
    """Random fully parenthesised expressions over a permutation of ``numbers``."""

    @st.composite
    def build(draw):
        order = draw(st.permutations(numbers))
        items = [str(n) for n in order]
        while len(items) > 1:
            i = draw(st.integers(0, len(items) - 2))
            op = draw(st.sampled_from("+-*/"))
            items[i : i + 2] = [f"({items[i]} {op} {items[i + 1]})"]
        return items[0]

    return build()


PUZZLES = [[4, 5, 6, 10], [3, 3, 8, 8], [1, 3, 4, 6], [2, 2, 12, 12], [1, 1, 11, 11]]


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(PUZZLES).flatmap(lambda p: st.tuples(st.just(p), expressions(p))))
def test_judge_agrees_with_the_sympy_check(case):
    numbers, expression = case
    answer = f"Answer: {expression} = 24"
    assert judge_answer(answer, numbers)[0] == tot_reference(answer, " ".join(map(str, numbers)))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_judge_never_raises_on_arbitrary_text(text):
    correct, reason = judge_answer(text, [4, 5, 6, 10])
    assert isinstance(correct, bool) and reason


SHAPES = (
    "(({} {} {}) {} {}) {} {}",
    "({} {} ({} {} {})) {} {}",
    "{} {} (({} {} {}) {} {})",
    "{} {} ({} {} ({} {} {}))",
    "({} {} {}) {} ({} {} {})",
)


def test_exhaustive_search_finds_only_true_solutions():
    numbers = [3, 3, 8, 8]  # its only solution is 8 / (3 - 8 / 3): a fraction on the way
    accepted = set()
    for a, b, c, d in itertools.permutations(numbers):
        for o1, o2, o3 in itertools.product("+-*/", repeat=3):
            for shape in SHAPES:
                expression = shape.format(a, o1, b, o2, c, o3, d)
                if judge_answer(expression, numbers)[0]:
                    accepted.add(expression)
                    assert tot_reference(expression, "3 3 8 8")
    assert accepted == {"8 / (3 - (8 / 3))"}
