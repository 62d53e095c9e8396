"""The action rules of ReAct's WebShop client (``webshopEnv.step`` in ysymyth/ReAct ``WebShop.ipynb``).

``observation_mode="react"`` renders pages as that client does; with ``client_rules=True`` the env also accepts
and refuses actions as the client did (Reflexion's ``webshop_runs/webshop_trial.py`` has the same client). The
client's rules, which :func:`client_move` applies to the page the env shows:

- ``reset``: back to the search page; ``think...`` (any action starting ``think``): answered ``OK.``;
- ``search[...]``: only on the search page; the query is everything between ``search[`` and the last character;
- ``click[...]``: the button is everything between ``click[`` and the last character, compared as typed:
  ``Buy Now`` on an item page, ``Back to Search`` on any page but the search page, ``Next >`` never (the
  client's "ad hoc page limitation"), ``< Prev`` on an item page or its sub-pages (never on results),
  ``Description``/``Features``/``Reviews``/``Attributes`` on an item page, a product link on a results page as
  its ASIN is shown (upper case), an option value on an item page as it is shown; any other click on the search
  page or a sub-page leaves the page as it is (the client re-reads it);
- anything else, and every refused action, is ``Invalid action!`` and changes nothing (the client's
  ``AssertionError`` path).
"""

from __future__ import annotations

from dataclasses import dataclass

from agentgym.envs.webshop import pages

#: The client's page types by the env's page names.
PAGE_TYPES = {
    "index": "init",
    "search_results": "search",
    "item_page": "item",
    "item_sub_page": "item_sub",
    "done": "end",
}


@dataclass(frozen=True)
class ClientMove:
    """What the client does with an action.

    Attributes:
        kind: ``"think"`` (answered ``OK.``), ``"invalid"``, ``"stay"`` (the page is shown again), ``"reset"``
            (back to the search page), ``"search"`` or ``"click"``.
        argument: the query or the clicked text, as typed.
    """

    kind: str
    argument: str = ""


def client_move(action: str, page_name: str, page: pages.ParsedPage) -> ClientMove:
    """Apply the client's rules to ``action`` on the page ``page_name`` the env shows (``page``: its parse)."""
    page_type = PAGE_TYPES.get(page_name, "end")
    if action == "reset":
        return ClientMove("reset")
    if action.startswith("think"):
        return ClientMove("think")
    if action.startswith("search["):
        return ClientMove("search", action[7:-1]) if page_type == "init" else ClientMove("invalid")
    if not action.startswith("click["):
        return ClientMove("invalid")
    button = action[6:-1]
    allowed = {
        pages.BUY_NOW: page_type == "item",
        pages.BACK_TO_SEARCH: page_type in ("search", "item_sub", "item"),
        pages.NEXT_PAGE: False,
        pages.PREV_PAGE: page_type in ("item_sub", "item"),
        **{sub_page: page_type == "item" for sub_page in pages.SUB_PAGES},
    }
    if button in allowed:
        return ClientMove("click", button) if allowed[button] else ClientMove("invalid")
    if page_type == "search":
        return ClientMove("click", button) if button in _shown(page, "link") else ClientMove("invalid")
    if page_type == "item":
        return ClientMove("click", button) if button in _shown(page, "label") else ClientMove("invalid")
    return ClientMove("stay")


def _shown(page: pages.ParsedPage, what: str) -> set[str]:
    """The product links (the client's ``asins``) or option labels (its ``option_types``) of a page, as shown."""
    if what == "link":
        return {text for text, _, classes in page.texts if classes == ("product-link",)}
    return {text for text, parent, _ in page.texts if parent == "label"}


def as_shown(action: str, page: pages.ParsedPage) -> str:
    """``click[x]`` with ``x`` written as the page shows it (the client compares clicks as typed), else ``action``."""
    if not action.startswith("click["):
        return action
    wanted = action[6:-1].lower()
    for text, parent, classes in page.texts:
        clickable = parent in ("button", "label") or classes == ("product-link",)
        if clickable and text.lower() == wanted:
            return f"click[{text}]"
    return action
