"""Where the WebShop files are: the 1k-product setting or the full 1.18M-product one, under the data root.

Looked for in ``<data root>/webshop/`` under the official names (``items_shuffle_1000.json``,
``items_ins_v2_1000.json``, ``items_human_ins.json``; ``items_shuffle.json`` and ``items_ins_v2.json`` for the
full catalog) and under the names of the project's test copies (the 1k catalog in processed form,
``items_shuffle_1000.reconstructed_processed.json``, and ``items_human_ins.1k_subset.json``).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from agentgym.data import data_root, find
from agentgym.envs.webshop.store import Catalog, build_store
from agentgym.error import DataNotFound

CATALOGS = ("1k", "full")
_PRODUCTS = {
    "1k": ("items_shuffle_1000.json", "items_shuffle_1000.reconstructed_processed.json"),
    "full": ("items_shuffle.json",),
}
_ATTRIBUTES = {"1k": ("items_ins_v2_1000.json",), "full": ("items_ins_v2.json",)}
_HUMAN = ("items_human_ins.json", "items_human_ins.1k_subset.json")
_ETO_LISTS = {
    "eto_test": "eto_webshop_test_indices.json",
    "eto_test_500": "eto_webshop_test_indices_500.json",
    "eto_train": "eto_webshop_train_indices.json",
}


def _first(names: tuple[str, ...]) -> Path | None:
    for name in names:
        path = find(f"webshop/{name}")
        if path is not None:
            return path
    return None


def catalog_files(catalog: str = "1k") -> tuple[Path, Path, Path | None]:
    """Return ``(products, attributes, human instructions or None)`` for ``catalog`` ("1k" or "full").

    Raises:
        DataNotFound: naming the missing file and the download command.
    """
    if catalog not in CATALOGS:
        raise ValueError(f"catalog must be one of {CATALOGS}, got {catalog!r}")
    products, attributes = _first(_PRODUCTS[catalog]), _first(_ATTRIBUTES[catalog])
    if products is None or attributes is None:
        missing = _PRODUCTS[catalog][0] if products is None else _ATTRIBUTES[catalog][0]
        dataset = "webshop" if catalog == "1k" else "webshop-full"
        raise DataNotFound(
            f"webshop/{missing} was not found under {data_root()}: run `agentgym data download {dataset}` (WebShop's "
            f"setup.sh files; `--from PATH` installs copies fetched by hand), or set AGENTGYM_DATA to a folder that "
            "has them"
        )
    return products, attributes, _first(_HUMAN)


@lru_cache(maxsize=4)
def load_catalog(catalog: str = "1k") -> Catalog:
    """Return the store of ``catalog``, building it on first use (cached on disk across processes)."""
    products, attributes, human = catalog_files(catalog)
    return Catalog(build_store(products, attributes, human))


def default_catalog() -> Catalog:
    """Return the full catalog when its files are present, else the 1k one."""
    try:
        catalog_files("full")
    except DataNotFound:
        return load_catalog("1k")
    return load_catalog("full")


def eto_lists() -> dict[str, list[int]]:
    """Return ETO's goal-index lists that are present under the data root (human goals, full catalog)."""
    lists = {}
    for name, filename in _ETO_LISTS.items():
        path = find(f"webshop/{filename}")
        if path is not None:
            lists[name] = [int(i) for i in json.loads(path.read_text())]
    return lists
