"""WebShop goals (the original's synthetic and human goal generation, in its order) and the split lists.

Synthetic goals: one per product with a synthetic instruction (``items_ins_v2``) and per combination of that
product's option values (option names sorted), the text ``"<instruction> with name: value, and ...,
and price lower than X.00 dollars"``. Human goals: one per crowd-sourced instruction whose
``instruction_attributes`` is non-empty. Both lists are then shuffled with ``random.seed(233)`` as the
original does, so goal ``i`` here is goal ``i`` of the original (6,910 synthetic goals on the 1k catalog).

Price bound (deterministic here): the original takes the first four thresholds of ``10, 20, ..., 990``
above the product's price and, with an unseeded ``random.sample(thresholds, 2)``, keeps the larger of two,
i.e. the 2nd, 3rd or 4th threshold with probability 1/6, 2/6, 3/6 (no bound, ``1e6``, when fewer than two
thresholds remain). Here the same draw is made from a generator seeded by the product's ASIN
(:func:`agentgym.envs.webshop.store.asin_rng`; a human goal's seed also names its instruction), so every
run and every process gives a goal index the same
bound, with the original's distribution.

AgentGym's goals (:func:`agentgym_goals`): AgentGym's fork seeds the generator (``random.seed(233)``)
before the bounds are drawn, so its goal ``i`` always has the same bound; here the same draw is replayed.
"""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from agentgym.envs.webshop.store import asin_rng, product_price

PRICE_THRESHOLDS = [10.0 * i for i in range(1, 100)]
NO_PRICE_BOUND = 1_000_000
SHUFFLE_SEED = 233
AGENTGYM_BOUND_SEED = 233


def price_bound(
    product: dict[str, Any], draw: str = "price_upper", rng: random.Random | None = None
) -> tuple[float, str]:
    """Return ``(price_upper, price text)`` for a goal on ``product``.

    The draw uses ``rng`` when given (AgentGym's goals share one generator), else a generator seeded with
    ``(asin, draw)``; no draw is made when fewer than two thresholds lie above the price.
    """
    price = product_price(product)
    above = [t for t in PRICE_THRESHOLDS if t > price][:4]
    if len(above) < 2:
        return NO_PRICE_BOUND, ""
    upper = max((rng or asin_rng(product["asin"], draw)).sample(above, 2))
    return upper, f", and price lower than {upper:.2f} dollars"


def _target_fields(product: dict[str, Any]) -> dict[str, Any]:
    return {
        "asin": product["asin"],
        "category": product.get("category", ""),
        "query": product.get("query", ""),
        "name": product["Title"],
        "product_category": product.get("product_category", ""),
    }


def synthetic_goals(products: Iterable[dict[str, Any]], rng: random.Random | None = None) -> list[dict[str, Any]]:
    """Return the synthetic goals of ``products`` (catalog order), shuffled as the original.

    Price bounds are drawn per product from ``rng`` in catalog order when it is given, else from a
    generator seeded by the product (see the module docstring).
    """
    goals: list[dict[str, Any]] = []
    attribute_counts: dict[str, int] = defaultdict(int)
    for product in products:
        instruction = product.get("instruction_text")
        if not instruction:
            continue
        attributes = product["instruction_attributes"]
        upper, price_text = price_bound(product, rng=rng)
        names = sorted(product["options"])
        for combination in itertools.product(*(product["options"][n] for n in names)):
            goal_options = dict(zip(names, combination, strict=True))
            option_text = ", and ".join(f"{k}: {v}" for k, v in goal_options.items())
            option_text = f" with {option_text}" if option_text else ""
            goals.append(
                {
                    **_target_fields(product),
                    "instruction_text": f"{instruction}{option_text}{price_text}",
                    "attributes": attributes,
                    "price_upper": upper,
                    "goal_options": goal_options,
                }
            )
            for attribute in attributes:
                attribute_counts[attribute] += 1
    for goal in goals:
        goal["weight"] = sum(1.0 / attribute_counts[a] for a in goal["attributes"]) / len(goal["attributes"])
    random.Random(SHUFFLE_SEED).shuffle(goals)
    return goals


def agentgym_goals(products: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return AgentGym's synthetic goals: the same goals, in the same order, with AgentGym's price bounds.

    AgentGym's WebShop (``agentenv-webshop``, its ``web_agent_site/engine/goal.py``) calls
    ``random.seed(233)`` before generating the synthetic goals, so the bounds come from one generator drawn
    once per product with an instruction (and at least two thresholds), in catalog order.
    """
    return synthetic_goals(products, rng=random.Random(AGENTGYM_BOUND_SEED))


def human_goals(products: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the human goals of ``products`` (those with human instructions), shuffled as the original."""
    goals = []
    for product in products:
        for j, entry in enumerate(product.get("instructions") or []):
            attributes = entry.get("instruction_attributes") or []
            if not attributes:
                continue
            upper, price_text = price_bound(product, f"price_upper:human:{j}")
            goals.append(
                {
                    **_target_fields(product),
                    "instruction_text": entry["instruction"].strip(".") + price_text,
                    "attributes": attributes,
                    "price_upper": upper,
                    "goal_options": list(entry.get("instruction_options") or []),
                    "weight": 1,
                }
            )
    random.Random(SHUFFLE_SEED).shuffle(goals)
    return goals


def splits(num_goals: int, kind: str, eto_lists: dict[str, list[int]]) -> dict[str, list[int]]:
    """Return split name -> goal indices.

    ``test`` is goals 0-499 and ``train`` the rest (WebShop's baselines for human goals, verl-agent for
    synthetic goals); human goals also get WebShop's ``dev`` (500-1499, ``train`` then starts at 1500) and,
    when every index exists (the full catalog), ETO's lists. ``agentgym_test`` is goals 0-199, the
    AgentGym evaluation range on synthetic goals.
    """
    test_end = min(500, num_goals)
    result = {"test": list(range(test_end))}
    if kind == "human":
        dev_end = min(1500, num_goals)
        result["dev"] = list(range(test_end, dev_end))
        result["train"] = list(range(dev_end, num_goals))
        for name, indices in eto_lists.items():
            if indices and max(indices) < num_goals:
                result[name] = list(indices)
    else:
        result["train"] = list(range(test_end, num_goals))
        result["agentgym_test"] = list(range(min(200, num_goals)))
    return result
