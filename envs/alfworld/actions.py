"""ALFWorld's action grammar: the command templates of its games, and the rewrites papers apply to commands.

The commands are the templates of the games' grammar (ALFWorld's 2.1.2 games): ``go to <receptacle>``,
``open``/``close <receptacle>``, ``take <object> from <receptacle>``, ``move <object> to <receptacle>``,
``put <object> in <receptacle>``, ``put <object> into <container>``, ``use <object>``,
``heat``/``cool``/``clean <object> with <receptacle>``, ``slice <object> with <object>``, ``examine <thing>``,
``inventory``, ``look`` and ``help``, in lower case as the games read them (surrounding blanks are ignored, as
TextWorld strips them). Whether a command applies (the objects exist and are reachable) is the game's
rule: it answers ``Nothing happens.`` otherwise.

:data:`REWRITES` are the papers' fixes of a model's command, by name (a run's card records which were on): the
prompts of ReAct, Reflexion and CoPS teach ``put X in/on Y``, the command of the 2.1.1 games, which is not a command
of the games played here until ``alfworld-put-as-move`` writes it ``move X to Y``.
"""

from __future__ import annotations

import re
from types import MappingProxyType

from agentgym.actions import ActionGrammar, MalformedAction, ParsedAction, Rewrite
from agentgym.core import quote

ACTION_HELP = (
    "Write one command: go to <receptacle>, open <receptacle>, close <receptacle>, take <object> from "
    "<receptacle>, move <object> to <receptacle>, use <object>, heat/cool/clean <object> with <receptacle>, "
    "slice <object> with <object>, examine <thing>, inventory, look or help."
)

#: The longest command read (real ones are under 100 characters): longer ones are malformed without a regex.
MAX_COMMAND_CHARS = 1000

#: Each command's kind and pattern (names such as ``mug 1`` may hold spaces; the first matching pattern wins).
COMMANDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        ("look", r"look"),
        ("inventory", r"inventory"),
        ("help", r"help"),
        ("go to", r"go to (?P<receptacle>.+)"),
        ("open", r"open (?P<receptacle>.+)"),
        ("close", r"close (?P<receptacle>.+)"),
        ("take", r"take (?P<object>.+?) from (?P<receptacle>.+)"),
        ("move", r"move (?P<object>.+?) to (?P<receptacle>.+)"),
        ("put", r"put (?P<object>.+?) (?:into|in) (?P<receptacle>.+)"),
        ("use", r"use (?P<object>.+)"),
        ("heat", r"heat (?P<object>.+?) with (?P<receptacle>.+)"),
        ("cool", r"cool (?P<object>.+?) with (?P<receptacle>.+)"),
        ("clean", r"clean (?P<object>.+?) with (?P<receptacle>.+)"),
        ("slice", r"slice (?P<object>.+?) with (?P<tool>.+)"),
        ("examine", r"examine (?P<target>.+)"),
    )
)

#: The papers' rewrites of a model's command, by name.
REWRITES: MappingProxyType[str, Rewrite] = MappingProxyType(
    {
        # Reflexion and CoPS on the 2.1.1 games: the command is "put X in/on Y"; models write "in" or "on".
        "alfworld-in-on": lambda a: re.sub(r"^(put .+?) (?:in|on) (?!/)(.+)$", r"\1 in/on \2", a),
        # The games alfworld 0.4 plays (2.1.2) say "move X to Y": the papers' prompts still teach "put X in/on Y".
        "alfworld-put-as-move": lambda a: re.sub(r"^put (.+?) (?:in/on|in|on) (.+)$", r"move \1 to \2", a),
    }
)


class ALFWorldActions(ActionGrammar):
    """The grammar (see the module docstring).

    Example:
        >>> ALFWORLD_ACTIONS.parse("take mug 1 from countertop 2").parts
        {'object': 'mug 1', 'receptacle': 'countertop 2'}
        >>> ALFWORLD_ACTIONS.rewrite("put mug 1 in/on desk 1", ["alfworld-put-as-move"])
        'move mug 1 to desk 1'
    """

    rewrites = REWRITES

    def describe(self) -> str:
        """The commands."""
        return ACTION_HELP

    def parse(self, action: str) -> ParsedAction:
        """The command's kind (``"go to"``, ``"take"``, ...) and its named parts, as written.

        Raises:
            MalformedAction: not one of the commands (a command is one line of at most :data:`MAX_COMMAND_CHARS`).
        """
        command = action.strip()
        if len(command) <= MAX_COMMAND_CHARS and "\n" not in command:
            for kind, pattern in COMMANDS:
                match = pattern.fullmatch(command)
                if match is not None:
                    return ParsedAction(kind, match.groupdict(), action)
        raise MalformedAction(f"{quote(action, 80)} is not an ALFWorld command. {ACTION_HELP}")


#: The ALFWorld grammar (``ALFWorldEnv.action_grammar``).
ALFWORLD_ACTIONS = ALFWorldActions()
