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

from typing import Any

from agentgym.core import TextEnv
from agentgym.envs.webshop import pages, react_client
from agentgym.envs.webshop.actions import WEBSHOP_ACTIONS, parse_action
from agentgym.envs.webshop.session import ShopSession
from agentgym.envs.webshop.task import WebShopTask, shop_resources
from agentgym.task import Outcome

OBSERVATION_MODES = ("text", "text_rich", "html", "react")
REACT_INVALID = "Invalid action!"
REACT_THINK = "OK."


class WebShopTextTask(WebShopTask):
    """WebShop's text front end: the task played on an in-process session (see :class:`WebShopEnv`)."""

    def __init__(
        self,
        *,
        observation_mode: str = "text",
        goals: str = "synthetic",
        catalog: str = "1k",
        show_attrs: bool = False,
        client_rules: bool = False,
    ) -> None:
        """Check the settings; the catalog, index and goals load at first use."""
        super().__init__(observation_mode=observation_mode, modes=OBSERVATION_MODES, goals=goals, catalog=catalog)
        if client_rules and observation_mode != "react":
            raise ValueError("client_rules=True needs observation_mode='react' (the rules are ReAct's client's)")
        self.show_attrs = show_attrs
        self.client_rules = client_rules
        self.session: ShopSession | None = None
        self._react_query = self._react_asin = ""  # the react mode's client state: last query and product, as typed

    # --- the front end ------------------------------------------------------------------------------------

    def open(self, task_id: str, goal: dict[str, Any]) -> str:
        """Start a session on the task's search page."""
        catalog, index = shop_resources(self.catalog_name)
        self.session = ShopSession(catalog, index, goal, session_id=task_id, show_attrs=self.show_attrs)
        self._react_query = self._react_asin = ""
        return self._observe()

    @property
    def page(self) -> pages.ParsedPage | None:
        """The session's page (``None`` before the first set-up)."""
        return self.session.parsed if self.session is not None else None

    @property
    def done(self) -> bool:
        """The session's purchase is made."""
        return self.session is not None and self.session.done

    def act(self, action: str) -> Outcome:
        """Apply one action to the session (under ReAct's client's rules with ``client_rules``)."""
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
        if self.observation_mode != "react":
            observation = self._observe()
        elif not valid:
            observation = REACT_INVALID
        else:
            observation = f"You have clicked {arg}." if kind == "radio" else self._observe()
        if session.done and valid:
            terms, options = dict(session.terms), dict(session.options)
            return self.purchase(observation, float(session.reward), terms, session.asin, options)
        return Outcome(observation=observation, invalid=not valid)

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

    def oracle_state(self) -> dict[str, Any]:
        """The session's page, query, results and choices."""
        session = self.session
        return {
            "page_name": session.page_name,
            "keywords": session.keywords,
            "results": session.results,
            "page": session.page,
            "asin": session.asin,
            "options": session.options,
            "clickables": session.parsed.clickables,
        }

    def expert(self) -> str | None:
        """The oracle's action; with ``client_rules`` its clicks name what they click as the page shows it."""
        action = super().expert()
        return react_client.as_shown(action, self.session.parsed) if self.client_rules and action else action

    def card_settings(self) -> dict[str, Any]:
        """The page form (and ReAct's client's rules when on)."""
        settings: dict[str, Any] = {"observation_mode": self.observation_mode, "show_attrs": self.show_attrs}
        if self.client_rules:
            settings["client_rules"] = True
        return settings


class WebShopEnv(TextEnv):
    """``agentgym/WebShop-v0``: the WebShop text env (:class:`WebShopTextTask` in the generic env).

    Search, open products, pick options, buy; the reward is paid at purchase (see
    :class:`~agentgym.envs.webshop.task.WebShopTask` for actions, score and ``info``; the actions'
    grammar is :mod:`agentgym.envs.webshop.session`'s).

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

    task: WebShopTextTask
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
        task = WebShopTextTask(
            observation_mode=observation_mode,
            goals=goals,
            catalog=catalog,
            show_attrs=show_attrs,
            client_rules=client_rules,
        )
        super().__init__(task, split=split, admissible_actions=admissible_actions, render_mode=render_mode)

    @property
    def session(self) -> ShopSession | None:
        """The episode's shop session (``None`` before the first reset)."""
        return self.task.session

    def goal(self, task_id: str) -> dict[str, Any]:
        """Return the goal dict of a task id (the original's keys)."""
        return self.task.goal(task_id)

    def available_actions(self) -> dict[str, Any]:
        """Return ``{"has_search_bar": bool, "clickables": [...]}`` as the original's env does."""
        return self.task.available_actions()
