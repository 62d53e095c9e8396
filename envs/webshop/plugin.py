"""WebShop as an agentgym plugin: its two env ids, its data, its packages and ``agentgym serve webshop``.

Import-light: declarations only (the site and its command load when the command line starts).
"""

from __future__ import annotations

from functools import partial

from agentgym.data import Dataset, drive_file, record_digests
from agentgym.plugins import Command, Plugin
from agentgym.registry import EnvEntry

# WebShop's files as its setup.sh fetches them (princeton-nlp/WebShop). Only items_ins_v2_1000.json has a known
# digest; the others are recorded in webshop/SHA256SUMS at their first download and must match it afterwards.
_HUMAN_GOALS = drive_file("14Kb5SPBk_jfdLZ_CDBNitW98QLDlKR5O", "webshop/items_human_ins.json")
_CATALOG_1K = (
    drive_file("1EgHdxQ_YxqIQlvvq5iKlCrkEKR6-j0Ib", "webshop/items_shuffle_1000.json"),
    drive_file(
        "1IduG0xl544V_A_jv3tHXC0kyFi7PnyBu",
        "webshop/items_ins_v2_1000.json",
        sha256="f88a36314a397b53b3d9c3fa5878e5f7b26d35019a51ec83fbedeca61a948f6f",
        size=147_099,
    ),
    _HUMAN_GOALS,
)
_CATALOG_FULL = (
    drive_file("1A2whVgOO0euk5O13n2iYDM0bQRkkRduB", "webshop/items_shuffle.json"),
    drive_file("1s2j6NgHljiZzQNL3veZaAiyW_qDEgBNi", "webshop/items_ins_v2.json"),
    _HUMAN_GOALS,
)

PLUGIN = Plugin(
    name="webshop",
    envs=(
        EnvEntry("agentgym/WebShop-v0", "agentgym.envs.webshop.env:WebShopEnv", 15, "webshop", extra="webshop"),
        # 1024 MB: the Python process with Chromium and chromedriver, reserved per Ray actor.
        EnvEntry(
            "agentgym/WebShopBrowser-v0",
            "agentgym.envs.webshop.browser:WebShopBrowserEnv",
            15,
            "webshop-browser",
            extra="webshop",
            worker_episodes=200,
            worker_memory_mb=1024,
        ),
    ),
    datasets=(
        Dataset(
            name="webshop",
            description="WebShop's 1,000-product setting (products, attributes and synthetic instructions, human "
            "instructions), from the Google Drive files of its setup.sh.",
            files=_CATALOG_1K,
            unpack=partial(record_digests, _CATALOG_1K),
            extra="webshop",
        ),
        Dataset(
            name="webshop-full",
            description="WebShop's full 1.18M-product catalog (about 5 GB) with its attributes and the human "
            "instructions, from the Google Drive files of its setup.sh.",
            files=_CATALOG_FULL,
            unpack=partial(record_digests, _CATALOG_FULL),
            extra="webshop",
        ),
    ),
    packages=("spacy", "bm25s"),
    commands=(Command("webshop", "agentgym.envs.webshop.cli:serve_webshop", group="serve"),),
)
