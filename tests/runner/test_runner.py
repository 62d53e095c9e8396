import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import agentgym
from agentgym.error import RunConfigMismatch, SettingError
from agentgym.runner import LocalExecutor, evaluate
from agentgym.runner.worker import EnvConfig
from tests.support.agents import WorkerSignaller

ROOT = Path(__file__).resolve().parents[2]


def read_records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]


def test_end_to_end_with_two_workers(tmp_path, shared_data):
    result = evaluate("game24", "expert", "expert", split="test", limit=12, workers=2, out=tmp_path, progress=False)
    assert result.summary["episodes"] == 12 and result.summary["success_rate"] == 1.0
    assert result.summary["mean_steps"] == 4.0 and result.summary["errors"] == 0
    records = read_records(tmp_path)
    assert [r["task_id"] for r in records] != [] and {r["task_id"] for r in records} == set(
        agentgym.envs.game24.puzzles.load_puzzles().task_ids[900:912]
    )
    record = records[0]
    assert {"env_id", "task_id", "won", "score", "steps", "agent", "policy", "timing", "seed"} <= set(record)
    assert set(record["steps"][0]) >= {"observation", "action", "reward"}
    assert record["steps"][0]["observation"] == record["first_observation"]
    assert len({r["worker"] for r in records}) == 2
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["episodes"] == 12 and summary["success_rate"] == 1.0 and summary["mean_score"] == 1.0
    config = json.loads((tmp_path / "run.json").read_text())
    assert config["env_id"] == "agentgym/Game24-v0" and config["num_tasks"] == 12


def test_in_process_and_random_policy(tmp_path):
    result = evaluate("game24", "direct", "random", limit=3, workers=0, max_steps=5, progress=False)
    assert result.summary["episodes"] == 3 and result.summary["mean_steps"] == 5
    assert all(r["truncated"] and r["worker"] == "in-process" for r in result.records)
    assert all("response" in step for step in result.records[0]["steps"])


def test_resume_skips_finished_episodes(tmp_path):
    first = evaluate("game24", split="test", limit=5, workers=1, out=tmp_path, progress=False)
    assert first.summary["episodes"] == 5
    seen = []
    evaluate("game24", split="test", limit=5, workers=1, out=tmp_path, progress=False, on_episode=seen.append)
    assert seen == []  # nothing replayed
    assert len(read_records(tmp_path)) == 5


def test_resume_refuses_another_configuration(tmp_path):
    evaluate("game24", limit=2, workers=0, out=tmp_path, progress=False)
    with pytest.raises(RunConfigMismatch, match="different max_steps"):
        evaluate("game24", limit=2, workers=0, max_steps=3, out=tmp_path, progress=False)
    result = evaluate("game24", limit=2, workers=0, max_steps=3, out=tmp_path, overwrite=True, progress=False)
    assert result.summary["episodes"] == 2 and len(read_records(tmp_path)) == 2


def run_cli(out: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "agentgym.cli", "run", "game24", "--split", "test", "--workers", "2"]
    return subprocess.Popen(
        [*command, "--out", str(out), "--no-progress", *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def test_a_killed_run_resumes_without_replaying(tmp_path, shared_data):
    out = tmp_path / "run"
    process = run_cli(out, "--agent", "tests.support.agents:SlowExpert", "--agent-arg", "delay=0.05")
    episodes = out / "episodes.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not episodes.exists() or episodes.read_text().count("\n") < 10):
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)  # the runner and its workers, mid-run
    process.wait()
    before = episodes.read_text().count("\n")
    assert 10 <= before < 100
    finished = run_cli(out, "--agent", "tests.support.agents:SlowExpert", "--agent-arg", "delay=0.0")
    output = finished.communicate(timeout=300)[0].decode()
    assert finished.returncode == 0, output
    records = read_records(out)
    keys = [(r["task_id"], r["episode"]) for r in records]
    assert len(keys) == len(set(keys)) == 100  # every episode once: none lost, none replayed
    assert all(r["won"] for r in records)
    assert json.loads((out / "summary.json").read_text())["episodes"] == 100


def test_a_crashed_worker_is_restarted_and_its_episode_retried(tmp_path):
    WorkerSignaller.sent = False
    result = evaluate("game24", WorkerSignaller, limit=6, workers=2, out=tmp_path, progress=False)
    assert WorkerSignaller.sent
    assert result.summary["episodes"] == 6 and result.summary["errors"] == 0
    assert result.summary["success_rate"] == 1.0
    assert max(r["attempts"] for r in result.records) == 2
    keys = [(r["task_id"], r["episode"]) for r in read_records(tmp_path)]
    assert len(keys) == len(set(keys)) == 6  # the killed episodes are recorded once, after their retry


def test_a_hung_worker_times_out_and_its_episode_is_retried(tmp_path, monkeypatch):
    WorkerSignaller.sent = False
    monkeypatch.setattr(WorkerSignaller, "signum", signal.SIGSTOP)
    result = evaluate("game24", WorkerSignaller, limit=2, workers=1, timeout_s=2, progress=False)
    assert result.summary["errors"] == 0 and result.summary["success_rate"] == 1.0
    assert max(r["attempts"] for r in result.records) == 2


def test_an_episode_that_keeps_failing_becomes_an_error_record(tmp_path, monkeypatch):
    monkeypatch.setattr(WorkerSignaller, "once", False)
    result = evaluate("game24", WorkerSignaller, limit=1, workers=1, max_retries=1, progress=False, out=tmp_path)
    [record] = result.records
    assert record["error"].startswith("WorkerCrashed: env worker for agentgym/Game24-v0")
    assert record["attempts"] == 2 and "Traceback" in record["traceback"]
    assert result.summary["errors"] == 1 and result.summary["episodes"] == 0
    monkeypatch.setattr(WorkerSignaller, "once", True)  # it signals no more: the resumed run succeeds
    rerun = evaluate("game24", WorkerSignaller, limit=1, workers=1, progress=False, out=tmp_path)
    assert rerun.summary["errors"] == 0 and rerun.summary["episodes"] == 1


def test_bad_env_arguments_fail_fast():
    # the env's own TypeError, as an agentgym SettingError naming the env (the CLI catches agentgym's errors only)
    with pytest.raises(SettingError, match=r"agentgym/Game24-v0 refused its settings: .*no_such_argument"):
        evaluate("game24", limit=1, workers=1, env_kwargs={"no_such_argument": 1}, progress=False)


@pytest.mark.parametrize("setting", [{"recycle_episodes": 2}, {"recycle_memory_mb": 1}])
def test_workers_are_recycled(setting):
    result = evaluate("game24", limit=6, workers=1, progress=False, **setting)
    workers = [r["worker"] for r in result.records]
    expected = 3 if "recycle_episodes" in setting else 6
    assert len(set(workers)) == expected
    assert result.summary["success_rate"] == 1.0


def test_local_executor_validates_workers():
    with pytest.raises(ValueError, match="workers must be >= 1, got 0"):
        LocalExecutor(EnvConfig("agentgym/Game24-v0"), 0)


def test_agent_errors_become_records_or_raise_in_debug_mode():
    from agentgym.agent import Agent

    class Broken(Agent):
        async def act(self, observation, info):
            raise RuntimeError("agent bug")

    result = evaluate("game24", Broken, limit=2, workers=0, progress=False)
    assert [r["error"] for r in result.records] == ["RuntimeError: agent bug"] * 2
    with pytest.raises(RuntimeError, match="agent bug"):
        evaluate("game24", Broken, limit=1, workers=0, progress=False, debug=True)


def test_episode_seeds_are_stable_and_distinct():
    from agentgym.runner import episode_seed

    assert episode_seed(0, "e", "t", 0) == episode_seed(0, "e", "t", 0)
    assert len({episode_seed(0, "e", "t", i) for i in range(100)}) == 100


def test_trials_carry_memory_and_count_cumulative_success(tmp_path):
    from tests.support.agents import LearnsFromMemory

    result = evaluate(
        "game24", LearnsFromMemory, limit=3, trials=3, max_steps=4, workers=1, out=tmp_path, progress=False
    )
    assert result.summary["success_by_trial"] == [0.0, 1.0, 1.0] and result.summary["success_rate"] == 1.0
    assert result.summary["tasks"] == 3 and result.summary["episodes"] == 6  # trial 2 is never played
    first, second = result.records[0], result.records[1]
    assert (first["episode"], first["won"], first["memory"]) == (
        0,
        False,
        f"trial 0 failed on {first['task_id']}",
    )
    assert (second["episode"], second["won"]) == (1, True) and "memory" not in second
    seen = []
    evaluate(
        "game24",
        LearnsFromMemory,
        limit=3,
        trials=3,
        max_steps=4,
        out=tmp_path,
        progress=False,
        on_episode=seen.append,
    )
    assert seen == []  # resumed: nothing left to play


def test_trials_resume_with_the_saved_memory(tmp_path):
    from tests.support.agents import LearnsFromMemory

    evaluate(
        "game24",
        LearnsFromMemory,
        limit=2,
        trials=1,
        max_steps=4,
        workers=0,
        out=tmp_path / "a",
        progress=False,
    )
    records = read_records(tmp_path / "a")
    assert all(not r["won"] and r["memory"] for r in records)
    # a run with trials=2 in a folder holding only trial 0: trial 1 gets trial 0's saved memory
    (tmp_path / "b").mkdir()
    for name in ("run.json", "episodes.jsonl"):  # trials may change on resume
        (tmp_path / "b" / name).write_text((tmp_path / "a" / name).read_text())
    result = evaluate(
        "game24",
        LearnsFromMemory,
        limit=2,
        trials=2,
        max_steps=4,
        workers=0,
        out=tmp_path / "b",
        progress=False,
    )
    assert result.summary["success_by_trial"] == [0.0, 1.0]


def test_trials_and_episodes_per_task_are_exclusive():
    with pytest.raises(ValueError, match="either trials"):
        evaluate("game24", trials=2, episodes_per_task=2, progress=False)


def test_steps_the_agent_answers_are_recorded_and_count_toward_the_cap(shared_data, monkeypatch):
    from tests.support.agents import Thinker

    result = agentgym.evaluate("game24", Thinker, limit=1, max_steps=3, workers=0, progress=False)
    [record] = result.records
    assert record["num_steps"] == 3 and record["truncated"] and not record["won"]
    assert [s["action"] for s in record["steps"]] == ["think: step 1", "think: step 2", "think: step 3"]
    assert all(s["answered_by_agent"] for s in record["steps"]) and record["final_observation"] == "OK."
    assert record["steps"][1]["observation"] == "OK."
    monkeypatch.setattr(Thinker, "stop_after", 2)
    [stopped] = agentgym.evaluate("game24", Thinker, limit=1, max_steps=5, workers=0, progress=False).records
    assert stopped["num_steps"] == 2 and stopped["truncated"] and stopped["steps"][-1]["ended_by_agent"]


def test_lockstep_trials_finish_each_trial_everywhere_before_the_next(tmp_path, shared_data):
    from tests.support.agents import LearnsFromMemory, LearnsInLockstep

    for agent, lockstep in ((LearnsInLockstep, True), (LearnsFromMemory, False)):
        order = []
        result = agentgym.evaluate(
            "game24",
            agent,
            limit=3,
            trials=3,
            max_steps=4,
            workers=0,
            out=tmp_path / agent.name,
            progress=False,
            on_episode=lambda r, order=order: order.append(r["episode"]),
        )
        assert result.summary["success_by_trial"] == [0.0, 1.0, 1.0] and len(order) == 6
        assert (order == sorted(order)) is lockstep
        memories = [r["memory"] for r in result.records if r["episode"] == 0]
        assert all(m.startswith("trial 0 failed") for m in memories)
    resumed = agentgym.evaluate(
        "game24",
        LearnsInLockstep,
        limit=3,
        trials=3,
        max_steps=4,
        workers=0,
        out=tmp_path / "learns-in-lockstep",
        progress=False,
    )
    assert resumed.summary["success_by_trial"] == [0.0, 1.0, 1.0] and len(resumed.records) == 6


def test_the_evaluate_example_of_the_docstring():
    result = evaluate("game24", agent="expert", split="test", limit=3, workers=0, progress=False)
    assert result.summary["success_rate"] == 1.0
