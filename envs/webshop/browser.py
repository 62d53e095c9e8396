"""``agentgym/WebShopBrowser-v0``: WebShop through the real site in headless Chromium (Selenium 4).

The same tasks, actions and rewards as ``agentgym/WebShop-v0``, played on the Flask site
(:mod:`agentgym.envs.webshop.site`) by a real browser: ``search[q]`` types into ``#search_input`` and submits
the form, ``click[x]`` clicks the button, product link or option radio whose text or value is ``x`` (a JS
click when the element is not interactable, as the original site env does), and the reward is read from the
done page's ``#reward pre``. Two details follow the text env rather than the original site env, so that
trajectories carry over: the argument is lower-cased and matched against lower-cased texts, and ``search[q]``
from a page without a search bar first opens the session's search page.

Needs Debian's ``chromium`` and ``chromium-driver`` (or set ``AGENTGYM_CHROMIUM`` and
``AGENTGYM_CHROMEDRIVER``); no driver is downloaded. Each env starts its own site on a free loopback port
(or uses ``site_url``) and its own browser at the first reset; ``close()`` stops both.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
from itertools import count
from typing import Any
from urllib.parse import unquote, urlsplit

from agentgym.core import TextEnv
from agentgym.envs.webshop import pages
from agentgym.envs.webshop.actions import WEBSHOP_ACTIONS, parse_action
from agentgym.envs.webshop.search import TOP_N
from agentgym.envs.webshop.site import BackgroundSite, parse_keywords, parse_options
from agentgym.envs.webshop.task import WebShopTask, shop_resources
from agentgym.error import DependencyNotInstalled, EnvCrashed
from agentgym.task import Outcome

PAGE_TIMEOUT_S = 30
_EPISODES = count()
_EPISODES_LOCK = threading.Lock()

_ROUTES = (
    ("search_results", re.compile(r"/search_results/(?P<sid>[^/]+)/(?P<keywords>.*)/(?P<page>\d+)")),
    (
        "item_page",
        re.compile(r"/item_page/(?P<sid>[^/]+)/(?P<asin>[^/]+)/(?P<keywords>.*)/(?P<page>\d+)/(?P<options>[^/]*)"),
    ),
    (
        "item_sub_page",
        re.compile(
            r"/item_sub_page/(?P<sid>[^/]+)/(?P<asin>[^/]+)/(?P<keywords>.*)/(?P<page>\d+)/[^/]+/(?P<options>[^/]*)"
        ),
    ),
    ("done", re.compile(r"/done/(?P<sid>[^/]+)/(?P<asin>[^/]+)/(?P<options>[^/]*)")),
)


def find_browser() -> tuple[str, str]:
    """Return the paths of Chromium and chromedriver.

    Raises:
        DependencyNotInstalled: when either is missing (install ``chromium chromium-driver`` with apt-get).
    """
    browser = os.environ.get("AGENTGYM_CHROMIUM") or next(
        (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
    )
    driver = os.environ.get("AGENTGYM_CHROMEDRIVER") or shutil.which("chromedriver")
    if not browser or not driver:
        error = DependencyNotInstalled("chromium and chromedriver", "webshop")
        error.add_note("Install them with `apt-get install chromium chromium-driver` (Debian/Ubuntu).")
        raise error
    return browser, driver


def url_state(url: str) -> dict[str, Any]:
    """Return the page name and the route parameters (keywords, page, asin, options) of a site URL."""
    path = unquote(urlsplit(url).path)
    for name, pattern in _ROUTES:
        match = pattern.fullmatch(path)
        if match:
            params = match.groupdict()
            return {
                "page_name": name,
                "keywords": parse_keywords(params["keywords"]) or [] if "keywords" in params else [],
                "page": int(params.get("page") or 1),
                "asin": params.get("asin"),
                "options": parse_options(params["options"]) or {} if "options" in params else {},
            }
    return {"page_name": "index", "keywords": [], "page": 1, "asin": None, "options": {}}


class WebShopBrowserTask(WebShopTask):
    """WebShop's browser front end: the task played on the site in headless Chromium (see the module docstring).

    Args:
        observation_mode: ``"text"`` (the ``[SEP]`` form of the page, default) or ``"html"`` (page source).
        goals: ``"synthetic"`` or ``"human"``, as the text env.
        catalog: ``"1k"`` or ``"full"``, as the text env.
        site_url: use a running site (``agentgym serve webshop``) with the same catalog and goals instead of
            starting one.
        headless: run Chromium without a window (default).
    """

    def __init__(
        self,
        *,
        observation_mode: str = "text",
        goals: str = "synthetic",
        catalog: str = "1k",
        site_url: str | None = None,
        headless: bool = True,
    ) -> None:
        """Record settings; the site and the browser start at the first set-up."""
        super().__init__(observation_mode=observation_mode, modes=("text", "html"), goals=goals, catalog=catalog)
        self.headless = headless
        self._site_url = site_url.rstrip("/") if site_url else None
        self._site_origin = self._site_url or "own"
        self._site: BackgroundSite | None = None
        self._driver: Any = None
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._session_id = ""
        self._page: pages.ParsedPage | None = None
        self._done = False

    # --- browser plumbing ----------------------------------------------------------------------------

    def _launch(self) -> None:
        try:
            from selenium import webdriver
            from selenium.webdriver.chrome.options import Options
            from selenium.webdriver.chrome.service import Service
        except ImportError as e:
            raise DependencyNotInstalled("selenium", "webshop") from e
        browser, driver = find_browser()
        if self._site_url is None:
            self._site = BackgroundSite(catalog=self.catalog_name, goals=self.goal_kind).start()
            self._site_url = self._site.url
        # Chromium's profile and the files it leaves in TMPDIR go to a folder of ours, removed at close.
        self._scratch = tempfile.TemporaryDirectory(prefix="agentgym-chromium-", ignore_cleanup_errors=True)
        options = Options()
        options.binary_location = browser
        for argument in (
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--window-size=1280,1024",
            f"--user-data-dir={self._scratch.name}/profile",
        ):
            options.add_argument(argument)
        if self.headless:
            options.add_argument("--headless=new")
        service = Service(driver, env={**os.environ, "TMPDIR": self._scratch.name})
        try:
            self._driver = webdriver.Chrome(service=service, options=options)
        except Exception as e:
            self._scratch.cleanup()
            raise EnvCrashed(f"Chromium could not start ({browser}, {driver}): {e}") from e
        self._driver.set_page_load_timeout(PAGE_TIMEOUT_S)

    def _navigate(self, act: Any) -> None:
        """Run ``act`` (a click or submit) and wait until the next page has replaced the current one."""
        from selenium.common.exceptions import StaleElementReferenceException, TimeoutException, WebDriverException
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        old = self._driver.find_element(By.TAG_NAME, "html")

        def page_replaced(_: Any) -> bool:
            try:
                old.is_enabled()
            except StaleElementReferenceException:
                return True
            except WebDriverException as e:  # Chromium's answer while it tears the old document down
                if "does not belong to the document" in str(e):
                    return True
                raise
            return False

        try:
            act()
            WebDriverWait(self._driver, PAGE_TIMEOUT_S).until(page_replaced)
            WebDriverWait(self._driver, PAGE_TIMEOUT_S).until(
                lambda d: d.execute_script("return document.readyState") == "complete"
            )
        except (TimeoutException, WebDriverException) as e:
            raise EnvCrashed(f"the browser did not load the next page: {e}") from e
        self._read_page()

    def _open_search_page(self) -> None:
        """Open the session's search page and wait for its search box (a loaded page, not a blank one)."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.ui import WebDriverWait

        try:
            self._driver.get(f"{self._site_url}/{self._session_id}")
            WebDriverWait(self._driver, PAGE_TIMEOUT_S).until(
                expected_conditions.presence_of_element_located((By.ID, "search_input"))
            )
        except Exception as e:
            raise EnvCrashed(f"the browser could not open the WebShop site at {self._site_url}: {e}") from e
        self._read_page()

    def _read_page(self) -> None:
        self._page = pages.parse(self._driver.page_source)

    def _element(self, kind: str, text: str) -> Any:
        from selenium.webdriver.common.by import By

        if kind == "radio":
            candidates = self._driver.find_elements(By.CSS_SELECTOR, "input[type=radio]")
            return next(e for e in candidates if e.get_attribute("value") == text)
        selector = ".product-link" if kind == "link" else ".btn"
        candidates = self._driver.find_elements(By.CSS_SELECTOR, selector)
        return next(e for e in candidates if (e.get_attribute("textContent") or "").lower() == text)

    def _click(self, element: Any) -> None:
        from selenium.common.exceptions import ElementClickInterceptedException, ElementNotInteractableException

        try:
            element.click()
        except (ElementNotInteractableException, ElementClickInterceptedException):
            self._driver.execute_script("arguments[0].click();", element)

    # --- the front end ------------------------------------------------------------------------------------

    def open(self, task_id: str, goal: dict[str, Any]) -> str:
        """Start the site and the browser (first time), then open a new session's search page."""
        if self._driver is None:
            self._launch()
        with _EPISODES_LOCK:
            episode = next(_EPISODES)
        kind, index = task_id.rsplit("_", 1)
        self._session_id = f"p{os.getpid()}e{episode}_{kind}_fixed_{index}"
        self._done = False
        self._open_search_page()
        return self._observe()

    @property
    def page(self) -> pages.ParsedPage | None:
        """The page the browser shows (``None`` before the first set-up)."""
        return self._page

    @property
    def done(self) -> bool:
        """The purchase is made (the browser shows the done page)."""
        return self._done

    def act(self, action: str) -> Outcome:
        """Play one action in the browser.

        Raises:
            EnvCrashed: Chromium or chromedriver died or hung (the runner rebuilds the env).
        """
        from selenium.common.exceptions import WebDriverException

        try:
            return self._play(action)
        except WebDriverException as e:
            raise EnvCrashed(f"the browser stopped answering ({type(e).__name__}: {e.msg})") from e

    def _play(self, action: str) -> Outcome:
        from selenium.webdriver.common.by import By

        name, arg = parse_action(action)
        arg = arg.lower() if arg is not None else None
        clickables = self._page.clickables
        if self._done:
            valid = False
        elif name == "search" and arg:
            if not self._page.has_search_bar:
                self._open_search_page()
            box = self._driver.find_element(By.ID, "search_input")
            self._driver.execute_script("arguments[0].value = arguments[1];", box, arg)
            self._navigate(box.submit)
            valid = True
        elif name == "click" and arg is not None and arg != "search" and arg in clickables:
            element = self._element(clickables[arg][0], arg)
            self._navigate(lambda: self._click(element))
            valid = True
        else:
            valid = False
        if not (valid and self._driver.find_elements(By.CSS_SELECTOR, "#reward pre")):
            return Outcome(observation=self._observe(), invalid=not valid, done=self._done)
        self._done = True
        reward = float(self._driver.find_element(By.CSS_SELECTOR, "#reward pre").text)
        details = self._driver.find_element(By.CSS_SELECTOR, "#reward_info pre")
        terms = json.loads(details.get_attribute("textContent"))
        state = url_state(self._driver.current_url)
        return self.purchase(self._observe(), reward, terms, state["asin"], state["options"])

    def _observe(self) -> str:
        if self.observation_mode == "html":
            return self._driver.page_source
        return pages.simple_text(self._page)

    def oracle_state(self) -> dict[str, Any]:
        """The page's state read from the browser's URL, with the text env's search results for its query."""
        state = url_state(self._driver.current_url)
        _, index = shop_resources(self.catalog_name)
        on_results = state["page_name"] == "search_results"
        results = index.search(" ".join(state["keywords"]), TOP_N) if on_results else []
        return {**state, "results": results, "clickables": self._page.clickables}

    def card_settings(self) -> dict[str, Any]:
        """The page form and the site played (own, or the ``site_url`` given)."""
        return {"observation_mode": self.observation_mode, "site": self._site_origin}

    def close(self) -> None:
        """Quit the browser, remove its files and stop the site this task started (idempotent)."""
        if self._driver is not None:
            try:
                self._driver.quit()
            finally:
                self._driver = None
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None
        if self._site is not None:
            self._site.stop()
            self._site = None
            self._site_url = None


class WebShopBrowserEnv(TextEnv):
    """``agentgym/WebShopBrowser-v0``: WebShop in a real headless browser (:class:`WebShopBrowserTask`).

    The same tasks, actions and rewards as the text env (one :class:`~agentgym.envs.webshop.task.WebShopTask`).

    Args:
        observation_mode: ``"text"`` (the ``[SEP]`` form of the page, default) or ``"html"`` (page source).
        goals: ``"synthetic"`` or ``"human"``, as the text env.
        catalog: ``"1k"`` or ``"full"``, as the text env.
        site_url: use a running site (``agentgym serve webshop``) with the same catalog and goals instead of
            starting one.
        headless: run Chromium without a window (default).
        split, admissible_actions, render_mode: see :class:`agentgym.core.TextEnv`.
    """

    task: WebShopBrowserTask
    action_grammar = WEBSHOP_ACTIONS

    def __init__(
        self,
        *,
        observation_mode: str = "text",
        goals: str = "synthetic",
        catalog: str = "1k",
        site_url: str | None = None,
        headless: bool = True,
        split: str | None = None,
        admissible_actions: bool = False,
        render_mode: str | None = None,
    ) -> None:
        """Record settings; the site and the browser start at the first reset."""
        task = WebShopBrowserTask(
            observation_mode=observation_mode, goals=goals, catalog=catalog, site_url=site_url, headless=headless
        )
        super().__init__(task, split=split, admissible_actions=admissible_actions, render_mode=render_mode)

    def available_actions(self) -> dict[str, Any]:
        """Return ``{"has_search_bar": bool, "clickables": [...]}`` of the current page."""
        return self.task.available_actions()
