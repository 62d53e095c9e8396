"""Planning a run: the output folder is checked before the agent prepares the run (which may take long)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import pytest

from agentgym.agent import ExpertAgent
from agentgym.error import NotARunFolder, RunConfigMismatch, RunLocked
from agentgym.runner import evaluate
from agentgym.runner.folder import FolderLock


class CountsPreparations(ExpertAgent):
    """The expert, counting how often its class prepared a run (a baseline builds demonstrations there)."""

    name = "counts-preparations"
    prepared: ClassVar[int] = 0

    @classmethod
    def factory(cls, policy, setup, **settings):
        CountsPreparations.prepared += 1
        return super().factory(policy, setup, **settings)


@pytest.fixture(autouse=True)
def _count_from_zero():
    CountsPreparations.prepared = 0


def run(out: Path, **settings):
    return evaluate("game24", CountsPreparations, limit=2, workers=0, out=out, progress=False, **settings)


def test_a_run_of_another_configuration_is_refused_before_the_agent_prepares(tmp_path):
    evaluate("game24", limit=2, workers=0, out=tmp_path, progress=False, seed=0)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(RunConfigMismatch, match="different agent, seed"):
        run(tmp_path, seed=1)
    with pytest.raises(RunConfigMismatch, match="different agent;"):
        run(tmp_path, seed=0)
    assert CountsPreparations.prepared == 0
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_folder_in_use_is_refused_before_the_agent_prepares(tmp_path):
    lock = FolderLock(tmp_path)
    try:
        with pytest.raises(RunLocked, match="in use by a run in process"):
            run(tmp_path)
    finally:
        lock.release()
    assert CountsPreparations.prepared == 0


def test_a_folder_that_holds_no_run_is_refused_before_the_agent_prepares(tmp_path):
    (tmp_path / "episodes.jsonl").write_text("{}\n")
    with pytest.raises(NotARunFolder, match=r"no run\.json"):
        run(tmp_path)
    assert CountsPreparations.prepared == 0


def test_the_same_run_resumes_and_the_agent_prepares_once_per_run(tmp_path):
    first = run(tmp_path)
    second = run(tmp_path)
    assert CountsPreparations.prepared == 2
    assert second.records == first.records
    assert json.loads((tmp_path / "run.json").read_text())["agent"] == {"name": "counts-preparations"}
