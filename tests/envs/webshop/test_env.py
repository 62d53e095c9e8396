import json
import re
import time

import gymnasium
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given
from hypothesis import strategies as st

import agentgym  # noqa: F401
from agentgym.envs.webshop import pages
from agentgym.envs.webshop.actions import parse_action
from agentgym.envs.webshop.env import WebShopEnv

ORIGINAL_ACTION_RE = re.compile(r"(.+)\[(.+)\]")


@given(st.text(alphabet="ab[]\n c", max_size=30))
def test_parse_action_equals_the_original_regex(action):
    match = ORIGINAL_ACTION_RE.match(action)
    expected = (action, None) if match is None else match.groups()
    assert parse_action(action) == expected


def test_parse_action_is_linear_on_hostile_input():
    start = time.perf_counter()
    assert parse_action("[" * 200_000)[1] is None
    assert parse_action("search[" + "[a" * 100_000)[1] is None
    assert time.perf_counter() - start < 1


def test_pages_and_observations(env):
    obs, info = env.reset(options={"split": "test", "index": 6})
    instruction = info["task"]
    assert obs == f"WebShop [SEP] Instruction: [SEP] {instruction} [SEP] Search"
    assert info["available_actions"] == {"has_search_bar": True, "clickables": ["search"]}

    obs, *_, info = env.step("search[Men's Shorts Elastic Waist]")
    assert obs.startswith(f"Instruction: [SEP] {instruction} [SEP] Back to Search [SEP] ")
    assert "[SEP] Back to Search [SEP] Page 1 (Total results: 50) [SEP] Next > [SEP] B" in obs
    clickables = info["available_actions"]["clickables"]
    assert clickables[:2] == ["back to search", "next >"] and len(clickables) == 12
    assert all(re.fullmatch(r"[0-9a-z]{10}", c) for c in clickables[2:])

    obs, *_, info = env.step("click[next >]")
    assert "Page 2 (Total results: 50) [SEP] < Prev [SEP] Next >" in obs
    obs, *_, info = env.step("click[next >]")
    obs, *_, info = env.step("click[< prev]")
    assert "Page 2 (Total results: 50)" in obs

    asin = info["available_actions"]["clickables"][3]
    obs, *_, info = env.step(f"click[{asin}]")
    assert "[SEP] Back to Search [SEP] < Prev [SEP]" in obs
    assert obs.endswith("[SEP] Rating: N.A. [SEP] Description [SEP] Features [SEP] Reviews [SEP] Buy Now")
    assert info["available_actions"]["clickables"][:6] == [
        "back to search", "< prev", "description", "features", "reviews", "buy now",
    ]  # fmt: skip
    obs, *_ = env.step("click[features]")
    assert obs.startswith(f"Instruction: [SEP] {instruction} [SEP] Back to Search [SEP] < Prev [SEP] ")
    obs, *_, info = env.step("click[< prev]")
    assert "buy now" in info["available_actions"]["clickables"]
    obs, *_, info = env.step("click[back to search]")
    assert obs == f"WebShop [SEP] Instruction: [SEP] {instruction} [SEP] Search"


def test_invalid_actions_change_nothing_and_count(env):
    obs, _ = env.reset(options={"index": 3})
    for action in [
        "",
        "click[search]",
        "click[buy now]",
        "search[]",
        "Search[x]",
        "x" * 100_000,
        "é😀[中文]",
    ]:
        new_obs, reward, term, _, info = env.step(action)
        assert new_obs == obs and reward == 0 and not term and info["invalid_action"]
    assert info["step"] == 7


def test_search_from_any_page_and_hostile_queries():
    env = WebShopEnv(observation_mode="html")
    env.reset(options={"index": 0})
    html, *_ = env.step('search[<script>alert("x")</script> <img src=x onerror=alert(1)> ../../etc/passwd]')
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "Total results:" in html
    env.step("search[" + "shoe " * 5000 + "]")
    *_, info = env.step("search[red dress]")
    assert not info["invalid_action"]


def test_text_rich_marks_buttons_options_and_visited_links(data_present):
    env = WebShopEnv(observation_mode="text_rich")
    env.reset(options={"index": 6})
    obs, *_ = env.step("search[men's shorts with elastic waist]")
    assert "[button] Back to Search [button_]" in obs and "\n[button] B" in obs
    target = env.session.goal["asin"]
    assert target in env.session.results[:10]
    obs, *_ = env.step(f"click[{target.lower()}]")
    obs, *_ = env.step("click[navy]")
    assert obs.startswith("You have clicked navy.\n")
    assert "  [clicked button] navy [clicked button_]" in obs
    obs, *_ = env.step("click[< prev]")
    assert f"\n[clicked button] {target} [clicked button_]" in obs


def _play_oracle(env, index):
    _, info = env.reset(options={"split": "test", "index": index})
    for _ in range(15):
        action = env.unwrapped.expert_action()
        if action is None:
            break
        *_, term, _, info = env.step(action)
        if term:
            break
    return info


UNREACHABLE_IN_FIRST_60 = {20, 28}  # colour normalisation of bought option values (see test_reward)


def test_oracle_wins_the_reachable_test_goals(env):
    for index in range(60):
        info = _play_oracle(env, index)
        expected = index not in UNREACHABLE_IN_FIRST_60
        assert info["won"] == expected, (index, info.get("reward_terms"))
        assert info["reward_terms"]["r_type"] == 1.0


@pytest.mark.slow
def test_oracle_on_every_test_goal(env):
    lost = [i for i in range(500) if not _play_oracle(env, i)["won"]]
    assert len(lost) == 20


def test_reward_and_score_at_purchase_then_no_more_actions(env):
    info = _play_oracle(env, 6)
    assert info["score"] == 1.0 and info["won"] and info["asin"] == env.session.goal["asin"]
    assert set(info["reward_terms"]) >= {
        "r_type",
        "r_att",
        "r_option",
        "r_price",
        "w_att",
        "w_option",
        "w_price",
    }
    _, reward, term, _, info = env.step("search[anything]")
    assert info["invalid_action"] and reward == 0 and term


# The original text env renders its done page with only the purchase and the score (code, purchased attributes,
# target, goal and reward details left as None or empty): its template's visible texts in order.
ORIGINAL_TEXT_ENV_DONE = (
    "Thank you for shopping with us! [SEP] Your code: [SEP] None [SEP] (Paste it in your MTurk interface.) [SEP] "
    "Purchased [SEP] asin [SEP] {asin} [SEP] options [SEP] {options} [SEP] attrs [SEP] None [SEP] category [SEP] "
    "None [SEP] query [SEP] None [SEP] product category [SEP] None [SEP] Target [SEP] asin [SEP] options [SEP] "
    "attrs [SEP] price upper [SEP] instuction text [SEP] category [SEP] product category [SEP] query [SEP] Goal "
    "[SEP] None [SEP] Reward [SEP] Your score (min 0.0, max 1.0) [SEP] {reward} [SEP] Reward Details [SEP] None"
)


def test_done_page_is_the_original_text_envs(env):
    info = _play_oracle(env, 6)
    options = json.dumps(info["options"], sort_keys=True)
    expected = ORIGINAL_TEXT_ENV_DONE.format(asin=info["asin"], options=options, reward=info["score"])
    assert pages.simple_text(env.session.parsed) == expected
    assert info["reward_terms"]["r_type"] == 1.0


@pytest.mark.parametrize("mode", ["text", "text_rich", "html", "react"])
def test_the_last_observation_does_not_show_the_answer(data_present, mode):
    env = WebShopEnv(observation_mode=mode)
    env.reset(options={"index": 6})
    goal = env.session.goal
    env.step("search[men's shorts elastic waist]")
    wrong = next(a for a in env.session.results if a != goal["asin"])
    env.step(f"click[{wrong.lower()}]")
    obs, reward, term, _, info = env.step("click[Buy Now]")
    assert term and info["asin"] == wrong and set(info["reward_terms"]) >= {"r_type", "r_att", "r_price"}
    leaks = [goal["asin"], goal["instruction_text"], "price lower than", *goal["goal_options"].values()]
    leaks += [str(goal["price_upper"]), *goal["attributes"]]
    assert [text for text in leaks if text.lower() in obs.lower()] == []


def test_registered_env_passes_check_env(data_present):
    env = gymnasium.make("agentgym/WebShop-v0", max_episode_steps=10)
    check_env(env.unwrapped, skip_render_check=True)
    assert env.spec.max_episode_steps == 10
    env.close()


def test_oracle_wins_the_human_goals_of_the_1k_catalog(data_present):
    env = WebShopEnv(goals="human")
    assert set(env.tasks.splits) == {"test", "dev", "train"}
    for index in range(len(env.tasks.ids)):
        info = _play_oracle(env, index)
        assert info["won"], info["task_id"]


def test_a_query_is_read_up_to_max_query_characters(data_present):
    """The html page carries the query in its links: the cut keeps it bounded (text observations never show it)."""
    from agentgym.envs.webshop.session import MAX_QUERY

    env = WebShopEnv(observation_mode="html")
    cut = "shoe" + " shoe" * 199 + "s"  # exactly MAX_QUERY characters, ending inside a word
    assert len(cut) == MAX_QUERY
    pages = []
    for query in (cut, cut + "hoe" * 100_000):
        env.reset(seed=0)
        observation, *_ = env.step(f"search[{query}]")
        pages.append(observation)
    assert pages[0] == pages[1] and "shoe" in pages[0] and len(pages[1]) < 50_000
    env.close()
