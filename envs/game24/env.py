"""``agentgym/Game24-v0``: Game of 24 as Tree-of-Thoughts and RAFA play it, step by step.

Observation: the rule, the puzzle (``Input: 4 5 6 10``) and the numbers left. An action is one or more lines,
processed in order as RAFA's env does, stopping at the first line that fails:

- a step ``a op b = c``, optionally with ``(left: x y z)``: accepted when ``a`` and ``b`` are among the
  numbers left, ``c`` is right (exact, or within 1e-10 for decimals as RAFA), the ``(left: ...)`` part (if
  given) is the true multiset left, and 24 can still be reached from what is left (an exact search: RAFA's
  "impossible to lead to 24" signal). An accepted step is committed: its result replaces its operands.
- ``Answer: <expression> = 24``: judged against the puzzle's four numbers with exact arithmetic, as ToT's
  sympy check (see :mod:`agentgym.envs.game24.arithmetic`). Correct: reward 1, the episode ends, ``won``.
  Wrong: feedback, and the episode goes on (to the step cap, 20 as RAFA).

Feedback quotes what the agent wrote cut to :data:`agentgym.core.QUOTE_CHARS` characters (a line over
:data:`~agentgym.envs.game24.actions.MAX_STEP_CHARS` is not read as a step), so a huge answer gets a short observation.

``judge="answer"`` (an env kwarg) judges answers alone, as ToT's ``test_output`` does, so that a ToT run and
the env agree on what counts as solved: step-wise, an action's ``Answer:`` line is judged even when a step
before it is rejected (the steps are still read and committed as above); one-shot, an action is ToT's output
(its last line is the answer, the lines above it are not checked), or a JSON list of outputs (ToT's final
outputs, best first). Then ``won`` is any output correct (ToT's "any of k" metric) and ``score`` is 1.0 when
the first is (its "first output" metric); ``info["outputs_correct"]`` has one flag per output.

Reward: 1 for a correct answer, else 0; ``score`` is 1.0 once won. ``info["numbers"]`` is the puzzle,
``info["remaining"]`` the numbers left (sorted), ``info["history"]`` the committed step lines (RAFA's
state), ``info["feedback"]`` one line per processed action line.

Change logs:
    v0: initial version.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from agentgym import data
from agentgym.actions import MalformedAction
from agentgym.core import TextEnv
from agentgym.envs.game24.actions import (
    ACTION_HELP,
    GAME24_ACTIONS,
    action_lines,
    format_answer,
    format_step,
    is_answer,
)
from agentgym.envs.game24.arithmetic import (
    TARGET,
    ExpressionError,
    format_number,
    judge_answer,
    parse_number,
)
from agentgym.envs.game24.puzzles import DATA_FILE, TEST_ROWS, load_puzzles
from agentgym.envs.game24.solver import Move, Operand, apply, legal_moves, next_move, solvable
from agentgym.protocol import file_sha256
from agentgym.task import Outcome, Setup, Task
from agentgym.tasks import TaskSet

RULES = (
    "Use numbers and basic arithmetic operations (+ - * /) to obtain 24. "
    "Each step, you are only allowed to choose two of the remaining numbers to obtain a new number."
)
#: Lines of one action that are processed at most (a plan is 4 lines; the rest is ignored and reported).
MAX_LINES = 8
#: Outputs one action may hold in the one-shot ``judge="answer"`` mode (ToT keeps 5).
MAX_OUTPUTS = 20
JUDGES = ("steps", "answer")


def _combine(operands: list[Operand], move: Move) -> list[Operand]:
    """Return ``operands`` after ``move``: its two operands replaced by its result (with its expression)."""
    rest = list(operands)
    left = next(o for o in rest if o.value == move.left)
    rest.remove(left)
    right = next(o for o in rest if o.value == move.right)
    rest.remove(right)
    return [*rest, Operand(move.result, f"({left.expression} {move.operator} {right.expression})")]


def _answer(operand: Operand) -> str:
    return format_answer(operand.expression.removeprefix("(").removesuffix(")"))


def _outputs(action: str) -> list[str] | str:
    """The outputs of a one-shot action: a JSON list of strings, or the action itself; or why it is invalid."""
    if not action.strip():
        return "the action is empty. " + ACTION_HELP
    if not action.lstrip().startswith("["):
        return [action]
    try:
        outputs = json.loads(action)
    except ValueError:
        return [action]  # not JSON: one output that starts with a bracket
    if not isinstance(outputs, list) or not outputs or not all(isinstance(o, str) for o in outputs):
        return "a list of outputs must be a non-empty JSON list of strings."
    if len(outputs) > MAX_OUTPUTS:
        return f"a list of outputs holds at most {MAX_OUTPUTS}, not {len(outputs)}."
    return outputs


def _numbers_text(values: list[Operand]) -> str:
    return " ".join(format_number(v.value) for v in sorted(values, key=lambda v: v.value))


class Game24Task(Task):
    """Game of 24's rules, step-wise with RAFA's feedback (see the module docstring).

    Args:
        one_shot: the ToT input-output setting (``agentgym/Game24OneShot-v0``, one step): the expert then
            writes its whole solution, steps and answer, as one multi-line action.
        judge: ``"steps"`` (RAFA's env: a multi-line action stops at its first rejected step) or ``"answer"``
            (ToT's ``test_output``: an answer is judged alone; see the module docstring).
    """

    env_name = "game24"

    def __init__(self, *, one_shot: bool = False, judge: str = "steps") -> None:
        """Check the settings; the puzzles load at first use."""
        if judge not in JUDGES:
            raise ValueError(f"judge must be one of {', '.join(JUDGES)}, not {judge!r}")
        self.one_shot = one_shot
        self.judge = judge
        self._numbers: tuple[int, ...] = ()
        self._remaining: list[Operand] = []
        self._history: list[str] = []

    def task_set(self) -> TaskSet:
        """The puzzles in difficulty order; ``test`` is rows 900-999 (ToT's test puzzles), ``train`` the others."""
        ids = load_puzzles().task_ids
        test = ids[TEST_ROWS.start : TEST_ROWS.stop]
        train = ids[: TEST_ROWS.start] + ids[TEST_ROWS.stop :]
        return TaskSet(ids=ids, splits={"test": test, "train": train}, default_split="test")

    @property
    def puzzle_source(self) -> str:
        """``"tot-24.csv"`` (the papers' puzzles) or ``"built-in"`` (no data file found)."""
        return load_puzzles().source

    def setup(self, task_id: str, options: Mapping[str, Any]) -> Setup:
        """Start from the puzzle's four numbers."""
        self._numbers = tuple(int(n) for n in task_id.split())
        self._remaining = [Operand(Fraction(n), str(n)) for n in self._numbers]
        self._history = []
        task = f"{RULES}\nInput: {task_id}"
        return Setup(f"{task}\nNumbers left: {task_id}", task)

    def act(self, action: str) -> Outcome:
        """Process the action's lines in order (see the module docstring)."""
        if self.judge == "answer" and self.one_shot:
            return self._judge_outputs(action)
        lines = action_lines(action)
        if not lines:
            return self._outcome(["Invalid action: the action is empty. " + ACTION_HELP], invalid=True)
        feedback: list[str] = []
        for number, line in enumerate(lines[:MAX_LINES], start=1):
            label = f"Step {number}" if len(lines) > 1 else "The step"
            if is_answer(line):
                return self._judge(line, feedback)
            message = self._try_step(line)
            if message is not None:
                feedback.append(f"{label} is rejected: {message}")
                answer = next((rest for rest in lines[number:MAX_LINES] if is_answer(rest)), None)
                if self.judge == "answer" and answer is not None:
                    return self._judge(answer, feedback)
                return self._outcome(feedback, invalid=len(feedback) == 1)
            feedback.append(f"{label} is correct: {line}")
        if len(lines) > MAX_LINES:
            feedback.append(f"Only the first {MAX_LINES} lines of an action are read.")
        return self._outcome(feedback)

    def _judge(self, answer: str, feedback: list[str]) -> Outcome:
        correct, reason = judge_answer(answer, self._numbers)
        if correct:
            return self._outcome([*feedback, "Correct: " + reason + "."], won=True)
        return self._outcome([*feedback, f"Wrong answer: {reason}."])

    def _judge_outputs(self, action: str) -> Outcome:
        """One-shot ``judge="answer"``: each output's last line judged alone, as ToT's ``test_output``."""
        outputs = _outputs(action)
        if isinstance(outputs, str):
            return self._outcome([f"Invalid action: {outputs}"], invalid=True)
        verdicts = [judge_answer(output, self._numbers) for output in outputs]
        label = "Output {}: " if len(outputs) > 1 else ""
        feedback = [
            label.format(i) + ("Correct: " if correct else "Wrong answer: ") + reason + "."
            for i, (correct, reason) in enumerate(verdicts, start=1)
        ]
        flags = [correct for correct, _ in verdicts]
        return self._outcome(feedback, won=any(flags), score=float(flags[0]), outputs_correct=flags)

    def _try_step(self, line: str) -> str | None:
        """Commit the step written on ``line``, or return why it is rejected."""
        try:
            step = GAME24_ACTIONS.parse(line).parts
        except MalformedAction as e:
            return str(e)
        try:
            a, b, c = (parse_number(step[k]) for k in "abc")
        except ExpressionError as e:
            return f"{e}."
        operator = step["op"]
        pool = [o.value for o in self._remaining]
        if Counter([a, b]) - Counter(pool):
            return f"it uses numbers that are not left ({_numbers_text(self._remaining)})."
        true = apply(operator, a, b)
        if true is None:
            return "division by zero."
        if abs(float(c - true)) > 1e-10:
            shown = " ".join((format_number(a), operator, format_number(b), "=", format_number(true)))
            return f"it is not correctly calculated: {shown}."
        after = _combine(self._remaining, Move(a, operator, b, true))
        if "left" in step:
            try:
                claimed = Counter(parse_number(t) for t in step["left"].split())
            except ExpressionError as e:
                return f"the (left: ...) part is not a list of numbers: {e}."
            if claimed != Counter(o.value for o in after):
                return f"the numbers left would be {_numbers_text(after)}, not {step['left'].strip()}."
        if not solvable(tuple(sorted(o.value for o in after))):
            return f"it is impossible to reach 24 from {_numbers_text(after)}."
        self._remaining = after
        self._history.append(line)
        return None

    def _outcome(
        self,
        feedback: list[str],
        *,
        won: bool = False,
        invalid: bool = False,
        score: float | None = None,
        outputs_correct: list[bool] | None = None,
    ) -> Outcome:
        observation = "\n".join(feedback) + f"\nNumbers left: {_numbers_text(self._remaining)}"
        extra: dict[str, Any] = {"feedback": feedback}
        if outputs_correct is not None:
            extra["outputs_correct"] = outputs_correct
        return Outcome(
            observation,
            reward=float(won),
            done=won,
            won=won,
            score=float(won) if score is None else score,
            invalid=invalid,
            extra=extra,
        )

    def _expert_plan(self) -> str | None:
        """The solver's remaining steps and the answer, one per line, from the numbers left."""
        operands, lines = self._remaining, []
        while len(operands) > 1:
            step = next_move(tuple(sorted(o.value for o in operands)))
            if step is None:
                return None
            operands = _combine(operands, step[0])
            lines.append(format_step(*step))
        return "\n".join([*lines, _answer(operands[0])])

    def admissible_actions(self) -> list[str]:
        """The steps the env would accept now (legal, right, and not a dead end), or the answer at the end."""
        if len(self._remaining) == 1:
            return [_answer(self._remaining[0])] if self._remaining[0].value == TARGET else []
        return [format_step(move, rest) for move, rest in legal_moves(self._values()) if solvable(rest)]

    def _values(self) -> tuple[Fraction, ...]:
        return tuple(sorted(o.value for o in self._remaining))

    def protocol(self) -> dict[str, Any]:
        """The puzzle list (the official file with its sha256, or the built-in one) and how answers are judged."""
        path = data.find(DATA_FILE)
        files = {DATA_FILE: file_sha256(path)} if path is not None and self.puzzle_source != "built-in" else {}
        return {"puzzle_source": self.puzzle_source, "data_files": files, "judge": self.judge}

    def info(self) -> dict[str, Any]:
        """The puzzle, the numbers left, the committed steps and the puzzle list's source."""
        return {
            "numbers": list(self._numbers),
            "remaining": [format_number(v) for v in self._values()],
            "history": list(self._history),
            "puzzle_source": self.puzzle_source,
        }

    def expert(self) -> str | None:
        """Return the solver's next step from the numbers left, then the answer (all at once if one-shot)."""
        if self.one_shot:
            return self._expert_plan()
        if len(self._remaining) == 1:
            return self.admissible_actions()[0] if self._remaining[0].value == TARGET else None
        step = next_move(self._values())
        return None if step is None else format_step(*step)


class Game24Env(TextEnv):
    """``agentgym/Game24-v0`` and ``agentgym/Game24OneShot-v0``: :class:`Game24Task` in the generic env.

    Example:
        >>> import gymnasium, agentgym
        >>> env = gymnasium.make("agentgym/Game24-v0")
        >>> obs, info = env.reset(options={"task_id": "4 5 6 10"})
        >>> info["numbers"]
        [4, 5, 6, 10]
        >>> obs, reward, terminated, truncated, info = env.step("Answer: (10 - 6) * 5 + 4 = 24")
        >>> reward, terminated, info["won"]
        (1.0, True, True)
    """

    task: Game24Task
    action_grammar = GAME24_ACTIONS

    def __init__(
        self,
        *,
        one_shot: bool = False,
        judge: str = "steps",
        split: str | None = None,
        admissible_actions: bool = False,
        render_mode: str | None = None,
    ) -> None:
        """Create the env; ``one_shot`` and ``judge`` are :class:`Game24Task`'s, the rest :class:`TextEnv`'s."""
        task = Game24Task(one_shot=one_shot, judge=judge)
        super().__init__(task, split=split, admissible_actions=admissible_actions, render_mode=render_mode)

    @property
    def puzzle_source(self) -> str:
        """``"tot-24.csv"`` (the papers' puzzles) or ``"built-in"`` (no data file found)."""
        return self.task.puzzle_source
