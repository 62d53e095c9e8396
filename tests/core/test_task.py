"""The generic env over a small task: the plumbing every benchmark gets from :class:`agentgym.core.TextEnv`."""

from __future__ import annotations

import pytest
from gymnasium.utils.env_checker import check_env

from agentgym.core import EPISODE_OVER, INFO_KEYS, TextEnv
from agentgym.error import ResetNeeded, TaskNotFound
from agentgym.task import Outcome, Setup, Task
from agentgym.tasks import TaskSet


class Countdown(Task):
    """Say "go" to win; every step says how many are left; the limit is the task's own (its id's number)."""

    env_name = "countdown"
    reset_options = frozenset({"greeting"})

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.closed = 0
        self.limit = 0
        self.taken = 0

    def task_set(self) -> TaskSet:
        return TaskSet(ids=("3", "5", "9"), splits={"test": ("3",), "train": ("5", "9")}, default_split="test")

    def setup(self, task_id, options):
        self.calls.append(f"setup {task_id}")
        self.limit, self.taken = int(task_id), 0
        greeting = options.get("greeting", "Hello")
        return Setup(f"{greeting}. Say go within {task_id} steps.", instruction="Say go.", score=0.25)

    def act(self, action):
        self.calls.append(f"act {action}")
        self.taken += 1
        won = action == "go"
        return Outcome(
            "Gone." if won else f"{self.limit - self.taken} left.",
            reward=float(won),
            done=won,
            won=won,
            score=1.0 if won else 0.5,
            invalid=action not in ("go", "wait"),
            truncated=self.taken >= self.limit,
            extra={"taken": self.taken},
        )

    def expert(self):
        self.calls.append("expert")
        return "go"

    def admissible_actions(self):
        return ["go", "wait"]

    def info(self):
        return {"limit": self.limit}

    def protocol(self):
        return {"rule": "say go"}

    def close(self):
        self.closed += 1


@pytest.fixture
def env():
    return TextEnv(Countdown())


def test_reset_info_has_every_key_and_the_tasks_own(env):
    observation, info = env.reset(options={"task_id": "5"})
    assert observation == "Hello. Say go within 5 steps."
    assert set(INFO_KEYS) <= set(info)
    assert info["invalid_action"] is False and info["step"] == 0 and info["won"] is False
    assert info["score"] == 0.25 and info["task"] == "Say go." and info["task_id"] == "5"
    assert info["env_name"] == "countdown" and info["limit"] == 5 and "taken" not in info
    assert info["admissible_actions"] is None


def test_step_counts_and_reports_the_outcome(env):
    env.reset(options={"task_id": "5"})
    observation, reward, terminated, truncated, info = env.step("dance")
    assert (observation, reward, terminated, truncated) == ("4 left.", 0.0, False, False)
    assert info["invalid_action"] is True and info["step"] == 1 and info["taken"] == 1 and info["score"] == 0.5
    observation, reward, terminated, truncated, info = env.step("go")
    assert (observation, reward, terminated, truncated) == ("Gone.", 1.0, True, False)
    assert info["won"] is True and info["invalid_action"] is False and info["step"] == 2


def test_the_tasks_step_limit_truncates_unless_the_step_ends_the_episode(env):
    env.reset(options={"task_id": "3"})
    assert [env.step("wait")[3] for _ in range(3)] == [False, False, True]
    env.reset(options={"task_id": "3"})
    env.step("wait")
    env.step("wait")
    *_, terminated, truncated, info = env.step("go")
    assert terminated and not truncated and info["won"]


def test_a_step_after_the_end_does_not_reach_the_task(env):
    env.reset(options={"task_id": "5"})
    *_, final = env.step("go")
    calls = list(env.task.calls)
    observation, reward, terminated, truncated, info = env.step("go")
    assert (observation, reward, terminated, truncated) == (EPISODE_OVER, 0.0, True, False)
    assert info["invalid_action"] is True and info["step"] == final["step"] and info["score"] == final["score"]
    assert env.expert_action() is None
    assert env.task.calls == calls
    assert env.render() is None


def test_expert_guard_before_reset_and_after_close(env):
    with pytest.raises(ResetNeeded, match="reset"):
        env.expert_action()
    with pytest.raises(ResetNeeded, match="reset"):
        env.step("go")
    assert env.task.calls == []
    env.reset(seed=0)
    assert env.expert_action() == "go"
    env.close()
    env.close()
    assert env.task.closed == 2
    with pytest.raises(ResetNeeded):
        env.expert_action()
    with pytest.raises(ResetNeeded):
        env.step("go")
    assert env.reset(options={"task_id": "9"})[1]["task_id"] == "9"


def test_reset_options_the_task_accepts_and_others(env):
    assert env.reset(options={"task_id": "3", "greeting": "Hi"})[0].startswith("Hi.")
    with pytest.raises(ValueError, match=r"unknown reset option\(s\) \['colour'\]; TextEnv takes \["):
        env.reset(options={"colour": "red"})
    with pytest.raises(TaskNotFound, match="unknown task_id '4'"):
        env.reset(options={"task_id": "4"})
    assert env.reset(options={"split": "train", "index": 1})[1]["task_id"] == "9"
    assert {env.reset(seed=s)[1]["task_id"] for s in range(10)} == {"3"}


def test_split_setting_admissible_actions_render_and_protocol():
    env = TextEnv(Countdown(), split="train", admissible_actions=True, render_mode="ansi")
    assert {env.reset(seed=s)[1]["task_id"] for s in range(20)} == {"5", "9"}
    _, info = env.reset(seed=0)
    assert info["admissible_actions"] == ["go", "wait"]
    assert env.step("wait")[4]["admissible_actions"] == ["go", "wait"]
    assert env.render().endswith("left.") and env.protocol() == {"rule": "say go"} and env.env_name == "countdown"
    with pytest.raises(KeyError, match="unknown split 'dev'"):
        TextEnv(Countdown(), split="dev").tasks  # noqa: B018
    with pytest.raises(ValueError, match="render_mode must be one of"):
        TextEnv(Countdown(), render_mode="human")


def test_non_string_actions_and_gymnasiums_checker(env):
    env.reset(options={"task_id": "5"})
    env.step(None)
    env.step(7)
    assert env.task.calls[-2:] == ["act ", "act 7"]
    check_env(env, skip_render_check=True)
