"""ScienceWorld's task lists and splits (no JVM needed, except the manifest check)."""

import json

import gymnasium
import pytest

import agentgym  # noqa: F401
from agentgym import data
from agentgym.envs.sciworld import catalog
from agentgym.error import DataNotFound

pytest.importorskip("scienceworld")

SPLITS = [
    # split, size, first id, last id
    ("all", 7207, "boil-0", "mendelian-genetics-unknown-plant-479"),
    ("train", 3592, "boil-0", "mendelian-genetics-unknown-plant-239"),
    ("dev", 1796, "boil-14", "mendelian-genetics-unknown-plant-359"),
    ("test", 1819, "boil-21", "mendelian-genetics-unknown-plant-479"),
    ("agentgym", 4639, "boil-0", "identify-life-stages-2-9"),
    ("eto_train", 1483, "test-conductivity-412", "melt-6"),
    ("eto_seen", 194, "test-conductivity-of-unknown-substances-418", "chemistry-mix-22"),
    ("eto_unseen", 211, "boil-21", "identify-life-stages-2-9"),
]


@pytest.fixture(scope="module")
def tasks():
    return gymnasium.make("agentgym/ScienceWorld-v0").unwrapped.tasks


@pytest.mark.parametrize(("split", "size", "first", "last"), SPLITS, ids=[s[0] for s in SPLITS])
def test_split_sizes_and_ends(tasks, split, size, first, last, shared_data):
    ids = tasks.split(split)
    assert (len(ids), ids[0], ids[-1]) == (size, first, last)
    assert all(task_id in tasks for task_id in ids)


def test_official_splits_partition_every_task(tasks):
    train, dev, test = (set(tasks.split(s)) for s in ("train", "dev", "test"))
    assert not (train & dev or train & test or dev & test)
    assert train | dev | test == set(tasks.ids)
    assert len(catalog.official_tasks()) == 30 and tasks.default_split == "test"


def test_eto_splits_map_onto_official_splits(tasks, shared_data):
    """The paper's "unseen" set is official test variations, its "seen" set official dev ones (24 tasks)."""
    assert set(tasks.split("eto_unseen")) <= set(tasks.split("test"))
    assert set(tasks.split("eto_seen")) <= set(tasks.split("dev"))
    eto_tasks = {catalog.parse_task_id(t)[0] for t in tasks.split("eto_train")}
    assert eto_tasks == set(catalog.ETO_MAX_STEPS)


def test_eto_step_limits_match_etos_file(shared_data):
    raw = json.loads((shared_data / "sciworld/eto/max_steps.json").read_text())
    assert {catalog.eto_task_name(name): steps for name, steps in raw.items()} == catalog.ETO_MAX_STEPS


def test_agentgym_list_matches_its_item_index(tasks, shared_data):
    index = json.loads((shared_data / "sciworld/agentgym_games_index.json").read_text())
    assert [f"{item['task']}-{item['variation']}" for item in index] == list(tasks.split("agentgym"))
    assert [item["data_idx"] for item in index] == list(range(len(index)))


def test_eto_task_names():
    assert catalog.eto_task_name("task-10-measure-melting-point-(known-substance)") == (
        "measure-melting-point-known-substance"
    )
    assert catalog.eto_task_name("task-2a-test-conductivity") == "test-conductivity"
    assert catalog.eto_task_name("task-9-mendellian-genetics-(known-plant)") == "mendelian-genetics-known-plant"


def test_task_ids_round_trip(tasks):
    for task_id in tasks.ids[::97]:
        name, variation = catalog.parse_task_id(task_id)
        assert catalog.task_id(name, variation) == task_id


def test_eto_splits_without_data_say_how_to_get_them(monkeypatch, tmp_path):
    monkeypatch.setenv(data.DATA_ENV_VAR, str(tmp_path))
    tasks = gymnasium.make("agentgym/ScienceWorld-v0").unwrapped.tasks
    assert "eto_seen" in tasks.splits and len(tasks.split("test")) == 1819
    with pytest.raises(DataNotFound, match="agentgym data download sciworld"):
        tasks.split("eto_seen")


def test_step_limits(monkeypatch):
    eto = gymnasium.make("agentgym/ScienceWorld-v0").unwrapped
    assert eto.max_steps_for("find-animal-225") == 15 and eto.max_steps_for("boil-0") == 100
    assert eto.max_steps_for("mendelian-genetics-known-plant-0") == 200
    assert gymnasium.make("agentgym/ScienceWorld-v0", step_limit=30).unwrapped.max_steps_for("boil-0") == 30
    for bad in (0, -1, True, 2.5, float("nan"), "forever"):
        with pytest.raises(ValueError, match="step_limit must be 'eto', a positive integer or None, got"):
            gymnasium.make("agentgym/ScienceWorld-v0", step_limit=bad)
    for name, bad in (("timeout_s", float("nan")), ("timeout_s", 0), ("jvm_heap_mb", -1), ("jvm_heap_mb", 1.5)):
        with pytest.raises(ValueError, match=f"{name} must be"):
            gymnasium.make("agentgym/ScienceWorld-v0", **{name: bad})
    with pytest.raises(ValueError, match=r"unknown simplification\(s\) \['hard'\]"):
        gymnasium.make("agentgym/ScienceWorld-v0", simplification="openDoors,hard")


def test_protocol_names_what_scores_depend_on(shared_data):
    protocol = gymnasium.make("agentgym/ScienceWorld-v0", step_limit=30).unwrapped.protocol()
    assert protocol["scienceworld"] == "1.2.3" and len(protocol["jar_sha256"]) == 64
    assert (protocol["simplification"], protocol["step_limit"]) == ("easy", 30)
    assert "-XX:hashCode=2" in protocol["jvm_options"]
    assert protocol["data_files"]["sciworld/eto/test_indices.json"] == data.DATASETS["sciworld"].files[2].sha256


@pytest.mark.java
def test_manifest_matches_the_simulator(sim):
    """The bundled official splits are what the installed simulator reports (a sample of tasks)."""
    names = [t.name for t in catalog.official_tasks()]
    assert sorted(sim.task_names()) == sorted(names)  # the simulator lists them alphabetically
    for task in catalog.official_tasks()[::6]:
        sim.load(task.name, 0, "")
        assert sim.split_variations() == (list(task.train), list(task.dev), list(task.test))
        assert sim.max_variations(task.name) == task.variations
