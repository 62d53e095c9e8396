"""The product catalog: official WebShop files normalised once into an on-disk SQLite store.

The official files are ``items_shuffle_1000.json`` / ``items_shuffle.json`` (scraped products, a JSON list),
``items_ins_v2_1000.json`` / ``items_ins_v2.json`` (per ASIN: hidden attributes, and for some products the
synthetic instruction) and ``items_human_ins.json`` (per ASIN: the crowd-sourced instructions). The product
file is read as a stream (``ijson`` when installed, so the 5.2 GB full catalog never sits in memory), each
product is normalised the way the original ``load_products`` does, and the result lands in a SQLite file
under :func:`agentgym.data.cache_dir` named after the sha256 of the source files. The file is written under a
temporary name and moved into place while a lock file is held, so concurrent worker processes build it
once and never see a half-written one.

The original draws the price of a product with a price range (``$a - $b``) with an unseeded
``random.uniform``; here it is drawn from a generator seeded by the ASIN (:func:`asin_rng`), so a product has
the same price on every run.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from agentgym.data import cache_dir
from agentgym.files import atomic_write

#: Bumped whenever the stored layout or the normalisation changes (old stores are then rebuilt).
STORE_VERSION = "4"

# Raw keys the original drops before use (seller and bookkeeping fields).
_DROPPED_KEYS = (
    "product_information",
    "brand",
    "brand_url",
    "list_price",
    "availability_quantity",
    "availability_status",
    "total_reviews",
    "total_answered_questions",
    "seller_id",
    "seller_name",
    "fulfilled_by_amazon",
    "fast_track_message",
    "aplus_present",
    "small_description_old",
)


def asin_rng(asin: str, purpose: str) -> random.Random:
    """Return a generator seeded by ``(asin, purpose)``: the documented replacement for unseeded draws."""
    digest = hashlib.sha256(f"{purpose}:{asin}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _parse_pricing(raw: Any) -> list[float]:
    """Return the price list of a raw ``pricing`` field (``"$a"``, ``"$a - $b"``, or already a list)."""
    if isinstance(raw, list):
        return [float(p) for p in raw][:2] or [100.0]
    if not raw:
        return [100.0]
    prices = []
    for part in str(raw).split("$")[1:]:
        try:
            prices.append(float(Decimal(re.sub(r"[^\d.]", "", part))))
        except InvalidOperation:
            continue
    return prices[:2] or [100.0]


def _price_tag(pricing: list[float]) -> str:
    return f"${pricing[0]}" if len(pricing) == 1 else f"${pricing[0]} to ${pricing[1]}"


def _options(customization: Any) -> tuple[dict[str, list[str]], dict[str, str | None]]:
    """Return (option name -> values, value -> image) the way the original lower-cases and cleans them."""
    options: dict[str, list[str]] = {}
    option_to_image: dict[str, str | None] = {}
    if not isinstance(customization, dict):
        return options, option_to_image
    for name, contents in customization.items():
        if contents is None:
            continue
        values = []
        for content in contents:
            value = str(content["value"]).strip().replace("/", " | ").lower()
            values.append(value)
            option_to_image[value] = content.get("image")
        options[name.lower()] = values
    return options, option_to_image


def normalise_product(
    raw: dict[str, Any], ins: dict[str, Any] | None, human: list[dict[str, Any]] | None
) -> dict[str, Any]:
    """Return a product in the processed form the original engine uses.

    Args:
        raw: one entry of the product file (raw scraped form, or the already-processed form).
        ins: the product's ``items_ins_v2`` entry (attributes, synthetic instruction), if any.
        human: the product's human instructions (``items_human_ins``), if any.
    """
    product = {k: v for k, v in raw.items() if k not in _DROPPED_KEYS}
    product["query"] = str(product.get("query", "")).lower().strip()
    product["Title"] = product.get("name", "")
    product["Description"] = product.get("full_description") or ""
    small = product.get("small_description")
    product["BulletPoints"] = small if isinstance(small, list) else [small if small is not None else ""]
    product["Reviews"] = []
    product["Rating"] = "N.A."
    pricing = _parse_pricing(product.get("pricing"))
    product["pricing"] = pricing
    product["Price"] = _price_tag(pricing)
    if "options" not in raw or "Title" not in raw:
        product["options"], product["option_to_image"] = _options(product.get("customization_options"))
    images = product.get("images") or [None]
    product["MainImage"] = images[0] if isinstance(images, list) else images
    ins = ins or {}
    product["Attributes"] = ins.get("attributes", ["DUMMY_ATTR"])  # an empty list stays empty
    product["instruction_text"] = ins.get("instruction")
    product["instruction_attributes"] = ins.get("instruction_attributes")
    if human:
        product["instructions"] = human
    for key in ("customization_options", "images", "full_description", "small_description"):
        product.pop(key, None)
    return product


def product_price(product: dict[str, Any]) -> float:
    """Return the price a purchase of ``product`` costs (a seeded draw inside a price range)."""
    pricing = product["pricing"]
    if len(pricing) == 1:
        return float(pricing[0])
    return asin_rng(product["asin"], "price").uniform(pricing[0], pricing[1])


def iter_json_object(path: Path) -> Iterator[tuple[str, Any]]:
    """Yield the ``(key, value)`` pairs of a JSON object file, streaming with ijson when it is installed."""
    try:
        import ijson
    except ImportError:
        yield from json.loads(path.read_text()).items()
        return
    with path.open("rb") as f:
        yield from ijson.kvitems(f, "", use_float=True)


def iter_json_list(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the items of a JSON list file, streaming with ijson when it is installed."""
    try:
        import ijson
    except ImportError:
        with path.open() as f:
            yield from json.load(f)
        return
    with path.open("rb") as f:
        yield from ijson.items(f, "item", use_float=True)


def file_sha256(path: Path) -> str:
    """Return the sha256 of ``path``, memoised by (path, size, mtime) so a 5 GB file is hashed once."""
    stat = path.stat()
    memo_path = cache_dir("webshop") / "sha256-memo.json"
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    if key in memo:
        return memo[key]
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            digest.update(chunk)
    memo[key] = digest.hexdigest()
    atomic_write(memo_path, json.dumps(memo))
    return memo[key]


@contextmanager
def build_lock(target: Path) -> Iterator[None]:
    """Hold an exclusive lock beside ``target`` while it is built, so concurrent workers build it once.

    Where ``fcntl`` is missing (Windows) this does not lock; the atomic rename still keeps builds safe.
    """
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(f"{target}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Catalog:
    """Read-only access to a built product store.

    Products are decoded on demand (with a small LRU cache), so a 1.18M-product store costs little memory.

    Args:
        path: the SQLite file :func:`build_store` wrote.
    """

    def __init__(self, path: Path) -> None:
        """Open the store read-only."""
        self.path = Path(path)
        self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
        self.get = lru_cache(maxsize=4096)(self._get)

    def _get(self, asin: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT data FROM products WHERE asin = ?", (asin,)).fetchone()
        return json.loads(row[0]) if row else None

    def __len__(self) -> int:
        """Return the number of products."""
        return self._db.execute("SELECT COUNT(*) FROM products").fetchone()[0]

    def __contains__(self, asin: object) -> bool:
        """Return whether ``asin`` is in the catalog."""
        return isinstance(asin, str) and self.get(asin) is not None

    def products(self) -> Iterator[dict[str, Any]]:
        """Yield every product in catalog order."""
        for (data,) in self._db.execute("SELECT data FROM products ORDER BY idx"):
            yield json.loads(data)

    def documents(self) -> Iterator[tuple[str, str]]:
        """Yield ``(asin, search text)`` for every product in catalog order."""
        yield from self._db.execute("SELECT asin, contents FROM products ORDER BY idx")

    def goals(self, kind: str) -> list[dict[str, Any]]:
        """Return the stored goals of ``kind`` (``"synthetic"`` or ``"human"``) in the original's order."""
        rows = self._db.execute("SELECT data FROM goals WHERE kind = ? ORDER BY idx", (kind,))
        return [json.loads(data) for (data,) in rows]

    def meta(self, key: str) -> str | None:
        """Return a value recorded at build time (``source_sha256``, ``version``)."""
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()


def search_contents(product: dict[str, Any]) -> str:
    """Return the text the search index holds for a product (the original's document recipe)."""
    option_text = ", and ".join(f"{name}: {', '.join(values)}" for name, values in product["options"].items())
    bullets = product["BulletPoints"]
    first_bullet = bullets[0] if bullets else ""
    return " ".join([product["Title"], product["Description"], str(first_bullet), option_text]).lower()


def build_store(
    products_file: Path,
    attributes_file: Path,
    human_file: Path | None = None,
    *,
    num_products: int | None = None,
    target_dir: Path | None = None,
) -> Path:
    """Build (or reuse) the SQLite store for a set of official files and return its path.

    Args:
        products_file: ``items_shuffle*.json``.
        attributes_file: ``items_ins_v2*.json``.
        human_file: ``items_human_ins.json`` (or its 1k subset); human goals need it.
        num_products: keep only the first ``num_products`` products, as the original's ``num_products``.
        target_dir: where stores live (default: ``cache_dir("webshop")``).
    """
    sources = [products_file, attributes_file] + ([human_file] if human_file else [])
    key = hashlib.sha256(
        "|".join([STORE_VERSION, str(num_products)] + [file_sha256(Path(p)) for p in sources]).encode()
    ).hexdigest()[:24]
    target_dir = Path(target_dir) if target_dir else cache_dir("webshop")
    target = target_dir / f"catalog-{key}.sqlite"
    if target.exists():
        return target
    with build_lock(target):
        if not target.exists():
            _build(target, products_file, attributes_file, human_file, num_products, key)
    return target


def _build(
    target: Path, products_file: Path, attributes_file: Path, human_file: Path | None, num_products: int | None,
    key: str,
) -> None:  # fmt: skip
    """Write the store for :func:`build_store` under a temporary name, then move it into place."""
    from agentgym.envs.webshop.goals import human_goals, synthetic_goals

    target_dir = target.parent
    human = json.loads(Path(human_file).read_text()) if human_file else {}
    fd, tmp_name = tempfile.mkstemp(dir=target_dir, suffix=".sqlite.part")
    os.close(fd)
    try:
        db = sqlite3.connect(tmp_name)
        db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA temp_store=FILE;"
            "CREATE TABLE products (idx INTEGER PRIMARY KEY, asin TEXT UNIQUE NOT NULL,"
            " data TEXT NOT NULL, contents TEXT NOT NULL);"
            "CREATE TABLE goals (kind TEXT NOT NULL, idx INTEGER NOT NULL, data TEXT NOT NULL,"
            " PRIMARY KEY (kind, idx));"
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "CREATE TEMP TABLE ins (asin TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID;"
        )
        # The full attribute file has an entry per product: staged in a table, not held in memory.
        db.executemany(
            "INSERT OR REPLACE INTO ins VALUES (?, ?)",
            ((asin, json.dumps(entry)) for asin, entry in iter_json_object(Path(attributes_file))),
        )
        attributes = _StagedAttributes(db)
        kept: list[dict[str, Any]] = []
        _insert_products(db, _select(iter_json_list(Path(products_file)), num_products), attributes, human, kept)
        for kind, goals in (("synthetic", synthetic_goals(kept)), ("human", human_goals(kept))):
            db.executemany(
                "INSERT INTO goals VALUES (?, ?, ?)", ((kind, i, json.dumps(g)) for i, g in enumerate(goals))
            )
        db.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [("version", STORE_VERSION), ("key", key), ("products_file", str(products_file))],
        )
        db.commit()
        db.close()
        os.replace(tmp_name, target)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)


class _StagedAttributes:
    """``items_ins_v2`` entries looked up by ASIN in the build's staging table."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def get(self, asin: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT data FROM ins WHERE asin = ?", (asin,)).fetchone()
        return json.loads(row[0]) if row else None


def _select(items: Iterable[dict[str, Any]], num_products: int | None) -> Iterator[dict[str, Any]]:
    """Yield the valid, first-seen products among the first ``num_products`` entries."""
    seen: set[str] = set()
    for i, raw in enumerate(items):
        if num_products is not None and i >= num_products:
            break
        asin = str(raw.get("asin", "nan"))
        if asin == "nan" or len(asin) > 10 or asin in seen:
            continue
        seen.add(asin)
        yield raw


def _insert_products(
    db: sqlite3.Connection,
    raws: Iterable[dict[str, Any]],
    attributes: _StagedAttributes,
    human: dict[str, Any],
    kept: list[dict[str, Any]],
) -> None:
    """Normalise and insert products; keep the goal-relevant fields of those that can carry a goal."""
    batch = []
    for idx, raw in enumerate(raws):
        asin = raw["asin"]
        product = normalise_product(raw, attributes.get(asin), human.get(asin))
        batch.append((idx, asin, json.dumps(product), search_contents(product)))
        if product.get("instruction_text") or product.get("instructions"):
            kept.append(product)
        if len(batch) >= 1000:
            db.executemany("INSERT INTO products VALUES (?, ?, ?, ?)", batch)
            batch.clear()
    db.executemany("INSERT INTO products VALUES (?, ?, ?, ?)", batch)
