r"""WebShop's pages: HTML rendering (shared by the text env and the Flask site) and the text observations.

The pages carry the original's visible texts in the original's order and its DOM hooks
(``#instruction-text``, ``#search_input``, ``.btn``, ``.product-link``, ``input[type=radio]`` with the option
name and value, ``#reward pre``), so the observations below equal the original's:

- ``text``: every visible text node, stripped, joined with ``" [SEP] "`` (whitespace-only nodes that span a
  line are dropped, as BeautifulSoup's ``html.parser`` collapses them to ``"\n"``);
- ``text_rich``: one node per line, buttons as ``[button] X [button_]``, option labels and visited product
  links as ``[clicked button] X [clicked button_]``, and ``You have clicked X.`` lines for chosen options.

Templates are autoescaped Jinja; all assets are local (no CDN).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup
from bs4.element import Comment

TEMPLATE_DIR = Path(__file__).with_name("templates")
STATIC_DIR = Path(__file__).with_name("static")

BUY_NOW = "Buy Now"
NEXT_PAGE = "Next >"
PREV_PAGE = "< Prev"
BACK_TO_SEARCH = "Back to Search"
SUB_PAGES = ("Description", "Features", "Reviews", "Attributes")
PAGE_SIZE = 10

_HIDDEN_PARENTS = frozenset({"style", "script", "head", "title", "meta", "[document]"})


@lru_cache(maxsize=1)
def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=True, undefined=jinja2.Undefined
    )


def render(template: str, url: Callable[..., str], static_url: Callable[[str], str], **context: Any) -> str:
    """Render one page template with URL builders for routes and static files."""
    return _environment().get_template(template).render(url=url, static_url=static_url, **context)


@dataclass
class ParsedPage:
    """A rendered page as the agent sees it: its texts and what can be clicked.

    Attributes:
        texts: the visible text nodes, in document order (``(text, parent tag, parent classes)``).
        clickables: lower-cased button/link texts and radio values -> ``("button"|"link"|"radio", name)``.
        has_search_bar: whether the page has the search input.
    """

    texts: list[tuple[str, str, tuple[str, ...]]]
    clickables: dict[str, tuple[str, str | None]]
    has_search_bar: bool


def parse(html: str) -> ParsedPage:
    """Parse a page into its visible texts and clickables (the original's rules, on BeautifulSoup)."""
    soup = BeautifulSoup(html, "html.parser")
    texts = []
    for node in soup.find_all(string=True):
        if isinstance(node, Comment) or node.parent.name in _HIDDEN_PARENTS:
            continue
        texts.append((str(node), node.parent.name, tuple(node.parent.get("class") or ())))
    clickables: dict[str, tuple[str, str | None]] = {}
    for element in soup.find_all(class_="btn") + soup.find_all(class_="product-link"):
        kind = "link" if "product-link" in (element.get("class") or ()) else "button"
        clickables[element.get_text().lower()] = (kind, None)
    for radio in soup.select('input[type="radio"]'):
        clickables[str(radio.get("value"))] = ("radio", radio.get("name"))
    return ParsedPage(texts, clickables, soup.find(id="search_input") is not None)


def simple_text(page: ParsedPage) -> str:
    """Return the ``text`` observation: visible texts joined with ``" [SEP] "``."""
    return " [SEP] ".join(text.strip() for text, _, _ in page.texts if text != "\n")


def rich_text(page: ParsedPage, options: dict[str, str], visited: set[str]) -> str:
    """Return the ``text_rich`` observation, given the session's chosen options and visited ASINs."""
    chosen = json.dumps(options)
    observation = ""
    for text, parent, classes in page.texts:
        if text == "\n":
            continue
        if parent == "button":
            line = f"[button] {text} [button_]"
        elif parent == "label":
            if f'"{text}"' in chosen:
                line = f"  [clicked button] {text} [clicked button_]"
                observation = f"You have clicked {text}.\n" + observation
            else:
                line = f"  [button] {text} [button_]"
        elif classes == ("product-link",):
            state = "clicked button" if text in visited else "button"
            line = f"\n[{state}] {text} [{state}_]"
        else:
            line = text
        observation += line + "\n"
    return observation
