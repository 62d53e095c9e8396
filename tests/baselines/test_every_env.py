"""Every baseline agent on every env: plumbing with the expert policy, and reflections reaching later trials."""

import gymnasium
import pytest

import agentgym
from agentgym.baselines.reflexion import REFLECTION_INSTRUCTION
from tests.support.policies import ScriptedPolicy

# One id per benchmark (variants share their benchmark's code).
ENV_IDS = [
    env_id
    for env_id in ("agentgym/Game24-v0", "agentgym/ALFWorld-v0", "agentgym/WebShop-v0", "agentgym/ScienceWorld-v0")
    if env_id in gymnasium.registry
]


def first_task(env_id: str) -> str:
    try:
        env = gymnasium.make(env_id)
    except (ImportError, FileNotFoundError) as e:
        pytest.skip(f"{env_id}: {e}")
    try:
        tasks = env.unwrapped.tasks
        return tasks.split(tasks.default_split)[0]
    finally:
        env.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("agent", ["react", "reflexion"])
def test_agent_with_the_expert_policy_wins(env_id, agent, shared_data, isolated_cache):
    task = first_task(env_id)
    result = agentgym.evaluate(env_id, agent, "expert", task_ids=[task], workers=1, progress=False)
    assert result.summary["errors"] == 0 and result.summary["success_rate"] == 1.0


def fail_then_follow_the_notes(request, expert):
    if request.messages[0]["content"] == REFLECTION_INSTRUCTION:
        return "New plan: follow the notes of trial zero"
    if "follow the notes of trial zero" in request.messages[1]["content"]:
        return expert()
    return "Thought: I do not know.\nAction: do nothing useful"


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_a_reflection_reaches_the_next_trial_on_every_env(env_id, shared_data, isolated_cache):
    task = first_task(env_id)
    policy = ScriptedPolicy(fail_then_follow_the_notes, uses_expert=True)
    result = agentgym.evaluate(env_id, "reflexion", policy, task_ids=[task], trials=2, workers=1, progress=False)
    first, second = result.records
    assert not first["won"] and first["memory"] == "follow the notes of trial zero"
    assert second["won"] and result.summary["success_by_trial"] == [0.0, 1.0]
    actor_prompts = [
        r.messages[1]["content"] for r in policy.requests if r.messages[0]["content"] != REFLECTION_INSTRUCTION
    ]
    assert "Trial 0: follow the notes of trial zero" in actor_prompts[-1]
