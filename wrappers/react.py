"""ReAct's ``Thought: ... / Action: ...`` answer format (:class:`ReActFormat`) and the env wrapper that reads it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import gymnasium

_ACTION = re.compile(r"^\s*(?:\*\*)?action(?:\*\*)?\s*(?:\d+\s*)?:\s*(?P<action>.*)$", re.IGNORECASE)
_THOUGHT = re.compile(r"^\s*(?:\*\*)?(?:thought|think)(?:\*\*)?\s*(?:\d+\s*)?:", re.IGNORECASE)


@dataclass(frozen=True)
class ReActFormat:
    r"""ReAct's answer format, ``Thought: ...`` then ``Action: ...``: reads a completion and writes a turn.

    Agents that answer in this format compose it (the ReAct agent reads its replies and writes its past turns
    with one), and so does :class:`ParseReActAction` on the env side.

    Args:
        strict: require an ``Action:`` line (otherwise the first line that is not a thought is the action).

    Example:
        >>> ReActFormat().parse("Thought: the mug is hot.\nAction: put mug 1 in/on countertop 1")
        ('the mug is hot.', 'put mug 1 in/on countertop 1')
        >>> ReActFormat().parse("go to desk 1")
        ('', 'go to desk 1')
        >>> ReActFormat(strict=True).parse("go to desk 1")
        ('', '')
        >>> ReActFormat().write("the mug is hot.", "go to desk 1")
        'Thought: the mug is hot.\nAction: go to desk 1'
    """

    strict: bool = False

    def parse(self, text: str) -> tuple[str, str]:
        """Split a completion into ``(thought, action)``.

        The action is the rest of the last ``Action:`` line (ReAct writes one action per turn). Without an
        ``Action:`` line, a lenient parse takes the first non-empty line that is not a thought (small models often
        answer with the bare action); a strict parse returns an empty action, which every env treats as invalid.
        """
        lines = text.splitlines()
        action_lines = [m["action"].strip() for line in lines if (m := _ACTION.match(line))]
        thought_lines = [_THOUGHT.sub("", line, count=1).strip() for line in lines if _THOUGHT.match(line)]
        thought = " ".join(thought_lines)
        if action_lines:
            return thought, action_lines[-1]
        if self.strict:
            return thought, ""
        plain = next((line.strip() for line in lines if line.strip() and not _THOUGHT.match(line)), "")
        return thought, plain

    def write(self, thought: str, action: str) -> str:
        """One turn in the format (what :meth:`parse` reads back)."""
        return f"Thought: {thought}\nAction: {action}"


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
        self.format = ReActFormat(strict=strict)

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Parse ``action`` and step the env with the result."""
        thought, parsed = self.format.parse(action if isinstance(action, str) else str(action))
        observation, reward, terminated, truncated, info = self.env.step(parsed)
        return (
            observation,
            reward,
            terminated,
            truncated,
            {**info, "parsed_action": parsed, "thought": thought},
        )
