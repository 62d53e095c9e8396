"""WebShop's rules, one task for its two front ends (the text env and the browser env).

:class:`WebShopTask` holds what does not depend on how pages are shown: the goals and their splits, the
actions a page allows, the purchase's outcome, the oracle (the expert) and the protocol card. A front end
subclasses it and says how a task's search page opens, how an action is played and how a page is shown:
:class:`agentgym.envs.webshop.env.WebShopTextTask` on an in-process session (the original's
``WebAgentTextEnv``), :class:`agentgym.envs.webshop.browser.WebShopBrowserTask` on the site in Chromium.
"""

from __future__ import annotations

import os
from abc import abstractmethod
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from agentgym.envs.webshop import goals as goals_module
from agentgym.envs.webshop import pages
from agentgym.envs.webshop.data import catalog_files, eto_lists, load_catalog
from agentgym.envs.webshop.reward import DEFAULT_SPACY_MODEL, SPACY_MODEL_ENV
from agentgym.envs.webshop.search import SearchIndex
from agentgym.envs.webshop.store import Catalog
from agentgym.protocol import file_sha256
from agentgym.task import Outcome, Setup, Task
from agentgym.tasks import TaskSet

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


def goal_tasks(catalog: str, kind: str) -> TaskSet:
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


def page_actions(available: Mapping[str, Any]) -> list[str]:
    """The actions a page allows, from its ``available_actions`` (``search[<query>]`` stands for any search)."""
    actions = ["search[<query>]"] if available["has_search_bar"] else []
    return actions + [f"click[{c}]" for c in available["clickables"] if c != "search"]


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


class WebShopTask(Task):
    """WebShop: find the goal's product, pick its options, buy; the reward is paid at purchase.

    Actions are ``search[query]`` and ``click[button, ASIN or option value]``; invalid ones change nothing and
    count a step. ``score`` is the purchase reward and ``won`` is ``reward == 1``. ``info`` has
    ``available_actions`` (``{"has_search_bar", "clickables"}``, as the original's ``get_available_actions``)
    and, after the purchase, ``reward_terms`` (``r_type``, ``r_att``, ``r_option``, ``r_price``, ...),
    ``asin`` and ``options``.

    A front end implements :meth:`open`, :meth:`act`, :attr:`page`, :attr:`done`, :meth:`oracle_state` and
    :meth:`card_settings`.

    Args:
        observation_mode: how pages are shown, one of ``modes``.
        modes: the observation modes the front end can show.
        goals: ``"synthetic"``, ``"human"`` or ``"agentgym"`` (see :data:`GOAL_KINDS`).
        catalog: ``"1k"`` or ``"full"``.
    """

    env_name = "webshop"

    def __init__(self, *, observation_mode: str, modes: tuple[str, ...], goals: str, catalog: str) -> None:
        """Check the settings; the catalog, index and goals load at first use."""
        if observation_mode not in modes:
            raise ValueError(f"observation_mode must be one of {modes}, got {observation_mode!r}")
        if goals not in GOAL_KINDS:
            raise ValueError(f"goals must be one of {GOAL_KINDS}, got {goals!r}")
        self.observation_mode = observation_mode
        self.goal_kind = goals
        self.catalog_name = catalog
        self._goal: dict[str, Any] = {}

    # --- what a front end implements ------------------------------------------------------------------

    @abstractmethod
    def open(self, task_id: str, goal: dict[str, Any]) -> str:
        """Open the task's search page (a new session for ``goal``) and return the first observation."""

    @property
    @abstractmethod
    def page(self) -> pages.ParsedPage | None:
        """The page shown now (``None`` before the first set-up)."""

    @property
    @abstractmethod
    def done(self) -> bool:
        """The purchase is made."""

    @abstractmethod
    def oracle_state(self) -> dict[str, Any]:
        """The page's state as :func:`oracle_action` reads it (``page_name`` ... ``clickables``)."""

    @abstractmethod
    def card_settings(self) -> dict[str, Any]:
        """The front end's settings that rewards or observations depend on, for the protocol card."""

    # --- the rules ----------------------------------------------------------------------------------------

    def task_set(self) -> TaskSet:
        """The goal set's task ids and splits (see :func:`goal_tasks`)."""
        return goal_tasks(self.catalog_name, self.goal_kind)

    def goal(self, task_id: str) -> dict[str, Any]:
        """Return the goal dict of a task id (the original's keys)."""
        return task_goal(self.catalog_name, task_id)

    def setup(self, task_id: str, options: Mapping[str, Any]) -> Setup:
        """Open the task's search page; the instruction is the goal's."""
        self._goal = self.goal(task_id)
        return Setup(self.open(task_id, self._goal), self._goal["instruction_text"])

    def purchase(self, observation: str, reward: float, terms: dict, asin: str | None, options: dict) -> Outcome:
        """The outcome of the purchase: ``reward`` paid, the episode over, the reward terms in ``info``."""
        extra = {"reward_terms": terms, "asin": asin, "options": options}
        return Outcome(observation, reward=reward, done=True, won=reward == 1.0, score=reward, extra=extra)

    def available_actions(self) -> dict[str, Any]:
        """Return ``{"has_search_bar": bool, "clickables": [...]}`` as the original's env does."""
        page = self.page
        if page is None or self.done:
            return {"has_search_bar": False, "clickables": []}
        return {"has_search_bar": page.has_search_bar, "clickables": list(page.clickables)}

    def admissible_actions(self) -> list[str] | None:
        """The page's actions (``search[<query>]`` stands for any search)."""
        return page_actions(self.available_actions())

    def info(self) -> dict[str, Any]:
        """``available_actions``: the page's search bar and clickables."""
        return {"available_actions": self.available_actions()}

    def expert(self) -> str | None:
        """Return the oracle's next action on the page shown (see :func:`oracle_action`)."""
        catalog, _ = shop_resources(self.catalog_name)
        return oracle_action(self._goal, catalog, **self.oracle_state())

    def protocol(self) -> dict[str, Any]:
        """What rewards depend on: catalog, goal kind, the data files' sha256, the spaCy model, the front end."""
        return shop_protocol(self.catalog_name, self.goal_kind, **self.card_settings())


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
