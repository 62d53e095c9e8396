"""Prompt text of the baselines, per benchmark: task instructions, demonstration thoughts, task groups.

Written for this project (the original repositories' prompts are not reused); demonstrations come from the
envs' own experts (:mod:`agentgym.baselines.demos`). Everything here is chosen by ``env_name``; an env
without an entry gets the generic text, so a new benchmark works with every agent unchanged.
"""

from __future__ import annotations

import re

REACT_FORMAT = (
    "Reply in exactly this format, with one action per reply:\n"
    "Thought: <your reasoning about what to do next>\n"
    "Action: <the action>"
)

INSTRUCTIONS: dict[str, str] = {
    "game24": (
        "You play the Game of 24. Combine the four input numbers with + - * / to make 24, using each number "
        "exactly once. Each action is either one step that combines two of the numbers left, written like "
        "'4 + 8 = 12 (left: 8 12 14)', or the final answer written like 'Answer: (4 + 8) * (14 - 12) = 24' "
        "using the original numbers. After a step the game tells you whether it was correct and which numbers "
        "are left."
    ),
    "alfworld": (
        "You are in a household and must complete the task you are given. Available actions: go to <place>, "
        "open <receptacle>, close <receptacle>, take <object> from <receptacle>, move <object> to <receptacle>, "
        "use <lamp>, heat <object> with <microwave>, cool <object> with <fridge>, clean <object> with <sink>, "
        "examine <thing>, inventory, look. Use the exact names of objects and places from the observations "
        "(for example 'mug 1'). 'Nothing happens.' means the action was not possible."
    ),
    "webshop": (
        "You are shopping on a web store to buy the product that best matches an instruction. Available "
        "actions: search[<keywords>] when there is a search box, and click[<button>] where <button> is one of "
        "the clickable texts on the page (a product id, an option value, 'Buy Now', '< Prev', 'Next >', "
        "'Back to Search'). Select the options the instruction asks for before clicking 'Buy Now'."
    ),
    "sciworld": (
        "You are an agent in a simulated science world and must complete the task you are given. Useful "
        "actions include: look around, go to <place>, teleport to <place>, open/close <thing>, pick up "
        "<thing>, put down <thing>, move <thing> to <container>, pour <thing> into <container>, "
        "activate/deactivate <device>, use <thing> on <thing>, examine <thing>, read <thing>, focus on <thing>, "
        "mix <container>, wait, wait1, inventory. Focus only on the object the task asks you to focus on."
    ),
}

GENERIC_INSTRUCTION = "Complete the task described in the observations by taking one action at a time."

_GAME24_STEP = re.compile(r"^(?P<a>\S+) (?P<op>\S) (?P<b>\S+) = (?P<c>\S+)(?: \(left: (?P<left>[^)]*)\))?$")


def instruction(env_name: str) -> str:
    """The task instruction and answer format for ``env_name``."""
    return f"{INSTRUCTIONS.get(env_name, GENERIC_INSTRUCTION)}\n\n{REACT_FORMAT}"


def task_group(env_name: str, task_id: str) -> str | None:
    """The group whose demonstrations suit ``task_id`` (ALFWorld: its task type), or ``None`` for any."""
    if env_name == "alfworld":
        from agentgym.envs.alfworld.games import TASK_TYPES  # the env's own list (no extra needed)

        return next((t for t in TASK_TYPES if t in task_id), None)
    return None


def demo_thought(env_name: str, observation: str, action: str) -> str:
    """A short rationale for an expert action, for demonstrations (experts act without thoughts)."""
    if env_name == "game24":
        if action.lower().startswith("answer"):
            return "The steps reach 24, so I write the whole expression with the original numbers."
        step = _GAME24_STEP.match(action)
        if step and step["left"]:
            return (
                f"{step['a']} {step['op']} {step['b']} gives {step['c']}, and 24 can still be made from {step['left']}."
            )
        return "I solve the whole puzzle, step by step, then give the answer."
    if env_name == "webshop":
        if action.startswith("search["):
            return "I search for the product described in the instruction."
        if action == "click[Buy Now]":
            return "This product and the selected options match the instruction, so I buy it."
        if "[SEP] Buy Now" in observation or "Buy Now" in observation:
            return f"The instruction asks for this option, so I select {action[6:-1]}."
        return f"{action[6:-1]} looks like the product the instruction asks for; I open it."
    return f"My next step toward the task is: {action}."
