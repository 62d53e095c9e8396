import numpy as np
import pytest

from agentgym.error import TaskNotFound
from agentgym.tasks import TaskSet, task_list_hash

TASKS = TaskSet(ids=("a", "b", "c", "d"), splits={"test": ("c", "d"), "train": ("a", "b")}, default_split="test")


def rng(seed=0):
    return np.random.default_rng(seed)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"task_id": "b"}, "b"),
        ({"split": "train", "index": 1}, "b"),
        ({"split": "test", "index": -1}, "d"),
        ({"index": 2}, "c"),
        ({"split": "all", "index": 0}, "a"),
    ],
)
def test_resolve_options(options, expected):
    assert TASKS.resolve(options, rng()) == expected


def test_seed_only_draws_from_default_split_deterministically():
    drawn = [TASKS.resolve(None, rng(s)) for s in range(20)]
    assert set(drawn) <= {"c", "d"} and len(set(drawn)) == 2
    assert drawn == [TASKS.resolve({}, rng(s)) for s in range(20)]
    assert {TASKS.resolve({"split": "train"}, rng(s)) for s in range(20)} == {"a", "b"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"task_id": "bb"}, "unknown task_id 'bb'; did you mean ['b']?"),
        ({"split": "dev", "index": 0}, "unknown split 'dev'; this env has ['test', 'train', 'all']"),
        ({"split": "test", "index": 2}, "index 2 is out of range for split 'test' (2 tasks)"),
        ({"index": 9}, "index 9 is out of range for the full task list (4 tasks)"),
        ({"index": "1"}, "reset option 'index' must be an int, got '1'"),
        ({"index": True}, "reset option 'index' must be an int, got True"),
    ],
)
def test_resolve_errors(options, message):
    with pytest.raises(TaskNotFound) as excinfo:
        TASKS.resolve(options, rng())
    assert str(excinfo.value) == message


def test_default_split_must_exist():
    with pytest.raises(ValueError, match="default_split 'dev' is not one of"):
        TaskSet(ids=("a",), splits={"test": ("a",)}, default_split="dev")


def test_task_list_hash_is_order_sensitive():
    assert task_list_hash(["a", "b"]) == task_list_hash(("a", "b"))
    assert task_list_hash(["a", "b"]) != task_list_hash(["b", "a"])
