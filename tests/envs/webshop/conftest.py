"""Shared fixtures for the WebShop tests: the 1k catalog from AGENTGYM_DATA, built once per session."""

from __future__ import annotations

import pytest

pytest.importorskip("thefuzz")
pytest.importorskip("nltk")
pytest.importorskip("spacy")

from agentgym.data import find


@pytest.fixture(scope="session")
def data_present() -> None:
    if find("webshop/items_ins_v2_1000.json") is None:
        pytest.skip("the WebShop data is not under AGENTGYM_DATA")


@pytest.fixture(scope="session")
def catalog(data_present):
    from agentgym.envs.webshop.data import load_catalog

    return load_catalog("1k")


@pytest.fixture(scope="session")
def index(catalog):
    from agentgym.envs.webshop.task import shop_resources

    return shop_resources("1k")[1]


@pytest.fixture
def env(data_present):
    from agentgym.envs.webshop.env import WebShopEnv

    env = WebShopEnv()
    yield env
    env.close()
