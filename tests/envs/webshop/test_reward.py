import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentgym.envs.webshop import score_purchase
from agentgym.envs.webshop.reward import (
    attribute_matches,
    normalize_color,
    option_matches,
    reward_terms,
    type_reward,
)
from agentgym.envs.webshop.store import product_price

SNEAKER = "Mens D.O.N. Issue 2 Gca Basketball Sneakers Shoes Casual - Off White"
CORD_GOAL = "Saireed UL Listed 2 Prong Power Cord for JBL Bar 3.1 Bar 2.1 Channel 4K Ultra HD Soundbar"
CORD_BOUGHT = (
    "BRST AC Power Cord Outlet Socket Cable Plug Lead for Panasonic SC-HT830V DVD/VCR Combo Home Theater System"
)


def _goal(**changes):
    goal = {
        "query": "query 1",
        "product_category": "a › b › c",
        "name": SNEAKER,
        "attributes": ["tea tree", "essential oils", "natural ingredients"],
        "goal_options": {"color": "grey", "size": "XL"},
        "price_upper": 40.0,
    }
    return {**goal, **changes}


def _product(**changes):
    product = {
        "query": "query 1",
        "product_category": "a › b › c",
        "name": SNEAKER,
        "Attributes": ["tea tree", "essential oil", "natural ingredients"],
        "Title": "",
        "BulletPoints": [],
        "Description": "",
    }
    return {**product, **changes}


def test_pinned_totals_of_the_original_tests():
    options = {"color": "grey", "size": "XL"}
    reward, terms = reward_terms(_product(), _goal(), 35, options)
    assert reward == 1
    assert terms["r_type"] == 1 and terms["r_att"] == 1 and terms["r_option"] == 1 and terms["r_price"]

    # Attributes only partly satisfied: one of three found (in the description), 2/3 overall.
    partly = _product(
        Attributes=[],
        BulletPoints="This shampoo has essential oils and smells like lemons",
        Description="Best shampoo on the market, made with natural ingredients",
    )
    reward, terms = reward_terms(partly, _goal(), 35, options)
    assert math.isclose(reward, 2 / 3)
    assert math.isclose(terms["r_att"], 1 / 3)

    three = _goal(goal_options={"color": "grey", "size": "XL", "amount": "pack of 12"})
    reward, terms = reward_terms(partly, three, 35, options)
    assert math.isclose(reward, 4 / 7) and round(reward, 4) == 0.5714
    assert math.isclose(terms["r_option"], 2 / 3)

    weak = _goal(goal_options=three["goal_options"], name=CORD_GOAL)
    bought = {**partly, "name": CORD_BOUGHT, "query": "query 2", "product_category": "a › d › e"}
    reward, terms = reward_terms(bought, weak, 35, options)
    assert terms["r_type"] == 0.5
    assert round(reward, 4) == 0.2857


def test_type_reward_rules():
    same = type_reward(_product(), _goal())
    assert same == {"r_type": 1.0, "query_match": True, "category_match": True, "title_score": 1.0}
    assert type_reward(_product(product_category="b › c › a"), _goal())["category_match"]
    assert not type_reward(_product(product_category="a › a › d"), _goal())["category_match"]
    unrelated = type_reward(
        _product(name="Minkissy 2pcs Stainless Steel Eyebrow Tweezers"),
        _goal(name="Rusticware 921ORB Kitchen and Bath Cabinet Knob"),
    )
    assert unrelated["title_score"] == 0 and unrelated["r_type"] == 0.0


def test_attribute_and_option_matching():
    assert attribute_matches(_product(), ["tea tree", "essential oils", "natural ingredients"]) == 3
    tea = _product(Attributes=["tea bag", "earl gray"], Title="English tea for breakfast", Description="Lipton")
    assert attribute_matches(tea, ["tea tree", "essential oils"]) == 0
    assert option_matches(["pack of 12", "grey", "XL"], ["grey", "XL", "pack of 12"]) == 3
    assert option_matches(["pack of 12", "blue", "XL"], ["grey", "XL", "pack of 12"]) == 2
    assert option_matches(["pack of 12", "powder snow", "XL"], ["cool powder snow", "XL", "pack of 12"]) == 3
    assert option_matches([], ["a"]) == 0
    # Synthetic goals compare (name, value) pairs: the value alone matches.
    assert option_matches(["navy blue"], [("color", "navy blue")]) == 1
    assert option_matches(["x-large"], [("size", "x-large")]) == 1


def test_normalize_color():
    assert normalize_color("black forest") == "black"
    assert normalize_color("light blue") == "blue"
    assert normalize_color("violet lavender") == "lavender"
    assert normalize_color("webshop") == "webshop"
    assert normalize_color(("color", "navy")) == "navy"
    assert normalize_color(("color", "navy blue")) == ("color", "navy blue")


def test_buying_the_target_scores_one_unless_colour_normalisation_breaks_an_option(catalog):
    # The original normalises a bought value to the first colour word it contains ("rectangular" -> "tan",
    # "r.brown2070" -> "brown") but not the goal's (name, value) pair, so those goals cannot reach 1.
    unreachable = []
    for i, goal in enumerate(catalog.goals("synthetic")[:500]):
        product = catalog.get(goal["asin"])
        options = goal["goal_options"]
        reward, terms = score_purchase(goal, goal["asin"], options, product_price(product), catalog=catalog)
        assert terms["r_type"] == 1 and terms["r_att"] == 1 and terms["r_price"]
        if reward < 1:
            assert any(normalize_color(v) != v for v in options.values())
            unreachable.append(i)
    assert len(unreachable) == 20


def test_score_purchase_accepts_instruction_options_and_rejects_unknown_products(catalog):
    goal = dict(catalog.goals("human")[0])
    goal["instruction_options"] = goal.pop("goal_options")
    reward, terms = score_purchase(goal, goal["asin"], {}, 1.0, catalog=catalog)
    assert 0 <= reward <= 1 and "r_type" in terms
    with pytest.raises(KeyError, match="not in the catalog"):
        score_purchase(goal, "B000000000", {}, 1.0, catalog=catalog)


@pytest.fixture(scope="module")
def goals_and_asins(catalog):
    return catalog.goals("synthetic"), [asin for asin, _ in catalog.documents()]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    goal_index=st.integers(0, 6909),
    asin_index=st.integers(0, 999),
    price=st.floats(0, 2000, allow_nan=False),
    option_values=st.lists(st.text(max_size=12), max_size=3),
)
def test_reward_is_a_bounded_consistent_sum(catalog, goals_and_asins, goal_index, asin_index, price, option_values):
    goals, asins = goals_and_asins
    goal, asin = goals[goal_index], asins[asin_index]
    options = {f"o{i}": v for i, v in enumerate(option_values)}
    reward, terms = score_purchase(goal, asin, options, price, catalog=catalog)
    assert 0.0 <= reward <= 1.0
    weighted = terms["r_att"] * terms["w_att"] + terms.get("r_option", 0) * terms.get("w_option", 0)
    weighted += terms["r_price"] * terms["w_price"]
    assert math.isclose(reward, terms["r_type"] * weighted, abs_tol=1e-9)
    assert terms["r_price"] == (price <= goal["price_upper"])


def test_score_purchase_uses_the_default_catalog(catalog):
    goal = catalog.goals("synthetic")[6]
    product = catalog.get(goal["asin"])
    assert score_purchase(goal, goal["asin"].lower(), goal["goal_options"], product_price(product))[0] == 1.0
    reward, terms = score_purchase(goal, goal["asin"], {}, 10_000)
    assert not terms["r_price"] and terms["r_option"] == 0 and reward == pytest.approx(4 / 7)


def test_title_scores_of_en_core_web_sm_3_8():
    # The original's test pairs; with spaCy 3.8 and en_core_web_sm 3.8.0 the overlaps are 0.312 and 0.167
    # (the original asserts 0.31 and 0.17 within 0.01, values set with an older model).
    bought = _product(name=CORD_BOUGHT)
    longer = _goal(name=CORD_GOAL + " Home Theater System Subwoofer")
    assert round(type_reward(bought, longer)["title_score"], 3) == 0.312
    assert round(type_reward(bought, _goal(name=CORD_GOAL))["title_score"], 3) == 0.167
