import json
import multiprocessing
import tracemalloc

import pytest

from agentgym.data import find
from agentgym.envs.webshop.store import Catalog, build_store, normalise_product, product_price

PROCESSED = "webshop/items_shuffle_1000.reconstructed_processed.json"
RAW_KEYS = ("name", "full_description", "images", "product_category", "small_description",
            "customization_options", "asin", "category", "query", "page", "average_rating")  # fmt: skip
DERIVED = ("Title", "Description", "BulletPoints", "pricing", "Price", "options", "option_to_image",
           "MainImage", "Attributes", "query", "Reviews", "Rating")  # fmt: skip


def raw_form(product):
    """The official items_shuffle form of a processed product (prices as text, options not yet parsed)."""
    raw = {k: product[k] for k in RAW_KEYS if k in product}
    raw["pricing"] = " - ".join(f"${p}" for p in product["pricing"])
    raw["query"] = product["query"].upper()
    return raw


@pytest.fixture(scope="module")
def official_files(data_present, tmp_path_factory):
    processed = json.loads(find(PROCESSED).read_text())
    folder = tmp_path_factory.mktemp("official")
    products = folder / "items_shuffle_1000.json"
    products.write_text(json.dumps([raw_form(p) for p in processed]))
    return (
        processed,
        products,
        find("webshop/items_ins_v2_1000.json"),
        find("webshop/items_human_ins.1k_subset.json"),
    )


def test_raw_products_normalise_as_the_original(official_files):
    processed, _, attributes_file, _ = official_files
    attributes = json.loads(attributes_file.read_text())
    for product in processed:
        mine = normalise_product(raw_form(product), attributes.get(product["asin"]), None)
        assert {k: mine[k] for k in DERIVED} == {k: product[k] for k in DERIVED}, product["asin"]


def test_store_from_official_files_gives_the_same_goals(official_files, catalog, tmp_path):
    _, products, attributes, human = official_files
    path = build_store(products, attributes, human, target_dir=tmp_path)
    store = Catalog(path)
    assert len(store) == 1000
    assert store.goals("synthetic") == catalog.goals("synthetic")
    assert store.goals("human") == catalog.goals("human")
    assert list(store.documents()) == list(catalog.documents())
    assert build_store(products, attributes, human, target_dir=tmp_path) == path  # reused, not rebuilt
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".part"] == []
    store.close()


def test_num_products_and_invalid_asins(official_files, tmp_path):
    processed, _, attributes, _ = official_files
    items = [raw_form(p) for p in processed[:30]]
    items[3]["asin"] = "nan"
    items[4]["asin"] = "B0TOOLONGASIN"
    items[5] = dict(items[6])  # a duplicate ASIN keeps its first copy
    path = tmp_path / "items.json"
    path.write_text(json.dumps(items))
    store = Catalog(build_store(path, attributes, num_products=20, target_dir=tmp_path))
    assert len(store) == 17
    assert store.get("B0TOOLONGASIN") is None and store.get(items[6]["asin"]) is not None


def test_prices_inside_ranges_are_drawn_once_per_asin(catalog):
    ranged = [p for p in catalog.products() if len(p["pricing"]) == 2]
    assert len(ranged) == 93
    for product in ranged:
        low, high = sorted(product["pricing"])  # three products list the higher price first
        assert low <= product_price(product) <= high
        assert product_price(product) == product_price(dict(product))


def _build(args):
    products, attributes, target = args
    return str(build_store(products, attributes, target_dir=target))


def test_concurrent_builds_agree(official_files, tmp_path):
    _, products, attributes, _ = official_files
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        paths = pool.map(_build, [(products, attributes, tmp_path)] * 2)
    assert paths[0] == paths[1]
    assert len(Catalog(paths[0])) == 1000


@pytest.mark.slow
def test_large_catalog_streams_into_the_store(official_files, tmp_path):
    processed, _, attributes, _ = official_files
    raws = [raw_form(p) for p in processed]
    path = tmp_path / "items_shuffle.json"
    count = 40_000
    with path.open("w") as f:
        f.write("[")
        for i in range(count):
            f.write(("," if i else "") + json.dumps({**raws[i % 1000], "asin": f"Z{i:09d}"}))
        f.write("]")
    size = path.stat().st_size
    tracemalloc.start()
    store = Catalog(build_store(path, attributes, target_dir=tmp_path))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(store) == count
    assert peak < size / 8, (peak, size)


def test_store_records_its_version(catalog):
    from agentgym.envs.webshop.store import STORE_VERSION

    assert catalog.meta("version") == STORE_VERSION
    assert catalog.meta("no such key") is None
