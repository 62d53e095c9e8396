"""The expert policy gets the episode's expert from the agent once per episode; requests are plain data."""

import asyncio
import dataclasses
import pickle

import pytest

import agentgym
from agentgym.agent import DirectAgent, EpisodeContext
from agentgym.error import PolicyError
from agentgym.policies import ExpertPolicy, RandomPolicy, Request, Sampling, make_policy
from agentgym.runner.seeding import SeededPolicy


def test_a_request_is_plain_data():
    assert [f.name for f in dataclasses.fields(Request)] == ["messages", "sampling", "choices"]
    request = Request([{"role": "user", "content": "hi"}], Sampling(seed=3), choices=["a"])
    assert pickle.loads(pickle.dumps(request)) == request


def test_the_expert_policy_answers_only_once_bound_to_an_episode():
    policy = make_policy("expert")
    with pytest.raises(PolicyError, match="only within an episode") as error:
        policy.generate([Request([])])
    assert "\n" not in str(error.value)
    actions = iter(["1 + 1 = 2", None])

    async def expert():
        return next(actions)

    bound = policy.with_expert(expert)
    assert isinstance(bound, ExpertPolicy) and bound is not policy and policy.expert is None
    assert [c.text for c in bound.generate([Request([]), Request([])])] == ["1 + 1 = 2", ""]
    assert bound.config() == policy.config() == {"backend": "expert"}
    other = RandomPolicy(seed=1)
    assert other.with_expert(expert) is other


def test_an_agents_reset_binds_its_policy_through_the_runners_seeded_view():
    async def expert():
        return "look"

    view = SeededPolicy(ExpertPolicy(), 0, "agentgym/Game24-v0", "t", 0)
    agent = DirectAgent(view)
    agent.reset("start", {}, EpisodeContext("agentgym/Game24-v0", "game24", "t", expert))
    assert agent.policy is view  # the runner steps the same view
    assert asyncio.run(agent.act("start", {})).action == "look"


def test_any_agent_on_the_expert_policy_plays_the_expert(shared_data):
    result = agentgym.evaluate("game24", "direct", "expert", split="test", limit=2, workers=0, progress=False)
    assert result.summary["success_rate"] == 1.0 and result.records[0]["policy"] == {"backend": "expert"}


class AsksAfterTheEpisode(DirectAgent):
    """Direct, whose ``after_episode`` asks the policy once more (as Reflexion's reflection does)."""

    async def after_episode(self, record):
        return (await self.policy.agenerate([self.request("what went wrong?")]))[0].text or None


def test_after_its_episode_the_expert_has_no_action(shared_data):
    """The episode's env may play another episode by then: the expert answers ``None``, as the env would."""
    result = agentgym.evaluate(
        "game24", AsksAfterTheEpisode, "expert", task_ids=["4 5 6 10"], trials=2, max_steps=1, workers=0, progress=False
    )
    first, second = result.records
    assert not first["won"] and first["num_steps"] == 1 and "after_episode_error" not in first
    assert "memory" not in first and "memory" not in second
