"""The prompt templates of the Tree-of-Thoughts and RAFA searches on Game of 24: the papers' or the project's.

A :class:`Game24Prompts` holds ``str.format`` templates under the names and fields of the papers' prompt files
(``tot/game24.py``, ``rafa/game24.py`` of the ``prompts`` dataset): ``propose_prompt`` (``{input}``: the numbers
left), ``value_prompt`` (``{input}``), ``value_last_step_prompt`` (``{input}``, ``{answer}``), ``cot_prompt``
(``{input}``: the puzzle), and RAFA's learner prompts ``reflect_prompt`` and ``value_reflect_prompt``
(``{input}``, ``{answer}``, ``{feedback}``). The searches wrap them exactly as the papers' code does.

:func:`paper_prompts` reads a paper's file (never copied into this source); :func:`project_prompts` builds the
project's own text, with examples from the exact solver. The project's text is the default outside the presets.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache

from agentgym.baselines import paper_prompts
from agentgym.envs.game24.actions import format_answer, format_numbers, format_step
from agentgym.envs.game24.solver import legal_moves, next_move, solvable

#: The ``prompts=`` value of the project's text (the paper's is the agent's name: ``tot``, ``rafa``).
PROJECT = "agentgym"
TEMPLATES = (
    "propose_prompt",
    "value_prompt",
    "value_last_step_prompt",
    "cot_prompt",
    "reflect_prompt",
    "value_reflect_prompt",
)
#: RAFA's code sends a one-line game introduction and a header before the lessons; these sentences live in its
#: agent code, not in its prompt file, so both prompt sets use the project's wording for them.
INTRODUCTION = "Let's play the Game of 24: use the four given numbers once each with + - * / to make 24."
LESSONS_HEADER = "What you have learned about this puzzle:\n"

_EXAMPLE_PUZZLE = (2, 8, 8, 14)  # a training puzzle (not in rows 900-999)


@dataclass(frozen=True)
class Game24Prompts:
    """One prompt set: the templates (by the papers' constant names) and the files they were read from."""

    name: str
    templates: dict[str, str]
    files: tuple[dict[str, str], ...] = field(default=())

    def __getitem__(self, template: str) -> str:
        """The template ``template`` (one of :data:`TEMPLATES`)."""
        return self.templates[template]

    def sha256(self) -> str:
        """A short hash of every template (and the fixed sentences): equal hashes, equal prompts."""
        parts = [f"{k}={v}" for k, v in sorted(self.templates.items())] + [INTRODUCTION, LESSONS_HEADER]
        return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]

    def card(self, setting: str) -> dict[str, object]:
        """The agent card's entries, as every paper preset writes them.

        They are the ``prompts`` setting, the files read (pinned URL and sha256) and a hash of the text.
        """
        return {"prompts": setting, "prompt_files": list(self.files), "prompt_sha256": self.sha256()}


def load(prompts: str, paper: str, paper_file: str, names: tuple[str, ...]) -> Game24Prompts:
    """The prompt set ``prompts``: ``paper`` (the paper's ``paper_file`` of the prompts dataset) or ours.

    Raises:
        ValueError: an unknown set.
        DataNotFound: the paper's file is not installed (the message says `agentgym data download prompts`).
    """
    if prompts == PROJECT:
        return project_prompts()
    if prompts == paper:
        return paper_prompts_for(paper_file, names)
    raise ValueError(f"prompts must be {paper} or {PROJECT}, not {prompts!r}")


@cache
def paper_prompts_for(paper_file: str, names: tuple[str, ...]) -> Game24Prompts:
    """The templates ``names`` of a paper's prompt file, read from the ``prompts`` dataset."""
    strings = paper_prompts.python_strings(paper_file)
    missing = [name for name in names if name not in strings]
    if missing:
        raise ValueError(f"{paper_file} has no {', '.join(missing)}")
    templates = {name: strings[name] for name in names}
    return Game24Prompts(paper_file, templates, (paper_prompts.source(paper_file).as_card(),))


def _solution(numbers: tuple[int, ...]) -> tuple[list[str], str]:
    """The solver's step lines and the answer expression for a solvable puzzle."""
    operands = [(Fraction(n), str(n)) for n in numbers]
    lines = []
    while len(operands) > 1:
        found = next_move(tuple(sorted(v for v, _ in operands)))
        assert found is not None, "the example puzzle is solvable"
        move, rest = found
        left = next(o for o in operands if o[0] == move.left)
        operands.remove(left)
        right = next(o for o in operands if o[0] == move.right)
        operands.remove(right)
        operands.append((move.result, f"({left[1]} {move.operator} {right[1]})"))
        lines.append(format_step(move, rest))
    return lines, operands[0][1].removeprefix("(").removesuffix(")")


def _propose_example() -> tuple[str, str]:
    values = tuple(Fraction(n) for n in _EXAMPLE_PUZZLE)
    moves = sorted(legal_moves(values), key=lambda m: (m[0].result.denominator != 1, m[0].result < 0))
    lines = list(dict.fromkeys(format_step(move, rest) for move, rest in moves))
    return format_numbers(values), "\n".join(lines[:8])


def _value_examples() -> str:
    examples = []
    for numbers in ((10, 14), (4, 4, 10), (1, 3, 3), (11, 12), (5, 7, 8)):
        values = tuple(sorted(Fraction(n) for n in numbers))
        if solvable(values):
            move = next_move(values)
            assert move is not None
            examples.append(f"{format_numbers(values)}\n{move[0]}, and 24 can be reached from there\nsure")
        else:
            examples.append(f"{format_numbers(values)}\nno way to combine these numbers gives 24\nimpossible")
    return "\n".join(examples)


@cache
def project_prompts() -> Game24Prompts:
    """The project's own prompts for the same searches (examples from the exact solver)."""
    example_input, example_steps = _propose_example()
    steps, expression = _solution(_EXAMPLE_PUZZLE)
    wrong = f"{_EXAMPLE_PUZZLE[0]} + {_EXAMPLE_PUZZLE[1]} + {_EXAMPLE_PUZZLE[2]} + {_EXAMPLE_PUZZLE[3]}"
    puzzle = " ".join(map(str, _EXAMPLE_PUZZLE))
    game = "You play the Game of 24: combine the input numbers with + - * / to make 24, using each exactly once."
    templates = {
        "propose_prompt": (
            f"{game} List possible next steps, one per line. A step combines two of the numbers left and shows "
            f"the numbers left after it.\nInput: {example_input}\nPossible next steps:\n{example_steps}\n"
            "Input: {input}\nPossible next steps:\n"
        ),
        "value_prompt": (
            f"{game} Judge whether the given numbers can still make 24. Reason briefly, then end with one word "
            f"on its own line: sure, likely or impossible.\n{_value_examples()}\n{{input}}\n"
        ),
        "value_last_step_prompt": (
            f"{game} Given the input and an answer, judge whether the answer uses each input number exactly "
            "once and equals 24. Reason briefly, then end with one word on its own line: sure or impossible.\n"
            f"Input: {puzzle}\n{format_answer(expression)}\nJudge:\nit uses {puzzle} once each and equals 24\nsure\n"
            f"Input: {puzzle}\n{format_answer(wrong)}\nJudge:\nit equals {sum(_EXAMPLE_PUZZLE)}"
            ", not 24\nimpossible\nInput: {input}\nAnswer: {answer}\nJudge:"
        ),
        "cot_prompt": (
            f"{game} Write the steps, each combining two of the numbers left, then the answer as one expression "
            f"over the input numbers.\nInput: {puzzle}\nSteps:\n" + "\n".join(steps) + f"\n{format_answer(expression)}"
            "\nInput: {input}\n"
        ),
        "reflect_prompt": (
            f"{game} A plan was tried and the game evaluated it. For each step of the attempt, write one line: "
            "the step as written, then ': sure' if it can lead to 24 or ': impossible' if it cannot, so that "
            "later plans avoid the wrong steps.\nInput: {input}\n{answer}\n{feedback}\n"
        ),
        "value_reflect_prompt": (
            f"{game} A plan was tried and the game evaluated it. For each set of numbers left after a step of "
            "the attempt, write one line '<numbers left>: sure' if 24 can still be made from them, or "
            "'<numbers left>: impossible' if not.\nInput: {input}\n{answer}\n{feedback}\n"
        ),
    }
    return Game24Prompts("agentgym", templates)
