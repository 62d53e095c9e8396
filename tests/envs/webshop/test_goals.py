import json
import re

from agentgym.data import find
from agentgym.envs.webshop.goals import PRICE_THRESHOLDS, price_bound, splits
from agentgym.envs.webshop.store import product_price

PRICE_CLAUSE = re.compile(r", and price lower than (\d+\.\d\d) dollars$")


def test_synthetic_goals_count_and_order_match_the_original(catalog):
    goals = catalog.goals("synthetic")
    reference = json.loads(find("webshop/synthetic_goals_1k.order_no_price.json").read_text())
    assert len(goals) == 6910
    for goal, ref in zip(goals, reference, strict=True):
        assert goal["asin"] == ref["asin"]
        assert PRICE_CLAUSE.sub("", goal["instruction_text"]) == ref["text"]


def test_goal_6_is_agentgyms_example(catalog):
    goal = catalog.goals("synthetic")[6]
    assert goal["instruction_text"].startswith(
        "Find me men's shorts with elastic waist, classic fit, short sleeve for gym workout "
        "with color: navy, and size: x-large"
    )
    assert goal["goal_options"] == {"color": "navy", "size": "x-large"}


def test_price_bounds_follow_the_original_rule_and_repeat(catalog):
    for goal in catalog.goals("synthetic")[:500]:
        product = catalog.get(goal["asin"])
        price = product_price(product)
        above = [t for t in PRICE_THRESHOLDS if t > price][:4]
        match = PRICE_CLAUSE.search(goal["instruction_text"])
        if len(above) < 2:
            assert goal["price_upper"] == 1_000_000 and match is None
            continue
        assert goal["price_upper"] in above[1:]
        assert float(match.group(1)) == goal["price_upper"]
        assert price_bound(product) == price_bound(product)
        assert price <= goal["price_upper"]


def test_human_goals_where_products_are_present(catalog):
    goals = catalog.goals("human")
    assert 0 < len(goals) <= 13
    for goal in goals:
        assert goal["asin"] in catalog
        assert isinstance(goal["goal_options"], list)
        assert goal["attributes"]


def test_splits():
    synthetic = splits(6910, "synthetic", {"eto_test": [5, 7000]})
    assert synthetic["test"] == list(range(500))
    assert synthetic["train"] == list(range(500, 6910))
    assert synthetic["agentgym_test"] == list(range(200))
    assert "eto_test" not in synthetic
    human = splits(12087, "human", {"eto_test": [5, 11000]})
    assert human["dev"] == list(range(500, 1500))
    assert human["train"][0] == 1500
    assert human["eto_test"] == [5, 11000]
    assert "eto_test" not in splits(13, "human", {"eto_test": [5, 11000]})
