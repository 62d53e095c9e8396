import itertools
import json
import random
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


def agentgym_reference() -> list[dict]:
    """AgentGym's synthetic goals rebuilt from its ``goal.py`` and ``engine.py`` rules and the data files.

    Products in file order (duplicate, ``nan`` and over-long ASINs skipped), those with an instruction make
    goals; ``random.seed(233)`` once, then per product ``sorted(random.sample(thresholds, 2))[1]`` over the
    first four of 10, 20, ..., 990 above the price (no draw with fewer than two); then ``random.seed(233);
    random.shuffle``. A product priced as a range gets a uniform draw in AgentGym (unseeded), so its bound is
    given as the interval it can take: ``(lowest, highest)``.
    """
    products = json.loads(find("webshop/items_shuffle_1000.reconstructed_processed.json").read_text())
    instructions = json.loads(find("webshop/items_ins_v2_1000.json").read_text())
    rng = random.Random()
    rng.seed(233)
    goals, seen = [], set()
    for product in products:
        asin = product["asin"]
        if asin == "nan" or len(asin) > 10 or asin in seen:
            continue
        seen.add(asin)
        instruction = instructions[asin].get("instruction")
        if instruction is None:
            continue
        pricing = product["pricing"][:2] or [100.0]  # a range is drawn by random.uniform(first, second)
        above_low = [10.0 * i for i in range(1, 100) if 10.0 * i > min(pricing)][:4]
        above_high = [10.0 * i for i in range(1, 100) if 10.0 * i > max(pricing)][:4]
        assert len(above_low) == len(above_high)  # the draw consumes the same random numbers at any price
        if len(above_low) >= 2:
            position = sorted(rng.sample(range(len(above_low)), 2))[1]
            bounds = (above_low[position], above_high[position])
        else:
            bounds = (1_000_000, 1_000_000)
        names = sorted(product["options"])
        for values in itertools.product(*(product["options"][n] for n in names)):
            option_text = ", and ".join(f"{n}: {v}" for n, v in zip(names, values, strict=True))
            text = instruction + (f" with {option_text}" if option_text else "")
            goals.append({"asin": asin, "text": text, "bounds": bounds})
    shuffler = random.Random()
    shuffler.seed(233)
    shuffler.shuffle(goals)
    return goals


def test_agentgym_goals_equal_agentgyms_draw_at_every_index(catalog, data_present):
    from agentgym.envs.webshop.task import goal_list

    reference = agentgym_reference()
    goals = goal_list("1k", "agentgym")
    assert len(goals) == len(reference) == 6910
    fixed = 0
    for goal, ref in zip(goals, reference, strict=True):
        low, high = ref["bounds"]
        assert goal["asin"] == ref["asin"]
        assert low <= goal["price_upper"] <= high
        if goal["price_upper"] == 1_000_000:
            assert goal["instruction_text"] == ref["text"]
        else:
            assert goal["instruction_text"] == f"{ref['text']}, and price lower than {goal['price_upper']:.2f} dollars"
        fixed += low == high
    assert fixed == 6910 - 2114  # AgentGym's own bound varies for the goals of 35 products priced as a range


def test_agentgym_test_split_plays_agentgyms_goals(data_present):
    from agentgym.envs.webshop.env import WebShopEnv

    reference = agentgym_reference()
    synthetic, agentgym = WebShopEnv(), WebShopEnv(goals="agentgym")
    assert synthetic.tasks.split("agentgym_test") == [f"agentgym_{i}" for i in range(200)]
    assert agentgym.tasks.split("agentgym_test") == synthetic.tasks.split("agentgym_test")
    assert len(synthetic.tasks.ids) == 6910 + 200 and len(agentgym.tasks.ids) == 6910
    for index in (0, 6, 199):
        _, info = synthetic.reset(options={"split": "agentgym_test", "index": index})
        assert info["task_id"] == f"agentgym_{index}" and info["task"].startswith(reference[index]["text"])
        _, info = agentgym.reset(options={"split": "test", "index": index})
        assert info["task"] == synthetic.goal(f"agentgym_{index}")["instruction_text"]
