"""The ``react`` observation mode against ReAct's WebShop client, rebuilt here from its notebook's rules.

The reference is a client written in this test from the rules of ``webshop_text`` and ``webshopEnv.step`` in
ReAct's ``WebShop.ipynb`` (ysymyth/ReAct): it requests the pages from the Flask site over HTTP, reads them
with BeautifulSoup's ``html.parser`` and renders them as the notebook does. The env renders its own pages
with its own parser; the two must agree byte for byte on every step of a scripted episode.
"""

from __future__ import annotations

import urllib.parse
import urllib.request

import pytest

pytest.importorskip("bs4")
pytest.importorskip("flask")

import bs4

from agentgym.envs.webshop.env import WebShopEnv
from agentgym.envs.webshop.site import BackgroundSite

pytestmark = pytest.mark.filterwarnings("ignore:invalid escape sequence:DeprecationWarning")  # clean_str on "N\\C"

SUB_PAGES = {"Description", "Features", "Reviews", "Attributes"}
HIDDEN_PARENTS = {"style", "script", "head", "title", "meta", "[document]"}
SCORE = "Your score (min 0.0, max 1.0)"


def clean_str(text: str) -> str:
    """The notebook's ``clean_str``: decode unicode escapes, then read the latin-1 bytes as UTF-8."""
    return text.encode().decode("unicode-escape").encode("latin1").decode("utf-8")


def render(html: str, url: str, page_type: str) -> tuple[str, dict]:
    """Render a page by the notebook's rules; return ``(observation, info)``."""
    soup = bs4.BeautifulSoup(html, "html.parser")
    visible = [
        t
        for t in soup.find_all(string=True)
        if t.parent.name not in HIDDEN_PARENTS and not isinstance(t, bs4.element.Comment)
    ]
    pieces, option_types, asins = [], {}, []
    option_type, plain_seen, links_seen, since_link = "", 0, 0, 0
    for t in visible:
        if t == "\n" or t.replace("\n", "").replace("\\n", "").replace(" ", "") == "":
            continue
        if t.parent.name == "button":
            piece = f"\n[{t}] "
        elif t.parent.name == "label":
            piece = f"[[{t}]]" if f"'{t}'" in url else f"[{t}]"
            option_types[str(t)] = option_type
        elif t.parent.get("class") == ["product-link"]:
            piece = f"\n[{t}] " if links_seen < 3 else ""
            links_seen += 1
            asins.append(str(t))
            since_link = 0
        else:
            piece = "\n" + str(t) + " "
            if plain_seen < 2 and page_type != "init":
                piece = ""
            if since_link <= 2 and links_seen >= 4:
                piece = ""
            option_type = str(t)
            plain_seen += 1
        since_link += 1
        pieces.append(piece)
    observation, info = "".join(pieces), {"option_types": option_types, "asins": asins}
    if SCORE in visible:
        observation = f"{SCORE}: {visible[visible.index(SCORE) + 1]}"
    return clean_str(observation), info


class NotebookClient:
    """ReAct's client state machine (its ``webshopEnv``), paging allowed, over the site at ``base``."""

    def __init__(self, base: str, session: str) -> None:
        self.base = base
        self.state = {"session": session, "page_type": "init"}

    def url(self) -> str:
        s = self.state
        page_type, session = s["page_type"], s["session"]
        if page_type == "init":
            return f"{self.base}/{session}"
        if page_type == "search":
            return f"{self.base}/search_results/{session}/{s['query_string']}/{s['page_num']}"
        if page_type == "item":
            return f"{self.base}/item_page/{session}/{s['asin']}/{s['query_string']}/{s['page_num']}/{s['options']}"
        if page_type == "item_sub":
            rest = f"{s['asin']}/{s['query_string']}/{s['page_num']}/{s['subpage']}/{s['options']}"
            return f"{self.base}/item_sub_page/{session}/{rest}"
        return f"{self.base}/done/{session}/{s['asin']}/{s['options']}"

    def step(self, action: str) -> str:
        s, said = self.state, None
        if action == "reset":
            self.state = {"session": s["session"], "page_type": "init"}
        elif action.startswith("search["):
            self.state = {"session": s["session"], "page_type": "search", "query_string": action[7:-1], "page_num": 1}
        else:
            button = action[6:-1]
            if button == "Buy Now":
                s["page_type"] = "end"
            elif button == "Back to Search":
                self.state = {"session": s["session"], "page_type": "init"}
            elif button == "Next >":
                s["page_num"] += 1
            elif button == "< Prev" and s["page_type"] == "item_sub":
                s["page_type"] = "item"
            elif button == "< Prev":
                s["page_type"], s["options"] = "search", {}
            elif button in SUB_PAGES:
                s["page_type"], s["subpage"] = "item_sub", button
            elif s["page_type"] == "search":
                assert button in s["asins"]
                s["page_type"], s["asin"] = "item", button
                s.setdefault("options", {})
            else:
                s["options"][s["option_types"][button]] = button
                said = f"You have clicked {button}."
        url = self.url()
        path = urllib.parse.quote(url[len(self.base) :], safe="/")
        with urllib.request.urlopen(self.base + path, timeout=30) as response:
            html = response.read().decode()
        observation, info = render(html, url, self.state["page_type"])
        self.state.update({k: v for k, v in info.items() if v})
        return said or observation


@pytest.fixture(scope="module")
def site(data_present):
    with BackgroundSite() as site:
        yield site


def test_react_mode_renders_as_reacts_client_byte_for_byte(site):
    env = WebShopEnv(observation_mode="react")
    observation, _ = env.reset(options={"index": 6})
    client = NotebookClient(site.url, "fixed_6")
    assert observation == client.step("reset")
    goal = env.session.goal
    query = "Men's shorts elastic waist"
    script = [f"search[{query}]", "click[Back to Search]", f"search[{query}]", f"click[{goal['asin']}]"]
    script += [f"click[{goal['goal_options']['color']}]", f"click[{goal['goal_options']['size']}]"]
    script += ["click[Description]", "click[< Prev]", "click[Features]", "click[< Prev]", "click[< Prev]"]
    script += ["click[Next >]"]
    steps = []
    for action in script:
        observation, reward, done, _, info = env.step(action)
        assert not info["invalid_action"], action
        steps.append((action, observation))
        assert observation == client.step(action), action
    page_two = client.state["asins"]
    assert page_two and page_two != env.session.results[:10] and page_two == env.session.results[10:20]
    for action in [f"click[{page_two[0]}]", "click[Buy Now]"]:
        observation, reward, done, _, info = env.step(action)
        steps.append((action, observation))
        assert observation == client.step(action), action
    assert done and observation == f"{SCORE}: {reward}" and info["reward_terms"]
    rendered = dict(steps)
    assert f"[[{goal['goal_options']['color']}]]" in steps[7][1] and steps[7][0] == "click[< Prev]"
    assert rendered["click[Next >]"].startswith("\n[Back to Search] \nPage 2 (Total results: 50) \n[< Prev] ")
    assert rendered[f"click[{goal['goal_options']['color']}]"] == f"You have clicked {goal['goal_options']['color']}."


def test_react_mode_answers_thoughts_and_invalid_actions_as_the_notebook(data_present):
    env = WebShopEnv(observation_mode="react")
    first, _ = env.reset(options={"index": 3})
    assert first.startswith("\nWebShop \nInstruction:  \n") and first.endswith(" \n[Search] ")
    observation, reward, done, _, info = env.step("think[I should search first.]")
    assert (observation, reward, done, info["invalid_action"], info["step"]) == ("OK.", 0.0, False, False, 1)
    for action in ["click[Buy Now]", "search[]", "jump[x]"]:
        observation, _, _, _, info = env.step(action)
        assert observation == "Invalid action!" and info["invalid_action"]
    observation, *_ = env.step("search[shoes]")
    assert observation.startswith("\n[Back to Search] \nPage 1 (Total results: ")
    assert "Instruction" not in observation


def test_react_mode_keeps_a_page_that_clean_str_cannot_read(data_present):
    from agentgym.envs.webshop.pages import parse, react_text

    page = parse('<html><body><h4>a</h4><h4>b</h4><p>caf\u00e9 \\x</p><button class="btn">Go</button></body></html>')
    assert react_text(page, "", search_page=False) == "\ncaf\u00e9 \\x \n[Go] "
    page = parse("<html><body><p>caf\u00e9 \u2019</p></body></html>")
    assert react_text(page, "", search_page=True) == "\ncaf\u00e9 \u2019 "
    page = parse("<html><body><p>N\\C Mens Flip Flops \\n</p><p>\\u0041</p></body></html>")
    assert react_text(page, "", search_page=True) == "\nN\\C Mens Flip Flops \n \nA "  # as clean_str decodes


def _as_displayed(action: str) -> str:
    """The oracle's action as ReAct's client needs it: ASINs as the page shows them (upper case)."""
    if action.startswith("click[") and len(action) == 17 and action[6:-1].isalnum() and action[6] == "b":
        return action.upper().replace("CLICK[", "click[")
    return action


@pytest.mark.parametrize("indices", [range(0, 12), pytest.param(range(12, 100), marks=pytest.mark.slow)])
def test_oracle_episodes_render_as_reacts_client(site, indices):
    env = WebShopEnv(observation_mode="react")
    compared = 0
    for index in indices:
        observation, _ = env.reset(options={"split": "test", "index": index})
        client = NotebookClient(site.url, f"oracle_fixed_{index}")  # a session of its own: purchases are final
        assert observation == client.step("reset")
        for _ in range(15):
            action = env.expert_action()
            if action is None or any(c in action for c in "/?#%"):  # not expressible in the client's URLs
                break
            action = _as_displayed(action)
            observation, _, done, _, _ = env.step(action)
            assert observation == client.step(action), (index, action)
            compared += 1
            if done:
                break
    assert compared >= 3 * len(indices)
