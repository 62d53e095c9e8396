r"""One shopper's session: the original's page state machine, actions in, rendered pages out.

Actions are the original's two forms, parsed as its regex ``(.+)\[(.+)\]`` (first line only, greedy) with
the argument lower-cased:

- ``search[query]`` runs a search from any page (the original does not check for a search bar);
- ``click[x]`` works when ``x`` is a clickable of the current page (lower-cased button or product-link text,
  or an option value) other than ``search``.

Anything else changes nothing. Navigation follows the original: ``back to search`` returns to the search page
(goal kept); ``next >``/``< prev`` page through results; ``< prev`` goes from a sub-page back to the item page
and from the item page back to the results (which clears the chosen options, as any search does); a product
link opens the item; an option value selects it; ``description``/``features``/``reviews``/``attributes`` open
sub-pages; ``buy now`` ends the episode with the reward. After the purchase every action is a no-op.

The done page is the original text env's: the purchased ASIN and options, the score, and ``None`` or empty
placeholders for the code, the target and the reward details, so the last observation never shows the answer
(the reward terms stay in :attr:`ShopSession.terms`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from agentgym.envs.webshop import pages
from agentgym.envs.webshop.actions import parse_action
from agentgym.envs.webshop.reward import reward_terms
from agentgym.envs.webshop.search import TOP_N, SearchIndex
from agentgym.envs.webshop.store import Catalog, product_price

#: The most characters of a ``search[...]`` query that a search reads (real queries are under 100): the rest is
#: cut, in both envs and on the site, so that the pages that carry the query in their links stay bounded.
MAX_QUERY = 1000


def path_for(endpoint: str, **params: Any) -> str:
    """Return the site's URL path of a page (the original's route shapes)."""
    q = {k: quote(str(v), safe="") for k, v in params.items()}
    if endpoint == "index":
        return f"/{q['session_id']}"
    if endpoint == "search_results":
        return f"/search_results/{q['session_id']}/{q['keywords']}/{q['page']}"
    if endpoint == "item_page":
        return f"/item_page/{q['session_id']}/{q['asin']}/{q['keywords']}/{q['page']}/{q['options']}"
    if endpoint == "item_sub_page":
        return (
            f"/item_sub_page/{q['session_id']}/{q['asin']}/{q['keywords']}/{q['page']}/{q['sub_page']}/{q['options']}"
        )
    if endpoint == "done":
        return f"/done/{q['session_id']}/{q['asin']}/{q['options']}"
    raise ValueError(f"unknown endpoint {endpoint!r}")


def static_path(filename: str) -> str:
    """Return the URL path of a static asset."""
    return f"/static/{quote(filename)}"


@dataclass
class ShopSession:
    """The state of one shopping episode and its current page.

    Args:
        catalog: the product store.
        index: the search index over it.
        goal: the goal dict this session pursues.
        session_id: the id shown in URLs.
        show_attrs: show the Attributes sub-page button (the original's ``show_attrs``).
    """

    catalog: Catalog
    index: SearchIndex
    goal: dict[str, Any]
    session_id: str = "fixed"
    show_attrs: bool = False
    page_name: str = "index"
    keywords: list[str] = field(default_factory=list)
    page: int = 1
    asin: str | None = None
    visited: set[str] = field(default_factory=set)
    options: dict[str, str] = field(default_factory=dict)
    sub_page: str | None = None
    results: list[str] = field(default_factory=list)
    reward: float | None = None
    terms: dict[str, Any] | None = None
    html: str = ""
    parsed: pages.ParsedPage | None = None

    def __post_init__(self) -> None:
        """Show the search page."""
        self._render()

    @property
    def done(self) -> bool:
        """Whether the purchase has been made."""
        return self.reward is not None

    def act(self, action: str) -> bool:
        """Apply an action string; return whether it was valid (an invalid one changes nothing)."""
        if self.done or self.parsed is None:
            return False
        name, arg = parse_action(action)
        if name == "search" and arg:
            return self.search(arg)
        if name == "click" and arg is not None:
            return self.click(arg.lower())
        return False

    def search(self, query: str) -> bool:
        """Search ``query`` (lower-cased, cut to :data:`MAX_QUERY`, split on spaces) from any page; not an empty one."""
        if self.done or self.parsed is None or not query:
            return False
        self._search(query.lower()[:MAX_QUERY].split(" "), 1)
        self._render()
        return True

    def click(self, name: str) -> bool:
        """Click ``name`` (a key of the page's clickables) if the page has it, other than ``search``."""
        if self.done or self.parsed is None:
            return False
        if name == "search" or name not in self.parsed.clickables:
            return False
        self._click(name)
        self._render()
        return True

    def _search(self, keywords: list[str], page: int) -> None:
        self.page_name, self.keywords, self.page = "search_results", keywords, page
        self.asin, self.options, self.sub_page = None, {}, None
        self.results = self.index.search(" ".join(keywords), TOP_N)

    def _click(self, name: str) -> None:
        kind, radio_name = self.parsed.clickables[name]
        here = self.page_name
        if name == pages.BUY_NOW.lower():
            self._buy()
        elif name == pages.BACK_TO_SEARCH.lower():
            self.page_name, self.keywords, self.page = "index", [], 1
            self.asin, self.options, self.sub_page, self.visited = None, {}, None, set()
        elif name == pages.NEXT_PAGE.lower() and here == "search_results":
            self._search(self.keywords, self.page + 1)
        elif name == pages.PREV_PAGE.lower() and here == "search_results":
            self._search(self.keywords, self.page - 1)
        elif name == pages.PREV_PAGE.lower() and here == "item_sub_page":
            self.page_name, self.sub_page = "item_page", None
        elif name == pages.PREV_PAGE.lower() and here == "item_page":
            self._search(self.keywords, self.page)
        elif name in {s.lower() for s in pages.SUB_PAGES}:
            self.page_name, self.sub_page = "item_sub_page", name.capitalize()
        else:
            if kind == "link":
                self.asin = name.upper()
                self.visited.add(self.asin)
            elif radio_name is not None:
                self.options[radio_name.lower()] = name
            self.page_name, self.sub_page = "item_page", None

    def _buy(self) -> None:
        product = self.catalog.get(self.asin)
        self.reward, self.terms = reward_terms(product, self.goal, product_price(product), self.options)
        self.page_name = "done"

    def _render(self) -> None:
        self.html = render_page(self)
        self.parsed = pages.parse(self.html)


def render_page(session: ShopSession) -> str:
    """Render the session's current page."""
    common = {
        "session_id": session.session_id,
        "instruction_text": session.goal["instruction_text"],
        "keywords": session.keywords,
        "page": session.page,
    }
    name = session.page_name
    if name == "index":
        return pages.render("search_page.html", path_for, static_path, **common)
    if name == "search_results":
        start = (session.page - 1) * pages.PAGE_SIZE
        shown = [session.catalog.get(a) for a in session.results[start : start + pages.PAGE_SIZE]]
        return pages.render(
            "results_page.html", path_for, static_path, products=shown, total=len(session.results), **common
        )
    product = session.catalog.get(session.asin) if session.asin else None
    if name == "item_page":
        sub_pages = pages.SUB_PAGES if session.show_attrs else pages.SUB_PAGES[:3]
        return pages.render(
            "item_page.html", path_for, static_path, product=product, asin=session.asin,
            options=session.options, sub_pages=sub_pages, **common,
        )  # fmt: skip
    if name == "item_sub_page":
        return pages.render(
            "sub_page.html", path_for, static_path, product=product, asin=session.asin,
            options=session.options, sub_page=session.sub_page, **common,
        )  # fmt: skip
    return pages.render(
        "done_page.html", path_for, static_path, code=None, asin=session.asin, options=session.options,
        purchased_attrs=None, category=None, query=None, product_category=None, reward=session.reward,
        reward_info=None,
    )  # fmt: skip
