"""The install maps the top-level folders under ``agentgym.`` and lists every subpackage."""

import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAPPED = {
    "agentgym": "agentgym",
    "agentgym.envs": "envs",
    "agentgym.wrappers": "wrappers",
    "agentgym.baselines": "baselines",
}


def setup_cfg() -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return config


def test_top_level_folders_install_under_agentgym():
    package_dir = dict(line.split(" = ") for line in setup_cfg()["options"]["package_dir"].strip().splitlines())
    assert {k.strip(): v.strip() for k, v in package_dir.items()} == MAPPED


def test_every_subpackage_is_listed():
    listed = set(setup_cfg()["options"]["packages"].split())
    found = set()
    for name, folder in MAPPED.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder)
            found.add(".".join([name, *relative.parts]))
    assert found == listed
