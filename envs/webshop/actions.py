r"""WebShop's action grammar: ``search[<query>]`` and ``click[<button, product id or option value>]``.

An action is read as the original's ``(.+)\[(.+)\]`` regex reads it (:func:`parse_action`: the name before the
last ``[`` of the first line, the argument up to its last ``]``), in linear time. What a click may reach (the
page's clickables, the search bar) is the env's rule, not the grammar's.
"""

from __future__ import annotations

from agentgym.actions import ActionGrammar, MalformedAction, ParsedAction
from agentgym.core import quote

ACTION_HELP = (
    "Write search[<keywords>] to search, or click[<button>] to click a button, a product id or an option value "
    "shown on the page."
)


def parse_action(action: str) -> tuple[str, str | None]:
    """Split ``name[arg]`` as the original's regex does, in linear time; ``(action, None)`` if no match."""
    line = action.split("\n", 1)[0]
    close = line.rfind("]")
    start = line.rfind("[", 1, close - 1) if close >= 3 else -1
    if start < 1:
        return action, None
    return line[:start], line[start + 1 : close]


class WebShopActions(ActionGrammar):
    """The grammar (see the module docstring).

    Example:
        >>> WEBSHOP_ACTIONS.parse("search[red running shoes]").parts
        {'query': 'red running shoes'}
        >>> WEBSHOP_ACTIONS.parse("click[Buy Now]").parts
        {'target': 'Buy Now'}
        >>> WEBSHOP_ACTIONS.is_valid("buy it")
        False
    """

    def describe(self) -> str:
        """How to search and click."""
        return ACTION_HELP

    def parse(self, action: str) -> ParsedAction:
        """``"search"`` (part ``query``, not empty) or ``"click"`` (part ``target``, as written).

        Raises:
            MalformedAction: anything else.
        """
        name, argument = parse_action(action)
        if name == "search" and argument:
            return ParsedAction("search", {"query": argument}, action)
        if name == "click" and argument is not None:
            return ParsedAction("click", {"target": argument}, action)
        raise MalformedAction(f"{quote(action, 80)} is neither search[...] nor click[...]. {ACTION_HELP}")


#: The WebShop grammar (``action_grammar`` of both WebShop envs).
WEBSHOP_ACTIONS = WebShopActions()
