r"""WebShop's pages: HTML rendering (shared by the text env and the Flask site) and the text observations.

The pages carry the original's visible texts in the original's order and its DOM hooks
(``#instruction-text``, ``#search_input``, ``.btn``, ``.product-link``, ``input[type=radio]`` with the option
name and value, ``#reward pre``), so the observations below equal the original's:

- ``text``: every visible text node, stripped, joined with ``" [SEP] "`` (whitespace-only nodes that span a
  line are dropped, as BeautifulSoup's ``html.parser`` collapses them to ``"\n"``);
- ``text_rich``: one node per line, buttons as ``[button] X [button_]``, option labels and visited product
  links as ``[clicked button] X [clicked button_]``, and ``You have clicked X.`` lines for chosen options;
- ``react``: what the WebShop client of ReAct's notebook (Yao et al., 2023: ysymyth/ReAct, ``WebShop.ipynb``)
  renders from a page (:func:`react_text`).

Templates are autoescaped Jinja; all assets are local (no CDN).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

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

    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=True, undefined=jinja2.Undefined)


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
    r"""Parse a page into its visible texts and clickables.

    The rules are the original's, which reads pages with BeautifulSoup's ``html.parser`` builder: text nodes
    whose parent is ``style``, ``script``, ``head``, ``title`` or ``meta`` are hidden, comments are dropped,
    and a whitespace-only node outside ``pre`` becomes ``"\n"`` (or ``" "`` without a line break).
    Clickables are the texts of ``.btn`` elements, then of ``.product-link`` elements, then the values of
    radio inputs, lower-cased except the values, the later of equal keys winning. This is a direct
    ``html.parser`` pass (about 6x faster than building the soup); the tests check it against
    BeautifulSoup on every kind of page.
    """
    parser = _PageParser()
    parser.feed(html)
    parser.close()
    return parser.result()


_VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)
_ASCII_SPACES = str.maketrans("", "", " \n\t\x0c\r")


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, tuple[str, ...]]] = []
        self.pending: list[str] = []
        self.texts: list[tuple[str, str, tuple[str, ...]]] = []
        self.open: list[tuple[int, list[str]]] = []  # (stack depth, texts) of the open clickables
        self.buttons: list[list[str]] = []
        self.links: list[list[str]] = []
        self.radios: list[tuple[str, str | None]] = []
        self.has_search_bar = False

    def result(self) -> ParsedPage:
        self._flush()
        clickables: dict[str, tuple[str, str | None]] = {}
        for parts in self.buttons:
            clickables["".join(parts).lower()] = ("button", None)
        for parts in self.links:
            clickables["".join(parts).lower()] = ("link", None)
        for value, name in self.radios:
            clickables[value] = ("radio", name)
        return ParsedPage(self.texts, clickables, self.has_search_bar)

    def _flush(self) -> None:
        if not self.pending:
            return
        text = "".join(self.pending)
        self.pending = []
        if not text.translate(_ASCII_SPACES) and not any(tag in ("pre", "textarea") for tag, _ in self.stack):
            text = "\n" if "\n" in text else " "
        parent, classes = self.stack[-1] if self.stack else ("[document]", ())
        if parent not in _HIDDEN_PARENTS:
            self.texts.append((text, parent, classes))
        for _, parts in self.open:
            parts.append(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._flush()
        attributes = dict(attrs)
        classes = tuple((attributes.get("class") or "").split())
        if tag == "input":
            if attributes.get("id") == "search_input":
                self.has_search_bar = True
            if (attributes.get("type") or "").lower() == "radio":
                self.radios.append((str(attributes.get("value")), attributes.get("name")))
        if tag in _VOID:
            return
        self.stack.append((tag, classes))
        if "btn" in classes or "product-link" in classes:
            parts: list[str] = []
            self.open.append((len(self.stack), parts))
            if "btn" in classes:
                self.buttons.append(parts)
            if "product-link" in classes:
                self.links.append(parts)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        self._flush()
        if not any(open_tag == tag for open_tag, _ in self.stack):
            return
        while self.stack:
            open_tag, _ = self.stack.pop()
            while self.open and self.open[-1][0] > len(self.stack):
                self.open.pop()
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        self.pending.append(data)

    def handle_comment(self, data: str) -> None:
        self._flush()

    def handle_decl(self, decl: str) -> None:
        self._flush()


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


REACT_SCORE_LABEL = "Your score (min 0.0, max 1.0)"


def react_text(page: ParsedPage, client_url: str, *, search_page: bool) -> str:
    r"""Return a page as ReAct's WebShop client renders it (its ``webshop_text``).

    Every visible text node (unstripped) that holds more than spaces, line breaks and literal ``\n``: a button
    as ``"\n[X] "``; an option label as ``"[X]"``, or ``"[[X]]"`` when ``'X'`` (quoted) occurs in the URL the
    client requested (``client_url``: its chosen options appear there as a Python dict repr); the first three
    product links as ``"\n[X] "`` (later ones vanish, and with them the two texts after each); any other text
    as ``"\nX "``, except the first two such texts (the ``Instruction:`` block) on every page but the search
    page. On the done page the whole observation is ``"Your score (min 0.0, max 1.0): <score>"``. The result
    goes through the client's ``clean_str`` (backslash escapes decoded, then latin-1 bytes read as UTF-8; unknown
    escapes such as ``N\C`` stay); where that transform fails (``\x`` without hex digits, an escaped character
    that is not UTF-8 once read back), which ends the client's run, the observation is kept as is.
    """
    texts = [text for text, _, _ in page.texts]
    if REACT_SCORE_LABEL in texts:
        return _react_clean(f"{REACT_SCORE_LABEL}: {texts[texts.index(REACT_SCORE_LABEL) + 1]}")
    parts: list[str] = []
    regular = products = since_product = 0
    for text, parent, classes in page.texts:
        if not text.replace("\n", "").replace("\\n", "").replace(" ", ""):
            continue
        if parent == "button":
            part = f"\n[{text}] "
        elif parent == "label":
            part = f"[[{text}]]" if f"'{text}'" in client_url else f"[{text}]"
        elif classes == ("product-link",):
            part = f"\n[{text}] " if products < 3 else ""
            products += 1
            since_product = 0
        else:
            hidden = (regular < 2 and not search_page) or (since_product <= 2 and products >= 4)
            part = "" if hidden else f"\n{text} "
            regular += 1
        since_product += 1
        parts.append(part)
    return _react_clean("".join(parts))


def _react_clean(text: str) -> str:
    """The client's ``clean_str``; the identity on text without a backslash (UTF-8 bytes read back as UTF-8)."""
    if "\\" not in text:
        return text
    with warnings.catch_warnings():  # an unknown escape such as "N\\C" (a product title) is kept, with a warning
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return text.encode().decode("unicode-escape").encode("latin1").decode("utf-8")
        except UnicodeError:
            return text
