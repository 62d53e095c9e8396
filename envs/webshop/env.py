"""``agentgym/WebShop-v0``: the WebShop text environment (the original's ``WebAgentTextEnv``).

Example:
    >>> import gymnasium, agentgym
    >>> env = gymnasium.make("agentgym/WebShop-v0")              # doctest: +SKIP
    >>> obs, info = env.reset(options={"split": "test", "index": 6})  # doctest: +SKIP
    >>> obs.startswith("WebShop [SEP] Instruction: [SEP] Find me men's shorts")  # doctest: +SKIP
    True

Change logs:
    v0: the original's text env on the 1k catalog with synthetic goals by default (AgentGym, verl-agent);
    ``goals="human", catalog="full"`` is the paper setting (WebShop, ReAct, Reflexion, ETO). Later in v0 (the
    tasks and rewards of existing task ids unchanged): the done page became the original text env's (no
    target shown), ``agentgym_test`` became AgentGym's goals with its price bounds (``agentgym_<i>``), and
    ``observation_mode="react"`` was added, then its ``client_rules`` option (off by default).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, ClassVar

from agentgym.core import Outcome, TextEnv
from agentgym.envs.webshop import goals as goals_module
from agentgym.envs.webshop import pages, react_client
from agentgym.envs.webshop.actions import WEBSHOP_ACTIONS, parse_action
from agentgym.envs.webshop.data import catalog_files, eto_lists, load_catalog
from agentgym.envs.webshop.reward import DEFAULT_SPACY_MODEL, SPACY_MODEL_ENV
from agentgym.envs.webshop.search import SearchIndex
from agentgym.envs.webshop.session import ShopSession
from agentgym.envs.webshop.store import Catalog
from agentgym.protocol import file_sha256
from agentgym.tasks import TaskSet

OBSERVATION_MODES = ("text", "text_rich", "html", "react")
REACT_INVALID = "Invalid action!"
REACT_THINK = "OK."
GOAL_KINDS = ("synthetic", "human", "agentgym")


@lru_cache(maxsize=4)
def shop_resources(catalog: str) -> tuple[Catalog, SearchIndex]:
    """Return the catalog store and its search index (loaded once per process)."""
    store = load_catalog(catalog)
    return store, SearchIndex.for_catalog(store)


@lru_cache(maxsize=8)
def goal_list(catalog: str, kind: str) -> list[dict[str, Any]]:
    """Return the goals of ``kind`` on ``catalog``, in the original's order (``"agentgym"``: AgentGym's bounds)."""
    store = load_catalog(catalog)
    if kind == "agentgym":
        return goals_module.agentgym_goals(store.products())  # streamed: the full catalog is never held whole
    return store.goals(kind)


def task_goal(catalog: str, task_id: str) -> dict[str, Any]:
    """Return the goal a task id (``<kind>_<goal index>``) names."""
    kind, index = task_id.rsplit("_", 1)
    return goal_list(catalog, kind)[int(index)]


def page_actions(available: Mapping[str, Any]) -> list[str]:
    """The actions a page allows, from its ``available_actions`` (``search[<query>]`` stands for any search)."""
    actions = ["search[<query>]"] if available["has_search_bar"] else []
    return actions + [f"click[{c}]" for c in available["clickables"] if c != "search"]


def check_settings(observation_mode: str, modes: tuple[str, ...], goals: str) -> None:
    """Raise ``ValueError`` for an observation mode not in ``modes`` or an unknown goal kind."""
    if observation_mode not in modes:
        raise ValueError(f"observation_mode must be one of {modes}, got {observation_mode!r}")
    if goals not in GOAL_KINDS:
        raise ValueError(f"goals must be one of {GOAL_KINDS}, got {goals!r}")


def shop_protocol(catalog: str, goals: str, **settings: Any) -> dict[str, Any]:
    """What WebShop rewards depend on: catalog, goal kind, the data files' sha256, the spaCy model, ``settings``."""
    files = {f"webshop/{path.name}": file_sha256(path) for path in catalog_files(catalog) if path}
    return {
        "catalog": catalog,
        "goals": goals,
        **settings,
        "data_files": files,
        "spacy_model": os.environ.get(SPACY_MODEL_ENV, DEFAULT_SPACY_MODEL),
    }


def task_set(catalog: str, kind: str) -> TaskSet:
    """Return the task ids (``<kind>_<goal index>``) and splits of a goal set.

    The synthetic set's ``agentgym_test`` split holds AgentGym's goals 0-199 (ids ``agentgym_<i>``, AgentGym's
    price bounds), which also end its full list.
    """
    count = len(goal_list(catalog, kind))
    ids = [f"{kind}_{i}" for i in range(count)]
    splits = {k: [ids[i] for i in v] for k, v in goals_module.splits(count, kind, eto_lists()).items()}
    if kind == "synthetic":
        splits["agentgym_test"] = [task_id.replace("synthetic_", "agentgym_") for task_id in splits["agentgym_test"]]
        ids += splits["agentgym_test"]
    return TaskSet(ids=ids, splits=splits, default_split="test")


class WebShopEnv(TextEnv):
    """The WebShop text env: search, open products, pick options, buy; the reward is paid at purchase.

    Actions are ``search[query]`` and ``click[button, ASIN or option value]`` (see
    :mod:`agentgym.envs.webshop.session`); invalid ones change nothing and count a step. ``score`` is the
    purchase reward and ``won`` is ``reward == 1``. ``info`` also has ``available_actions``
    (``{"has_search_bar", "clickables"}``, as the original's ``get_available_actions``) and, after the
    purchase, ``reward_terms`` (``r_type``, ``r_att``, ``r_option``, ``r_price``, ...), ``asin`` and
    ``options``.

    Args:
        observation_mode: ``"text"`` (the ``[SEP]`` form, default), ``"text_rich"``, ``"html"`` or ``"react"``
            (what ReAct's WebShop client shows: pages as :func:`pages.react_text` renders them,
            ``You have clicked X.`` after an option click, ``OK.`` for ``think[...]`` (a step that changes
            nothing), ``Invalid action!`` for an invalid action).
        goals: ``"synthetic"`` (6,910 on the 1k catalog), ``"human"`` (those whose product is present) or
            ``"agentgym"`` (the synthetic goals with AgentGym's seeded price bounds).
        catalog: ``"1k"`` (default) or ``"full"`` (the 1.18M-product files, when present).
        show_attrs: show the Attributes sub-page (off in the original's default).
        client_rules: with ``observation_mode="react"``, accept and refuse actions as ReAct's client did
            (:mod:`agentgym.envs.webshop.react_client`: search only from the search page, no paging, clicks as
            shown); a refused action is ``Invalid action!`` and changes nothing.
        split, admissible_actions, render_mode: see :class:`agentgym.core.TextEnv`.
    """

    env_name: ClassVar[str] = "webshop"
    action_grammar = WEBSHOP_ACTIONS

    def __init__(
        self,
        *,
        observation_mode: str = "text",
        goals: str = "synthetic",
        catalog: str = "1k",
        show_attrs: bool = False,
        client_rules: bool = False,
        split: str | None = None,
        admissible_actions: bool = False,
        render_mode: str | None = None,
    ) -> None:
        """Record settings; the catalog, index and goals load at first use."""
        check_settings(observation_mode, OBSERVATION_MODES, goals)
        if client_rules and observation_mode != "react":
            raise ValueError("client_rules=True needs observation_mode='react' (the rules are ReAct's client's)")
        super().__init__(split=split, admissible_actions=admissible_actions, render_mode=render_mode)
        self.observation_mode = observation_mode
        self.goal_kind = goals
        self.catalog_name = catalog
        self.show_attrs = show_attrs
        self.client_rules = client_rules
        self.session: ShopSession | None = None
        self._react_query = self._react_asin = ""  # the react mode's client state: last query and product, as typed

    # --- TextEnv hooks -------------------------------------------------------------------------------

    def _load_tasks(self) -> TaskSet:
        return task_set(self.catalog_name, self.goal_kind)

    def goal(self, task_id: str) -> dict[str, Any]:
        """Return the goal dict of a task id (the original's keys)."""
        return task_goal(self.catalog_name, task_id)

    def _start(self, task_id: str, options: dict[str, Any]) -> tuple[str, str]:
        catalog, index = shop_resources(self.catalog_name)
        goal = self.goal(task_id)
        self.session = ShopSession(catalog, index, goal, session_id=task_id, show_attrs=self.show_attrs)
        self._react_query = self._react_asin = ""
        return self._observe(), goal["instruction_text"]

    def _act(self, action: str) -> Outcome:
        session = self.session
        if self.client_rules and not session.done:
            return self._client_act(action)
        name, arg = parse_action(action)
        if self.observation_mode == "react" and name == "think" and arg is not None and not session.done:
            return Outcome(observation=REACT_THINK)
        kind = session.parsed.clickables.get(arg.lower(), ("", None))[0] if name == "click" and arg else ""
        valid = session.act(action)
        return self._outcome(valid, name, arg, kind)

    def _client_act(self, action: str) -> Outcome:
        """An action under ReAct's client's rules (``client_rules=True``)."""
        session = self.session
        move = react_client.client_move(action, session.page_name, session.parsed)
        if move.kind == "think":
            return Outcome(observation=REACT_THINK)
        if move.kind == "stay" or (move.kind == "reset" and session.page_name == "index"):
            return Outcome(observation=self._observe())
        if move.kind == "reset":
            return self._outcome(session.click(pages.BACK_TO_SEARCH.lower()), "click", pages.BACK_TO_SEARCH, "button")
        if move.kind == "search":
            return self._outcome(session.search(move.argument), "search", move.argument, "")
        if move.kind == "click":
            clickables = session.parsed.clickables
            key = move.argument if move.argument in clickables else move.argument.lower()
            kind = clickables.get(key, ("", None))[0]
            return self._outcome(session.click(key), "click", move.argument, kind)
        return self._outcome(False, "", None, "")

    def _outcome(self, valid: bool, name: str, arg: str | None, kind: str) -> Outcome:
        """The outcome of an action the session applied (``valid``) or refused; ``kind``: the clicked element's."""
        session = self.session
        if valid and self.observation_mode == "react":
            self._react_query = arg if name == "search" else self._react_query
            self._react_asin = arg if kind == "link" else self._react_asin
        extra: dict[str, Any] = {}
        if session.done and valid:
            extra = {
                "reward_terms": dict(session.terms),
                "asin": session.asin,
                "options": dict(session.options),
            }
        reward = float(session.reward) if session.done and valid else 0.0
        score = float(session.reward or 0.0)
        if self.observation_mode != "react":
            observation = self._observe()
        elif not valid:
            observation = REACT_INVALID
        else:
            observation = f"You have clicked {arg}." if kind == "radio" else self._observe()
        return Outcome(
            observation=observation,
            reward=reward,
            done=session.done,
            won=session.done and session.reward == 1.0,
            score=score,
            invalid=not valid,
            extra=extra,
        )

    def _observe(self) -> str:
        session = self.session
        if self.observation_mode == "html":
            return session.html
        if self.observation_mode == "text_rich":
            return pages.rich_text(session.parsed, session.options, session.visited)
        if self.observation_mode == "react":
            return pages.react_text(session.parsed, self._react_url(), search_page=session.page_name == "index")
        return pages.simple_text(session.parsed)

    def _react_url(self) -> str:
        """The path ReAct's client would request for the current page (its option check reads it)."""
        session = self.session
        if session.page_name != "item_page":
            return ""
        product = session.catalog.get(session.asin)
        names = {name.lower(): name for name in product["options"]}
        chosen = {names.get(key, key): value for key, value in session.options.items()}
        return f"/item_page/{session.session_id}/{self._react_asin}/{self._react_query}/{session.page}/{chosen}"

    def available_actions(self) -> dict[str, Any]:
        """Return ``{"has_search_bar": bool, "clickables": [...]}`` as the original's env does."""
        if self.session is None or self.session.done:
            return {"has_search_bar": False, "clickables": []}
        parsed = self.session.parsed
        return {"has_search_bar": parsed.has_search_bar, "clickables": list(parsed.clickables)}

    def _admissible_actions(self) -> list[str] | None:
        return page_actions(self.available_actions())

    def _extra_info(self) -> dict[str, Any]:
        return {"available_actions": self.available_actions()}

    def protocol(self) -> dict[str, Any]:
        """What rewards depend on: catalog, goal kind, the data files' sha256, the spaCy model, the page form."""
        settings = {"observation_mode": self.observation_mode, "show_attrs": self.show_attrs}
        if self.client_rules:
            settings["client_rules"] = True
        return shop_protocol(self.catalog_name, self.goal_kind, **settings)

    def expert_action(self) -> str | None:
        """Return the oracle's next action (see :func:`oracle_action`); ``None`` after the purchase.

        With ``client_rules`` its clicks name what they click as the page shows it (ASINs in upper case).
        """
        session = self.session
        if session is None or session.done:
            return None
        action = oracle_action(
            session.goal, session.catalog, page_name=session.page_name, keywords=session.keywords,
            results=session.results, page=session.page, asin=session.asin, options=session.options,
            clickables=session.parsed.clickables,
        )  # fmt: skip
        return react_client.as_shown(action, session.parsed) if self.client_rules and action else action


def oracle_action(
    goal: dict[str, Any],
    catalog: Catalog,
    *,
    page_name: str,
    keywords: list[str],
    results: list[str],
    page: int,
    asin: str | None,
    options: dict[str, str],
    clickables: Mapping[str, Any],
) -> str | None:
    """Return the oracle's action on a page: search the goal, open the target, pick the goal options, buy.

    It searches the goal's instruction without the price clause; when the target is not among the 50 hits it
    searches the target's title instead (``None`` if even that fails). On the item page it clicks each goal
    option value not yet chosen, then ``Buy Now``; elsewhere it goes back. Buttons are named as the page shows
    them (``click[Buy Now]``, ``click[< Prev]``), ASINs and option values in lower case, as in the ReAct and
    ETO prompts; the env lower-cases arguments anyway.
    """
    target = goal["asin"]
    if page_name == "index":
        return f"search[{goal_query(goal)}]"
    if page_name == "search_results":
        if target not in results:
            title = catalog.get(target)["Title"].lower()
            return None if " ".join(keywords) == title else f"search[{title}]"
        position = results.index(target) // pages.PAGE_SIZE + 1
        if position == page:
            return f"click[{target.lower()}]"
        return "click[Next >]" if position > page else "click[< Prev]"
    if page_name == "item_page" and asin == target:
        for value in _wanted_values(goal):
            if value in clickables and value not in options.values():
                return f"click[{value}]"
        return "click[Buy Now]"
    return "click[< Prev]" if "< prev" in clickables else "click[Back to Search]"


def goal_query(goal: dict[str, Any]) -> str:
    """Return the oracle's search query: the instruction without its price clause, lower-cased."""
    text = goal["instruction_text"]
    cut = text.find(", and price lower than")
    return (text[:cut] if cut >= 0 else text).lower()


def _wanted_values(goal: dict[str, Any]) -> list[str]:
    options = goal.get("goal_options") or []
    values = options.values() if isinstance(options, dict) else options
    return [str(v).lower() for v in values]
