"""ScienceWorld env faults: junk actions, a killed JVM, a hung JVM, a JVM shared by several envs."""

import os
import signal
import time

import gymnasium
import pytest

import agentgym  # noqa: F401
from agentgym.envs.sciworld.env import UNKNOWN_ACTION
from agentgym.error import EnvCrashed

pytestmark = pytest.mark.java

JUNK = [
    "",
    "\x00\x01\x1b[2J",
    "\ud800 look around",  # a lone surrogate: py4j cannot encode it as is
    "é" * 50,
    "中文 😀 go to kitchen",
    "look around\nfocus on agent",
    "x" * 1_000_000,
    "go to kitchen " * 200,
    "{0}%s\\",
]


@pytest.fixture(scope="module")
def env():
    env = gymnasium.make("agentgym/ScienceWorld-v0")
    yield env
    env.close()


@pytest.mark.parametrize("junk", JUNK, ids=lambda j: repr(j[:20]))
def test_junk_actions_are_answered(env, junk):
    env.reset(options={"task_id": "boil-0"})
    observation, reward, terminated, _, info = env.step(junk)
    assert observation == UNKNOWN_ACTION and info["invalid_action"]
    assert (reward, terminated, info["step"]) == (0.0, False, 1)
    assert env.step("look around")[0].startswith("This room is called")


def test_killed_jvm_raises_then_reset_recovers():
    env = gymnasium.make("agentgym/ScienceWorld-v0")
    env.reset(options={"task_id": "find-living-thing-0"})
    pid = env.unwrapped.jvm_pid
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(EnvCrashed, match=rf"JVM \(pid {pid}\) exited with code -9 while stepping 'look around'"):
        env.step("look around")
    with pytest.raises(EnvCrashed, match=r"call reset\(\)"):
        env.step("look around")
    _, info = env.reset(options={"task_id": "find-living-thing-0"})
    assert env.unwrapped.jvm_pid != pid and info["step"] == 0
    assert env.step("look around")[0].startswith("This room is called the hallway.")
    env.close()


def test_jvm_that_died_between_episodes_is_replaced_at_reset():
    env = gymnasium.make("agentgym/ScienceWorld-v0")
    env.reset(options={"task_id": "boil-0"})
    pid = env.unwrapped.jvm_pid
    os.kill(pid, signal.SIGKILL)
    observation, _ = env.reset(options={"task_id": "boil-0"})
    assert observation.startswith("Task Description:") and env.unwrapped.jvm_pid != pid
    env.close()


def test_hung_jvm_times_out_is_killed_and_reset_recovers():
    env = gymnasium.make("agentgym/ScienceWorld-v0", timeout_s=5)
    env.reset(options={"task_id": "boil-0"})
    pid = env.unwrapped.jvm_pid
    os.kill(pid, signal.SIGSTOP)
    started = time.monotonic()
    with pytest.raises(EnvCrashed, match=rf"JVM \(pid {pid}\) was killed because stepping .* took longer than 5 s"):
        env.step("look around")
    assert 5 <= time.monotonic() - started < 30
    with pytest.raises(ProcessLookupError):  # killed (and reaped), not left stopped
        os.kill(pid, 0)
    env.reset(options={"task_id": "boil-0"})
    assert env.unwrapped.jvm_pid != pid and env.step("look around")[0].startswith("This room is called")
    env.close()


def test_shared_jvm_crash_reaches_every_env_and_each_recovers():
    envs = [gymnasium.make("agentgym/ScienceWorld-v0", share_jvm=True) for _ in range(2)]
    for env, task_id in zip(envs, ("boil-0", "find-plant-0"), strict=True):
        env.reset(options={"task_id": task_id})
    pids = {env.unwrapped.jvm_pid for env in envs}
    assert len(pids) == 1
    os.kill(pids.pop(), signal.SIGKILL)
    for env in envs:
        with pytest.raises(EnvCrashed, match="exited with code -9"):
            env.step("look around")
    for env, task_id in zip(envs, ("boil-0", "find-plant-0"), strict=True):
        env.reset(options={"task_id": task_id})
        assert env.step("look around")[0].startswith("This room is called")
    assert len({env.unwrapped.jvm_pid for env in envs}) == 1
    for env in envs:
        env.close()
