"""``ParseReActAction``: ReAct-style ``Thought: ... / Action: ...`` text in, the action string out."""

from __future__ import annotations

import re
from typing import Any

import gymnasium

_ACTION = re.compile(r"^\s*(?:\*\*)?action(?:\*\*)?\s*(?:\d+\s*)?:\s*(?P<action>.*)$", re.IGNORECASE)
_THOUGHT = re.compile(r"^\s*(?:\*\*)?(?:thought|think)(?:\*\*)?\s*(?:\d+\s*)?:", re.IGNORECASE)


def parse_react(text: str, *, strict: bool = False) -> tuple[str, str]:
    r"""Split a ReAct completion into ``(thought, action)``.

    The action is the rest of the last ``Action:`` line (ReAct writes one action per turn). Without an
    ``Action:`` line, a lenient parse takes the first non-empty line that is not a thought (small models often
    answer with the bare action); a strict parse returns an empty action, which every env treats as invalid.

    Example:
        >>> parse_react("Thought: the mug is hot.\nAction: put mug 1 in/on countertop 1")
        ('the mug is hot.', 'put mug 1 in/on countertop 1')
        >>> parse_react("go to desk 1")
        ('', 'go to desk 1')
        >>> parse_react("go to desk 1", strict=True)
        ('', '')
    """
    lines = text.splitlines()
    action_lines = [m["action"].strip() for line in lines if (m := _ACTION.match(line))]
    thought_lines = [_THOUGHT.sub("", line, count=1).strip() for line in lines if _THOUGHT.match(line)]
    thought = " ".join(thought_lines)
    if action_lines:
        return thought, action_lines[-1]
    if strict:
        return thought, ""
    plain = next((line.strip() for line in lines if line.strip() and not _THOUGHT.match(line)), "")
    return thought, plain


class ParseReActAction(gymnasium.Wrapper[str, str, str, str]):
    r"""Takes a ReAct completion as the action and steps the env with the parsed action.

    ``info["parsed_action"]`` and ``info["thought"]`` report what was parsed.

    Args:
        env: any agentgym env.
        strict: require an ``Action:`` line (otherwise the first non-thought line is the action).

    Example:
        >>> import gymnasium, agentgym
        >>> env = ParseReActAction(gymnasium.make("agentgym/Game24-v0"))
        >>> _ = env.reset(options={"task_id": "4 5 6 10"})
        >>> *_, info = env.step("Thought: (10 - 6) * 5 + 4 works.\nAction: Answer: (10 - 6) * 5 + 4 = 24")
        >>> info["parsed_action"], info["won"]
        ('Answer: (10 - 6) * 5 + 4 = 24', True)

    Change logs:
        v0.1.0: initial version.
    """

    def __init__(self, env: gymnasium.Env[str, str], *, strict: bool = False) -> None:
        """Wrap ``env``."""
        super().__init__(env)
        self.strict = strict

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Parse ``action`` and step the env with the result."""
        thought, parsed = parse_react(action if isinstance(action, str) else str(action), strict=self.strict)
        observation, reward, terminated, truncated, info = self.env.step(parsed)
        return (
            observation,
            reward,
            terminated,
            truncated,
            {**info, "parsed_action": parsed, "thought": thought},
        )
