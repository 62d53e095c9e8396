"""The WebShop website: a Flask app with the original's pages and routes, and :func:`serve` to run it.

Routes (the original's URL shapes, so URL-driven clients such as Reflexion's work unchanged):

- ``/`` redirects to ``/abc``; ``/<session_id>`` is the search page (``POST search_query`` redirects to the
  results). A session id ending in ``fixed_<i>`` pursues goal ``i`` (``agentgym_fixed_<i>``: AgentGym's goal
  ``i``); any other new id gets a goal drawn with the original's weights from a generator seeded by the id
  (the original draws unseeded).
- ``/search_results/<session_id>/<keywords>/<page>``: 10 results per page out of the top 50.
- ``/item_page/<session_id>/<asin>/<keywords>/<page>/<options>``: the product with its option radios.
- ``/item_sub_page/<session_id>/<asin>/<keywords>/<page>/<sub_page>/<options>``: Description, Features,
  Reviews, Attributes.
- ``/done/<session_id>/<asin>/<options>``: the purchase, scored; the score is in ``#reward pre`` and the
  reward terms (JSON) in ``#reward_info pre``. A purchase is final: a later ``/done`` for the same session,
  whatever its product and options, shows the first purchase's page again and scores nothing new (the
  original scores every ``/done``). The page lists the purchase but leaves the target empty (the original
  site fills it in, hidden; its text env leaves it empty), so a browser agent cannot read the answer.

``keywords`` and ``options`` are the original's Python reprs (a list of words, a dict of option name to
value), read with :func:`ast.literal_eval` after a length check and a type check. Sessions live in memory,
one per id (bounded: the least recently used are dropped past ``max_sessions``), so concurrent shoppers never
share state. The app binds to 127.0.0.1 by default, never runs in debug mode, autoescapes every page and
serves its CSS/JS itself (no CDN).
"""

from __future__ import annotations

import ast
import hashlib
import logging
import random
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from itertools import accumulate
from typing import Any

from agentgym import validate
from agentgym.envs.webshop import pages
from agentgym.envs.webshop.reward import reward_terms
from agentgym.envs.webshop.search import TOP_N
from agentgym.envs.webshop.session import MAX_QUERY
from agentgym.envs.webshop.store import product_price
from agentgym.envs.webshop.task import GOAL_KINDS, goal_list, shop_resources
from agentgym.error import import_optional

logger = logging.getLogger(__name__)

SESSION_ID = re.compile(r"[A-Za-z0-9_\-]{1,64}")
MAX_URL_PART = 2000


class SessionStore:
    """The goal and purchase state of every session id, bounded and safe across threads."""

    def __init__(
        self, goals: list[dict[str, Any]], max_sessions: int, agentgym_goals: Callable[[], list[dict[str, Any]]]
    ) -> None:
        """Keep at most ``max_sessions`` sessions (least recently used dropped first).

        ``agentgym_goals`` returns AgentGym's goal list, for session ids ending in ``agentgym_fixed_<i>``.
        """
        self.goals = goals
        self.agentgym_goals = agentgym_goals
        self.max_sessions = max_sessions
        self._cum_weights = list(accumulate(g["weight"] for g in goals))
        self._sessions: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session_id: str, *, create: bool = False) -> dict[str, Any] | None:
        """Return a session's state, creating it (and picking its goal) when ``create``."""
        with self._lock:
            state = self._sessions.get(session_id)
            if state is not None:
                self._sessions.move_to_end(session_id)
                return state
            if not create:
                return None
            state = {
                "goal": self._goal(session_id),
                "done": False,
                "reward": None,
                "lock": threading.Lock(),
            }
            self._sessions[session_id] = state
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)
            return state

    def _goal(self, session_id: str) -> dict[str, Any]:
        match = re.fullmatch(r".*?(agentgym_)?fixed_(\d+)", session_id)
        goals = self.agentgym_goals() if match and match.group(1) else self.goals
        if match and int(match.group(2)) < len(goals):
            return goals[int(match.group(2))]
        seed = int.from_bytes(hashlib.sha256(session_id.encode()).digest()[:8], "big")
        draw = random.Random(seed).random() * self._cum_weights[-1]
        return self.goals[next(i for i, w in enumerate(self._cum_weights) if w > draw)]


def purchase_code(session_id: str) -> str:
    """Return the done page's code for a session (a sha1 of its id, as the original)."""
    return hashlib.sha1(session_id.encode()).hexdigest()  # noqa: S324  (an identifier, not security)


def _literal(text: str, kind: type) -> Any:
    """Parse a URL part that holds a Python literal of type ``kind``; ``None`` when it is not one."""
    if len(text) > MAX_URL_PART:
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        return None
    return value if isinstance(value, kind) else None


def parse_keywords(text: str) -> list[str] | None:
    """Return the keyword list of a results URL (a list repr, or one bare word as the original)."""
    if not text.startswith("["):
        return [text] if len(text) <= MAX_URL_PART else None
    value = _literal(text, list)
    return value if value is not None and all(isinstance(k, str) for k in value) else None


def parse_options(text: str) -> dict[str, str] | None:
    """Return the chosen options of an item URL (a dict repr of option name -> value)."""
    value = _literal(text, dict)
    if value is None or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        return None
    return value


def create_app(
    *, catalog: str = "1k", goals: str = "synthetic", show_attrs: bool = False, max_sessions: int = 100_000
) -> Any:
    """Return the WebShop Flask app over ``catalog`` and its ``goals`` (see the module docstring)."""
    flask = import_optional("flask", "webshop")
    if goals not in GOAL_KINDS:
        raise ValueError(f"goals must be one of {GOAL_KINDS}, got {goals!r}")
    store, search_index = shop_resources(catalog)
    sessions = SessionStore(goal_list(catalog, goals), max_sessions, partial(goal_list, catalog, "agentgym"))
    app = flask.Flask(__name__, static_folder=str(pages.STATIC_DIR), static_url_path="/static")
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    sub_pages = pages.SUB_PAGES if show_attrs else pages.SUB_PAGES[:3]

    def page(template: str, **context: Any) -> str:
        return pages.render(template, partial(_url, flask), _static_url, **context)

    def _static_url(filename: str) -> str:
        return flask.url_for("static", filename=filename)

    def session_or_404(session_id: str) -> dict[str, Any]:
        state = sessions.get(session_id) if SESSION_ID.fullmatch(session_id) else None
        if state is None:
            flask.abort(404, description="unknown session: open /<session_id> first")
        return state

    def product_or_404(asin: str) -> dict[str, Any]:
        product = store.get(asin) if len(asin) <= 10 else None
        if product is None:
            flask.abort(404, description="no such product")
        return product

    def parsed_or_400(value: Any) -> Any:
        if value is None:
            flask.abort(400, description="malformed keywords or options in the URL")
        return value

    @app.route("/")
    def home() -> Any:
        return flask.redirect(flask.url_for("index", session_id="abc"))

    @app.route("/<session_id>", methods=["GET", "POST"])
    def index(session_id: str) -> Any:
        if not SESSION_ID.fullmatch(session_id):
            flask.abort(404, description="session ids are 1-64 letters, digits, '_' or '-'")
        state = sessions.get(session_id, create=True)
        query = flask.request.form.get("search_query") if flask.request.method == "POST" else None
        if query is not None:
            keywords = query[:MAX_QUERY].lower().split(" ")
            return flask.redirect(_url(flask, "search_results", session_id=session_id, keywords=keywords, page=1))
        return page("search_page.html", session_id=session_id, instruction_text=state["goal"]["instruction_text"])

    @app.route("/search_results/<session_id>/<path:keywords>/<int:page_number>", methods=["GET", "POST"])
    def search_results(session_id: str, keywords: str, page_number: int) -> Any:
        state = session_or_404(session_id)
        words = parsed_or_400(parse_keywords(keywords))
        hits = search_index.search(" ".join(words)[:MAX_QUERY], TOP_N)
        start = (page_number - 1) * pages.PAGE_SIZE
        shown = [store.get(a) for a in hits[max(start, 0) : start + pages.PAGE_SIZE]] if page_number > 0 else []
        return page(
            "results_page.html", session_id=session_id, instruction_text=state["goal"]["instruction_text"],
            keywords=words, page=page_number, products=shown, total=len(hits),
        )  # fmt: skip

    @app.route("/item_page/<session_id>/<asin>/<path:keywords>/<int:page_number>/<options>", methods=["GET", "POST"])
    def item_page(session_id: str, asin: str, keywords: str, page_number: int, options: str) -> Any:
        state = session_or_404(session_id)
        return page(
            "item_page.html", session_id=session_id, instruction_text=state["goal"]["instruction_text"],
            product=product_or_404(asin), asin=asin, keywords=parsed_or_400(parse_keywords(keywords)),
            page=page_number, options=parsed_or_400(parse_options(options)), sub_pages=sub_pages,
        )  # fmt: skip

    @app.route(
        "/item_sub_page/<session_id>/<asin>/<path:keywords>/<int:page_number>/<sub_page>/<options>",
        methods=["GET", "POST"],
    )
    def item_sub_page(session_id: str, asin: str, keywords: str, page_number: int, sub_page: str, options: str) -> Any:
        state = session_or_404(session_id)
        if sub_page not in pages.SUB_PAGES:
            flask.abort(404, description="no such sub-page")
        return page(
            "sub_page.html", session_id=session_id, instruction_text=state["goal"]["instruction_text"],
            product=product_or_404(asin), asin=asin, keywords=parsed_or_400(parse_keywords(keywords)),
            page=page_number, options=parsed_or_400(parse_options(options)), sub_page=sub_page,
        )  # fmt: skip

    @app.route("/done/<session_id>/<asin>/<options>", methods=["GET", "POST"])
    def done(session_id: str, asin: str, options: str) -> Any:
        state = session_or_404(session_id)
        product = product_or_404(asin)
        chosen = parsed_or_400(parse_options(options))
        with state["lock"]:
            if not state["done"]:
                reward, terms = reward_terms(product, state["goal"], product_price(product), chosen)
                state.update(done=True, reward=reward, terms=terms, asin=asin, options=chosen)
                state["done_page"] = page(
                    "done_page.html", code=purchase_code(session_id), asin=asin, options=chosen,
                    purchased_attrs=product["Attributes"], category=product.get("category"),
                    query=product.get("query"), product_category=product.get("product_category"), reward=reward,
                    reward_info=terms,
                )  # fmt: skip
        return state["done_page"]

    app.extensions["webshop_sessions"] = sessions
    return app


def _url(flask: Any, endpoint: str, **params: Any) -> str:
    """Build a route URL the way the templates name them (page numbers under their route name)."""
    if "page" in params and endpoint != "index":
        params["page_number"] = params.pop("page")
    if "keywords" in params:
        params["keywords"] = str(params["keywords"])
    if "options" in params:
        params["options"] = str(params["options"])
    return flask.url_for(endpoint, **params)


def serve(
    host: str = "127.0.0.1",
    port: int = 3000,
    *,
    catalog: str = "1k",
    goals: str = "synthetic",
    show_attrs: bool = False,
) -> None:
    """Run the WebShop site until interrupted (threaded WSGI server, no debug, no reloader).

    This is what ``agentgym serve webshop`` calls. Bind to ``0.0.0.0`` only on a trusted network.
    """
    from werkzeug.serving import run_simple

    validate.host("host", host)
    validate.port("port", port)
    app = create_app(catalog=catalog, goals=goals, show_attrs=show_attrs)
    logger.info("WebShop site on http://%s:%d/ (%s catalog, %s goals)", host, port, catalog, goals)
    run_simple(host, port, app, threaded=True, use_debugger=False, use_reloader=False)


class BackgroundSite:
    """The site served from a daemon thread on a free local port (for the browser env and tests).

    Example:
        >>> with BackgroundSite() as site:  # doctest: +SKIP
        ...     print(site.url)
        http://127.0.0.1:43127
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, **app_kwargs: Any) -> None:
        """Build the app and bind the port (``0``: any free one); serving starts with :meth:`start`."""
        from werkzeug.serving import WSGIRequestHandler, make_server

        class QuietHandler(WSGIRequestHandler):
            def log_request(self, *args: Any, **kwargs: Any) -> None:
                """Do not log every request (an env makes many)."""

        self.app = create_app(**app_kwargs)
        self._server = make_server(host, port, self.app, threaded=True, request_handler=QuietHandler)
        self.url = f"http://{host}:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="webshop-site", daemon=True)

    def start(self) -> BackgroundSite:
        """Start serving."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.server_close()

    def __enter__(self) -> BackgroundSite:
        """Start serving."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop serving."""
        self.stop()
