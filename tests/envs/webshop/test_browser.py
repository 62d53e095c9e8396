import pytest

pytest.importorskip("selenium")
pytest.importorskip("flask")

from agentgym.envs.webshop.browser import WebShopBrowserEnv, find_browser, url_state
from agentgym.envs.webshop.env import WebShopEnv
from agentgym.error import DependencyNotInstalled

try:
    find_browser()
    HAVE_CHROMIUM = True
except DependencyNotInstalled:
    HAVE_CHROMIUM = False

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAVE_CHROMIUM, reason="Chromium and chromedriver are not installed"),
]


@pytest.fixture(scope="module")
def browser_env(data_present):
    env = WebShopBrowserEnv()
    yield env
    env.close()


def _play(env, index, actions=None):
    observations = []
    obs, info = env.reset(options={"split": "test", "index": index})
    observations.append(obs)
    for step in range(15 if actions is None else len(actions)):
        action = actions[step] if actions is not None else env.unwrapped.expert_action()
        if action is None:
            break
        obs, _, term, _, info = env.step(action)
        observations.append(obs)
        if term:
            break
    return observations, info


def test_oracle_episode_in_the_browser_matches_the_text_env(browser_env):
    text_env = WebShopEnv()
    for index in (6, 20):  # 20: the reward is below 1 (colour normalisation); both envs must agree
        text_obs, text_info = _play(text_env, index)
        browser_obs, browser_info = _play(browser_env, index)
        assert browser_obs[:-1] == text_obs[:-1]  # every page but the done page (its code names the session)
        assert browser_info["score"] == text_info["score"]
        assert browser_info["won"] == text_info["won"] == (index == 6)
        assert browser_info["reward_terms"] == pytest.approx(text_info["reward_terms"])
        assert browser_info["asin"] == text_info["asin"]
        assert browser_info["options"] == text_info["options"]


def test_navigation_and_invalid_actions_match_the_text_env(browser_env):
    actions = [
        "click[buy now]",
        "search[<script>alert(1)</script> women's shoes]",
        "click[next >]",
        "click[< prev]",
        "x" * 5000,
        "click[back to search]",
        "search[red dress]",
    ]
    text_obs, _ = _play(WebShopEnv(), 3, actions)
    browser_obs, info = _play(browser_env, 3, actions)
    assert browser_obs == text_obs
    assert info["available_actions"]["clickables"][:2] == ["back to search", "next >"]


def test_search_from_a_page_without_search_bar(browser_env):
    browser_env.reset(options={"index": 1})
    browser_env.step("search[shoes]")
    obs, *_, info = browser_env.step("search[dress]")
    assert not info["invalid_action"] and "[SEP] Back to Search [SEP] Page 1 (Total results: " in obs
    assert "Dress" in obs


def test_url_state():
    state = url_state("http://127.0.0.1:1/item_page/s_fixed_1/B0ABC/%5B'a',%20'b%2Fc'%5D/2/%7B'color':%20'red'%7D")
    assert state == {
        "page_name": "item_page",
        "keywords": ["a", "b/c"],
        "page": 2,
        "asin": "B0ABC",
        "options": {"color": "red"},
    }
    assert url_state("http://127.0.0.1:1/abc")["page_name"] == "index"


def test_protocol_card_matches_the_text_env(data_present):
    card = WebShopBrowserEnv(site_url="http://127.0.0.1:3000/").protocol()
    text_card = WebShopEnv().protocol()
    assert card["data_files"] == text_card["data_files"] and card["data_files"]
    assert (card["site"], card["observation_mode"], card["goals"]) == ("http://127.0.0.1:3000", "text", "synthetic")
    assert WebShopBrowserEnv().protocol()["site"] == "own"
    with pytest.raises(ValueError, match="observation_mode"):
        WebShopBrowserEnv(observation_mode="text_rich")


def test_agentgym_test_split_in_the_browser_shows_agentgyms_goal(browser_env):
    from agentgym.envs.webshop.task import goal_list

    agentgym, synthetic = goal_list("1k", "agentgym"), goal_list("1k", "synthetic")
    index = next(i for i in range(200) if agentgym[i]["price_upper"] != synthetic[i]["price_upper"])
    obs, info = browser_env.reset(options={"split": "agentgym_test", "index": index})
    assert info["task_id"] == f"agentgym_{index}" and info["task"] == agentgym[index]["instruction_text"]
    assert obs == f"WebShop [SEP] Instruction: [SEP] {agentgym[index]['instruction_text']} [SEP] Search"


def test_close_leaves_no_browser_files_behind(data_present):
    """Chromium's profile and its TMPDIR files live in the env's own folder, removed at close."""
    import tempfile
    from pathlib import Path

    def folders():
        temp = Path(tempfile.gettempdir())
        return set(temp.glob("org.chromium.Chromium.*")), set(temp.glob("agentgym-chromium-*"))

    chromium_before, ours_before = folders()
    env = WebShopBrowserEnv()
    try:
        env.reset(options={"split": "test", "index": 0})
        ours = folders()[1] - ours_before
        assert len(ours) == 1 and (ours.pop() / "profile").is_dir()
    finally:
        env.close()
    chromium_after, ours_after = folders()
    assert chromium_after <= chromium_before and ours_after <= ours_before
