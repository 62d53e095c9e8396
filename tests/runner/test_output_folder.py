"""A run's output folder: one run at a time, read before written, corrupt lines replayed, exit codes."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentgym.agent import AgentStep, ExpertAgent
from agentgym.cli import app
from agentgym.error import RunLocked
from agentgym.runner import evaluate
from agentgym.runner.folder import FolderLock
from agentgym.runner.records import read_episodes
from agentgym.runner.store import EpisodeStore

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "1000"}


class AlwaysFails(ExpertAgent):
    """Raises at its first step: every episode ends in an error record."""

    async def act(self, observation, info) -> AgentStep:
        raise RuntimeError("no move\nsecond line of the error")


class FailsOnEvenTasks(ExpertAgent):
    """Raises on tasks whose id ends in an even digit (some of Game of 24's puzzles)."""

    async def act(self, observation, info) -> AgentStep:
        if self.context.task_id[-1] in "02468":
            raise RuntimeError("even")
        return await super().act(observation, info)


def cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "agentgym.cli", *args],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def keys(out: Path) -> list[tuple[str, int]]:
    return [(r["task_id"], r["episode"]) for r in read_episodes(out / "episodes.jsonl").records]


def test_a_second_run_in_the_same_folder_stops_at_once_naming_the_first(tmp_path):
    out = tmp_path / "run"
    args = ["run", "game24", "--limit", "40", "--workers", "1", "--out", str(out), "--no-progress"]
    slow = ["--agent", "tests.support.agents:SlowExpert", "--agent-arg", "delay=0.2"]  # 32 s at least
    first = cli(*args, *slow)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(keys(out) if (out / "run.json").exists() else []) < 2:
            time.sleep(0.1)
        second = cli(*args, *slow)
        stdout, stderr = second.communicate(timeout=120)
        assert first.poll() is None  # the second was refused while the first was running
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert second.returncode == 1, stdout + stderr
    assert stderr.strip() == (  # errors go to stderr
        f"error: {out} is in use by a run in process {first.pid} on {os.uname().nodename}; "
        "wait for it to finish or use another --out"
    )
    assert "Traceback" not in stderr
    played = keys(out)
    assert 2 <= len(played) == len(set(played)) < 40  # the second played nothing
    resumed = cli(*args, "--agent", "tests.support.agents:SlowExpert", "--agent-arg", "delay=0")
    output = resumed.communicate(timeout=300)[0]
    assert resumed.returncode == 0, output  # the killed first's lock file did not block it
    assert len(keys(out)) == len(set(keys(out))) == 40 and keys(out)[: len(played)] == played
    assert not (out / "run.lock").exists()


def test_the_lock_of_a_killed_process_does_not_block(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    hold = f"from agentgym.runner.folder import FolderLock; from pathlib import Path; FolderLock(Path({str(out)!r}))"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"{hold}; print('held', flush=True); input()"],
        env=ENV,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(RunLocked, match=f"in use by a run in process {holder.pid} on "):
            evaluate("game24", limit=2, workers=0, out=out, progress=False)
        assert json.loads((out / "run.lock").read_text())["pid"] == holder.pid
        assert sorted(os.listdir(out)) == ["run.lock"]  # the refused run wrote nothing
    finally:
        holder.kill()
        holder.wait()
    assert (out / "run.lock").exists()  # left behind by the killed process
    result = evaluate("game24", limit=2, workers=0, out=out, progress=False)
    assert result.summary["episodes"] == 2 and not (out / "run.lock").exists()


def test_the_lock_is_taken_again_after_release(tmp_path):
    lock = FolderLock(tmp_path)
    with pytest.raises(RunLocked, match=f"process {os.getpid()}"):
        FolderLock(tmp_path)  # flock locks are per open file: a second one in this process is refused too
    lock.release()
    lock.release()
    FolderLock(tmp_path).release()
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("content", "who"),
    [
        (b"\xff garbage", "another process"),
        (b'{"pid": "1; rm -rf /", "host": "\\u001b[2Jx"}', "another process"),  # what is named is checked
        (b'{"pid": 42, "host": "' + b"h" * 300 + b'"}', "process 42"),
    ],
)
def test_a_lock_holder_that_wrote_something_else_is_another_process(tmp_path, content, who):
    lock = FolderLock(tmp_path)
    try:
        os.pwrite(lock.fd, content, 0)
        os.ftruncate(lock.fd, len(content))
        with pytest.raises(RunLocked) as refused:
            FolderLock(tmp_path)
        assert str(refused.value) == (
            f"{tmp_path} is in use by a run in {who}; wait for it to finish or use another --out"
        )
    finally:
        lock.release()


def test_reading_a_run_changes_nothing(tmp_path):
    evaluate("game24", limit=3, workers=0, out=tmp_path, progress=False)
    episodes = tmp_path / "episodes.jsonl"
    episodes.write_bytes(episodes.read_bytes() + b'{"task_id": "torn')
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    log = read_episodes(episodes)
    store = EpisodeStore(tmp_path)
    assert len(log.records) == len(store.records) == 3 and log.tail is not None and log.bad_lines == []
    CliRunner().invoke(app, ["report", str(tmp_path)])
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    evaluate("game24", limit=3, workers=0, out=tmp_path, progress=False)  # the run that owns it repairs it
    assert episodes.read_bytes() == before["episodes.jsonl"][: before["episodes.jsonl"].rindex(b"\n") + 1]


def test_a_torn_last_line_that_is_a_whole_record_is_kept(tmp_path):
    evaluate("game24", limit=2, workers=0, out=tmp_path, progress=False)
    episodes = tmp_path / "episodes.jsonl"
    episodes.write_bytes(episodes.read_bytes()[:-1])  # a hand-edited file without its last newline
    seen = []
    evaluate("game24", limit=2, workers=0, out=tmp_path, progress=False, on_episode=seen.append)
    assert seen == [] and len(episodes.read_text().splitlines()) == 2 and episodes.read_bytes().endswith(b"\n")


def test_a_corrupt_line_is_named_and_its_episode_replayed_by_resume_and_skipped_by_report(tmp_path):
    out = tmp_path / "run"
    args = ["run", "game24", "--limit", "4", "--workers", "0", "--out", str(out), "--no-progress"]
    first = cli(*args)
    assert first.wait(timeout=120) == 0
    episodes = out / "episodes.jsonl"
    lines = episodes.read_bytes().splitlines(keepends=True)
    replaced = json.loads(lines[1])
    lines[1] = b'{"task_id": "' + replaced["task_id"].encode() + b'", "episode": 0, "won": tru\n'
    episodes.write_bytes(b"".join(lines))

    report = cli("report", str(out))
    stdout, stderr = report.communicate(timeout=120)
    assert report.returncode == 0, stdout + stderr
    [warning] = [line.removeprefix("warning: ") for line in stdout.splitlines() if line.startswith("warning:")]
    assert warning.startswith(f"{episodes} line 2: not a valid episode record (invalid JSON: Expecting value")
    assert warning.endswith("; skipped, its episode counts as not played")
    assert "│ 3 " in stdout  # the three valid records

    resume = cli(*args)
    stdout, stderr = resume.communicate(timeout=120)
    assert resume.returncode == 0, stdout + stderr
    assert [line for line in stderr.splitlines() if "episodes.jsonl" in line] == [
        f"WARNING agentgym.runner.records: {warning}"
    ]
    records = read_episodes(episodes).records
    assert len(records) == 4 and records[-1]["task_id"] == replaced["task_id"]  # replayed, appended
    assert episodes.read_bytes().startswith(b"".join(lines))  # the corrupt line is left as it was
    assert json.loads((out / "summary.json").read_text())["episodes"] == 4


def _read_only(folder: Path, command: list[str]) -> list[str]:
    """``command`` run with ``folder`` read-only: by its mode, or (for root, whom modes do not stop) a bind mount."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return command
    if subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode != 0:
        pytest.skip("running as root without user namespaces: cannot make a folder read-only")
    target = shlex.quote(str(folder))
    mount = f"mount --bind {target} {target} && mount -o remount,ro,bind {target} && exec {shlex.join(command)}"
    return ["unshare", "-rm", "sh", "-c", mount]


def test_resuming_in_a_read_only_folder_says_so_and_loses_nothing(tmp_path):
    out = tmp_path / "run"
    base = [sys.executable, "-m", "agentgym.cli", "run", "game24", "--limit", "4", "--workers", "0", "--out", str(out)]
    assert subprocess.run([*base, "--no-progress"], env=ENV, capture_output=True).returncode == 0
    episodes = out / "episodes.jsonl"
    episodes.write_text("".join(episodes.read_text().splitlines(keepends=True)[:2]))  # half done
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    try:
        done = subprocess.run(_read_only(out, [*base, "--no-progress"]), env=ENV, capture_output=True, text=True)
    finally:
        out.chmod(0o755)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: cannot write to the output folder {out}: "
        f"{'Read-only file system' if os.geteuid() == 0 else 'Permission denied'}"
    ]
    assert "Traceback" not in done.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_exit_codes_and_the_errors_line(tmp_path):
    runner = CliRunner(env={"COLUMNS": "1000"})
    base = ["run", "game24", "--limit", "4", "--workers", "0", "--no-progress"]
    fine = runner.invoke(app, [*base, "--out", str(tmp_path / "fine")])
    assert fine.exit_code == 0 and "ended in an error" not in fine.output

    every = runner.invoke(app, [*base, "--out", str(tmp_path / "every"), "--agent", f"{__name__}:AlwaysFails"])
    assert every.exit_code == 3, every.output
    assert every.output.splitlines()[-1] == (
        "4 of 4 episodes ended in an error (first: RuntimeError: no move); run the same command again to play them again"
    )

    some = runner.invoke(app, [*base, "--out", str(tmp_path / "some"), "--agent", f"{__name__}:FailsOnEvenTasks"])
    result = evaluate("game24", FailsOnEvenTasks, limit=4, workers=0, progress=False)
    errors = result.summary["errors"]
    assert 0 < errors < 4 and len(result.failed) == errors  # the Python result says the same
    assert some.exit_code == 3, some.output
    assert some.output.splitlines()[-1].startswith(f"{errors} of 4 episodes ended in an error (first: RuntimeError")


@pytest.mark.parametrize("name", ["CartPole-v1", "FrozenLake-v1", "gymnasium/CartPole-v1"])
def test_envs_other_than_agentgyms_are_refused_up_front(name, tmp_path):
    result = CliRunner(env={"COLUMNS": "1000"}).invoke(app, ["run", name, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "game24" in result.output and "alfworld" in result.output and name in result.output
    assert not (tmp_path / "out").exists()
    with pytest.raises(KeyError, match="known: alfworld, game24"):
        evaluate(name, progress=False)


def test_bad_lines_are_named_then_counted(tmp_path):
    path = tmp_path / "episodes.jsonl"
    played = {"task_id": "b", "episode": 0, "won": True, "score": 1, "return": 1.0, "num_steps": 1}
    played |= {"steps": [{"observation": "o", "action": "a"}], "first_observation": "o", "final_observation": "f"}
    lines = [
        b"x",
        b'{"task_id": "a", "episode": true, "error": "E"}',  # a boolean is not an episode index
        json.dumps({**played, "won": 1}).encode(),
        json.dumps({**played, "score": "1"}).encode(),
        json.dumps({key: value for key, value in played.items() if key != "steps"}).encode(),
        json.dumps({**played, "error": {"x": 1}}).encode(),
        json.dumps({**played, "memory": ["not", "text"]}).encode(),
        json.dumps({**played, "steps": [{"observation": "o"}]}).encode(),
        *[b"\xff"] * 3,
        b"",  # blank lines are not records and not errors
        json.dumps(played).encode(),
        b'{"task_id": "a", "episode": 0, "error": "E"}',
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    log = read_episodes(path)
    assert [(r["task_id"], r["episode"]) for r in log.records] == [("b", 0), ("a", 0)]
    assert [why for _, why in log.bad_lines] == [
        "invalid JSON: Expecting value, column 1",
        "wrong type of episode",
        "wrong type of won",
        "wrong type of score",
        "no steps",
        "its error is not a string",
        "its memory is not a string",
        "a step without its observation and action",
        *["invalid UTF-8"] * 3,
    ]
    warnings = log.warnings()
    assert len(warnings) == 6 and warnings[1].startswith(f"{path} line 2: not a valid episode record (wrong type")
    assert warnings[-1] == f"{path}: 6 more lines are not valid episode records; skipped"
