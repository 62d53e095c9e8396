"""Typed episode records: byte-compatible with the records runs wrote before them, and read without side effects.

``data/records-0.1.0.jsonl`` holds records of every shape the runner wrote before records were typed (agentgym
0.1.0, commit 7a0a83c): the runs of :data:`RUNS` below on two Game of 24 tasks, one after the other, with each
error record's traceback replaced by a generic one (it named local files). ``data/wrapper-0.1.0.jsonl`` is what
:class:`~agentgym.wrappers.RecordTrajectory` wrote then (an invalid step, then the expert's).
"""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium
import pytest

import agentgym
from agentgym.runner.records import EpisodeRecord, StepRecord, read_episodes
from agentgym.runner.store import EpisodeStore
from agentgym.wrappers import RecordTrajectory
from tests.support import agents

DATA = Path(__file__).parent / "data"
TASKS = ["1 1 4 6", "1 1 11 11"]
#: (name, settings): successful, with responses and usage, multi-trial with memory, agent-answered and final
#: steps, errored, a failed reflection, non-ASCII text and a lone surrogate, several episodes per task.
RUNS = [
    ("expert", {"agent": "expert", "policy": "expert", "workers": 1}),
    ("direct-random", {"agent": "direct", "policy": "random"}),
    ("memory", {"agent": "tests.support.agents:LearnsFromMemory", "trials": 2}),
    ("thinker", {"agent": "tests.support.agents:Thinker", "max_steps": 3}),
    ("final", {"agent": "tests.support.agents:Thinker"}),
    ("broken", {"agent": "tests.support.agents:BrokenAtSecondStep"}),
    ("reflection", {"agent": "tests.support.agents:ReflectionFails", "trials": 2}),
    ("unicode", {"agent": "tests.support.agents:WritesUnicode"}),
    ("multi", {"agent": "expert", "episodes_per_task": 2}),
]


def old_lines(name: str) -> list[bytes]:
    return (DATA / name).read_bytes().splitlines(keepends=True)


def test_every_old_record_is_read_and_written_back_byte_for_byte(tmp_path):
    old = old_lines("records-0.1.0.jsonl")
    store = EpisodeStore(tmp_path)
    store.open({"env_id": "agentgym/Game24-v0"})
    try:
        for line in old:
            store.add(EpisodeRecord.from_json(json.loads(line)).to_json())
    finally:
        store.close()
    assert (tmp_path / "episodes.jsonl").read_bytes().splitlines(keepends=True) == old
    records = [json.loads(line) for line in old]
    shapes = {tuple(r) for r in records}
    assert len(shapes) == 4  # played, errored, with memory, with a failed reflection
    step_shapes = {tuple(step) for r in records for step in r["steps"]}
    assert len(step_shapes) == 5  # plain, with the response (and usage), answered by the agent (and final)


def test_the_old_wrapper_records_are_read_and_written_back_byte_for_byte():
    for line in old_lines("wrapper-0.1.0.jsonl"):
        written = json.dumps(EpisodeRecord.from_json(json.loads(line)).to_json(), ensure_ascii=False) + "\n"
        assert written.encode() == line


def test_the_runner_writes_the_records_it_wrote_before(tmp_path):
    old = [json.loads(line) for line in old_lines("records-0.1.0.jsonl")]
    new: list[dict] = []
    for name, settings in RUNS:
        agents.Thinker.stop_after = 2 if name == "final" else None
        try:
            settings = {"workers": 0, **settings}
            agentgym.evaluate("game24", task_ids=TASKS, out=tmp_path / name, progress=False, **settings)
        finally:
            agents.Thinker.stop_after = None
        new += [json.loads(line) for line in (tmp_path / name / "episodes.jsonl").read_bytes().splitlines()]
    assert len(new) == len(old)
    for before, now in zip(old, new, strict=True):
        # What differs from run to run: the times, the worker's process id, the traceback's file names.
        for key in ("timing", "worker", "traceback"):
            if key in now:
                now[key] = before[key]
        assert json.dumps(now, ensure_ascii=False) == json.dumps(before, ensure_ascii=False)


def test_steps_are_typed_and_keep_unknown_keys():
    data = {
        "observation": "o",
        "action": "a",
        "reward": 0,
        "score": 0.5,
        "usage": [{"prompt_tokens": 3}],
        "answered_by_agent": True,
        "judge": "later writer",
    }
    step = StepRecord.from_json(data)
    assert step.reward == 0 and step.usage == [{"prompt_tokens": 3}] and step.extra == {"judge": "later writer"}
    assert list(step.to_json().items()) == list(data.items())
    assert StepRecord("o", "a", response=None, usage=[]).to_json() == {
        "observation": "o",
        "action": "a",
        "reward": 0.0,
        "score": 0.0,
    }


def test_a_record_built_step_by_step():
    record = EpisodeRecord.begin("start", task_id="t", task="do it", env_id="e", episode=0, seed=7)
    record.add("go", "there", 1.0, False, False, {"score": 0.5})
    record.add("stop", "end", 0.5, True, False, {"score": 1.0, "won": True})
    data = record.to_json()
    assert [s["observation"] for s in data["steps"]] == ["start", "there"] and data["final_observation"] == "end"
    assert (data["won"], data["score"], data["return"], data["num_steps"]) == (True, 1.0, 1.5, 2)
    assert "error" not in data and "attempts" not in data  # not a run's record: no run fields
    assert EpisodeRecord.from_json(data) == record


def test_an_error_record_names_the_error_and_its_traceback():
    try:
        raise ValueError("boom")
    except ValueError as e:
        data = EpisodeRecord.failed(e, task_id="t", episode=1, attempts=3).to_json()
    assert list(data) == [
        "task_id",
        "episode",
        "won",
        "score",
        "return",
        "num_steps",
        "steps",
        "attempts",
        "error",
        "traceback",
    ]
    assert data["error"] == "ValueError: boom" and "raise ValueError" in data["traceback"]


def test_the_records_reader_changes_nothing(tmp_path):
    path = tmp_path / "episodes.jsonl"
    whole = old_lines("records-0.1.0.jsonl")[0]
    content = whole + b"not json\n" + whole[:40]  # a bad line, then a torn last line
    path.write_bytes(content)
    log = read_episodes(path)
    assert len(log.records) == 1 and log.bad_lines[0][0] == 2 and log.tail == len(whole) + 9
    assert path.read_bytes() == content


@pytest.mark.parametrize("task_id", ["4 5 6 10"])
def test_the_wrapper_records_what_the_runner_records(task_id):
    env = RecordTrajectory(gymnasium.make("agentgym/Game24-v0"))
    env.reset(options={"task_id": task_id})
    terminated = False
    while not terminated:
        *_, terminated, _, _ = env.step(env.unwrapped.expert_action())
    (record,) = env.episodes
    assert EpisodeRecord.from_json(record).to_json() == record and record["won"]
