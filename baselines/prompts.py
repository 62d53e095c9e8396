"""Prompt text of the baselines, per benchmark: task instructions, demonstration thoughts, task groups.

Written for this project (the original repositories' prompts are not reused); demonstrations come from the
envs' own experts (:mod:`agentgym.baselines.demos`). Each benchmark has one :class:`BenchmarkPrompts` entry in
:data:`BENCHMARKS`, looked up by ``env_name``; an env without an entry gets :data:`GENERIC`, so a new benchmark
works with every agent unchanged, and giving it prompts adds an entry (another package adds one by setting
``BENCHMARKS[name]``). Actions are read through the env's own grammar (``agentgym.envs.<name>.actions``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agentgym.actions import MalformedAction
from agentgym.envs.game24.actions import GAME24_ACTIONS
from agentgym.envs.webshop.actions import WEBSHOP_ACTIONS

REACT_FORMAT = (
    "Reply in exactly this format, with one action per reply:\n"
    "Thought: <your reasoning about what to do next>\n"
    "Action: <the action>"
)

GENERIC_INSTRUCTION = "Complete the task described in the observations by taking one action at a time."
GAME24_INSTRUCTION = (
    "You play the Game of 24. Combine the four input numbers with + - * / to make 24, using each number "
    "exactly once. Each action is either one step that combines two of the numbers left, written like "
    "'4 + 8 = 12 (left: 8 12 14)', or the final answer written like 'Answer: (4 + 8) * (14 - 12) = 24' "
    "using the original numbers. After a step the game tells you whether it was correct and which numbers "
    "are left."
)
ALFWORLD_INSTRUCTION = (
    "You are in a household and must complete the task you are given. Available actions: go to <place>, "
    "open <receptacle>, close <receptacle>, take <object> from <receptacle>, move <object> to <receptacle>, "
    "use <lamp>, heat <object> with <microwave>, cool <object> with <fridge>, clean <object> with <sink>, "
    "examine <thing>, inventory, look. Use the exact names of objects and places from the observations "
    "(for example 'mug 1'). 'Nothing happens.' means the action was not possible."
)
WEBSHOP_INSTRUCTION = (
    "You are shopping on a web store to buy the product that best matches an instruction. Available "
    "actions: search[<keywords>] when there is a search box, and click[<button>] where <button> is one of "
    "the clickable texts on the page (a product id, an option value, 'Buy Now', '< Prev', 'Next >', "
    "'Back to Search'). Select the options the instruction asks for before clicking 'Buy Now'."
)
SCIWORLD_INSTRUCTION = (
    "You are an agent in a simulated science world and must complete the task you are given. Useful "
    "actions include: look around, go to <place>, teleport to <place>, open/close <thing>, pick up "
    "<thing>, put down <thing>, move <thing> to <container>, pour <thing> into <container>, "
    "activate/deactivate <device>, use <thing> on <thing>, examine <thing>, read <thing>, focus on <thing>, "
    "mix <container>, wait, wait1, inventory. Focus only on the object the task asks you to focus on."
)


def generic_thought(observation: str, action: str) -> str:
    """A rationale that fits any expert action."""
    return f"My next step toward the task is: {action}."


def any_group(task_id: str) -> str | None:
    """Every task in one group: demonstrations of any task suit every task."""
    return None


@dataclass(frozen=True)
class BenchmarkPrompts:
    """What the baselines' prompts say about one benchmark.

    Attributes:
        instruction: the task instruction and the form of its actions (before the ReAct answer format).
        demo_thought: a short rationale for an expert action ``(observation, action)``, for demonstrations
            (experts act without thoughts).
        task_group: the group whose demonstrations suit a task (ALFWorld: its task type), ``None`` for any.
    """

    instruction: str
    demo_thought: Callable[[str, str], str] = generic_thought
    task_group: Callable[[str], str | None] = any_group


def _game24_thought(observation: str, action: str) -> str:
    try:
        parsed = GAME24_ACTIONS.parse(action)
    except MalformedAction:
        parsed = None
    if parsed is not None and parsed.kind == "answer":
        return "The steps reach 24, so I write the whole expression with the original numbers."
    step = parsed.parts if parsed is not None else {}
    if step.get("left"):
        return f"{step['a']} {step['op']} {step['b']} gives {step['c']}, and 24 can still be made from {step['left']}."
    return "I solve the whole puzzle, step by step, then give the answer."


def _webshop_thought(observation: str, action: str) -> str:
    try:
        parsed = WEBSHOP_ACTIONS.parse(action)
    except MalformedAction:
        return generic_thought(observation, action)
    if parsed.kind == "search":
        return "I search for the product described in the instruction."
    target = parsed.parts["target"]
    if target == "Buy Now":
        return "This product and the selected options match the instruction, so I buy it."
    if "Buy Now" in observation:
        return f"The instruction asks for this option, so I select {target}."
    return f"{target} looks like the product the instruction asks for; I open it."


def _alfworld_group(task_id: str) -> str | None:
    from agentgym.envs.alfworld.games import TASK_TYPES  # the env's own list (no extra needed)

    return next((t for t in TASK_TYPES if t in task_id), None)


#: The entries, by ``env_name``.
BENCHMARKS: dict[str, BenchmarkPrompts] = {
    "game24": BenchmarkPrompts(GAME24_INSTRUCTION, demo_thought=_game24_thought),
    "alfworld": BenchmarkPrompts(ALFWORLD_INSTRUCTION, task_group=_alfworld_group),
    "webshop": BenchmarkPrompts(WEBSHOP_INSTRUCTION, demo_thought=_webshop_thought),
    "sciworld": BenchmarkPrompts(SCIWORLD_INSTRUCTION),
}
#: The entry of a benchmark without one.
GENERIC = BenchmarkPrompts(GENERIC_INSTRUCTION)


def prompts_for(env_name: str) -> BenchmarkPrompts:
    """The entry of ``env_name`` (:data:`GENERIC` for a benchmark without one)."""
    return BENCHMARKS.get(env_name, GENERIC)


def instruction(env_name: str) -> str:
    """The task instruction and answer format for ``env_name``."""
    return f"{prompts_for(env_name).instruction}\n\n{REACT_FORMAT}"


def task_group(env_name: str, task_id: str) -> str | None:
    """The group whose demonstrations suit ``task_id`` (ALFWorld: its task type), or ``None`` for any."""
    return prompts_for(env_name).task_group(task_id)


def demo_thought(env_name: str, observation: str, action: str) -> str:
    """A short rationale for an expert action, for demonstrations (experts act without thoughts)."""
    return prompts_for(env_name).demo_thought(observation, action)
