"""ETO's data: conversations are the ReAct agent's own messages; the pair rules."""

from __future__ import annotations

import asyncio

import pytest

from agentgym.agent import RunSetup
from agentgym.baselines.eto.conversations import (
    cap_rounds,
    conversation,
    episode_steps,
    expert_thought,
    make_pair,
    make_pairs,
    policy_thought,
    to_messages,
    to_turns,
)
from agentgym.baselines.prompts import demo_thought
from agentgym.baselines.react import ReActAgent
from agentgym.policies import ExpertPolicy, Message
from agentgym.runner import evaluate

TASKS = ["1 1 4 6", "1 1 11 11"]


def _agent(task_ids: list[str]) -> ReActAgent:
    setup = RunSetup("agentgym/Game24-v0", "game24", {}, "custom", tuple(task_ids))
    return asyncio.run(ReActAgent.factory(ExpertPolicy(), setup))()


class _Recording(ExpertPolicy):
    """The expert's actions with the demonstrations' thoughts, keeping every prompt the ReAct agent sends."""

    def __init__(self) -> None:
        super().__init__()
        self.prompts: list[list[Message]] = []

    async def agenerate(self, requests):
        self.prompts += [list(r.messages) for r in requests]
        completions = await super().agenerate(requests)
        for c in completions:
            c.texts = [f"Thought: {demo_thought('game24', '', c.texts[0])}\nAction: {c.texts[0]}"]
        return completions


def test_expert_conversation_is_what_the_react_agent_sends():
    record = evaluate("game24", "expert", "expert", task_ids=TASKS[:1], workers=0, progress=False).records[0]
    assert record["won"]
    turns = to_turns(conversation(_agent(TASKS), record, episode_steps(record, expert_thought("game24"))))
    assert [t["from"] for t in turns] == ["system", "human"] + ["gpt", "human"] * 3 + ["gpt"]
    assert all(t["value"].startswith("Thought: ") and "\nAction: " in t["value"] for t in turns if t["from"] == "gpt")
    assert all(t["value"].startswith("Observation: ") for t in turns[3::2])
    assert turns[-1]["value"].endswith("Action: " + record["steps"][-1]["action"])
    # The ReAct agent playing the same actions sends exactly these messages before each reply.
    policy = _Recording()
    played = evaluate("game24", "react", policy, task_ids=TASKS[:1], workers=0, progress=False).records[0]
    assert [s["action"] for s in played["steps"]] == [s["action"] for s in record["steps"]]
    messages = to_messages(turns)
    assert [m for m in policy.prompts[-1]] == messages[:-1]
    assert policy.prompts[0] == messages[:2]
    # A policy's turn keeps the thought it wrote.
    assert conversation(_agent(TASKS), played, episode_steps(played, policy_thought)) == messages


def test_conversation_without_steps_ends_with_the_task():
    record = {"task_id": TASKS[0], "first_observation": "numbers 1 1 4 6", "steps": [], "final_observation": ""}
    messages = conversation(_agent(TASKS), record, [])
    assert [m["role"] for m in messages] == ["system", "user"]


def _item(task_id: str, reward: float, rounds: int, tag: str = "x") -> dict:
    turns = [{"from": "system", "value": "S"}, {"from": "human", "value": "task"}]
    for i in range(rounds):
        turns += [
            {"from": "gpt", "value": f"Thought: {tag}{i}\nAction: a{i}"},
            {"from": "human", "value": f"Observation: {i}"},
        ]
    return {"id": task_id, "conversations": turns[:-1] if rounds else turns, "reward": reward}


def test_pair_expert_better_is_chosen_and_rejected_is_capped():
    expert, agent = _item("t", 1.0, 2, "e"), _item("t", 0.0, 12, "a")
    pair = make_pair(expert, agent, truncate_rejected=True, extra_rounds=5)
    assert pair["prompt"] == expert["conversations"][:2]
    assert pair["chosen"] == expert["conversations"][2:]
    assert [t["from"] for t in pair["rejected"]].count("gpt") == 7  # 2 expert rounds + 5
    assert pair["rejected"][-1]["from"] == "gpt" and pair["chosen"][-1]["from"] == "gpt"
    assert pair["rejected"] == agent["conversations"][2 : 2 + 13]
    uncapped = make_pair(expert, agent, truncate_rejected=False)
    assert uncapped["rejected"] == agent["conversations"][2:]


def test_pair_swaps_when_the_agent_beats_the_expert_and_drops_ties():
    expert, agent = _item("t", 0.5, 3, "e"), _item("t", 0.75, 2, "a")
    pair = make_pair(expert, agent, truncate_rejected=True)
    assert pair["chosen"] == agent["conversations"][2:] and pair["rejected"] == expert["conversations"][2:]
    assert (pair["chosen_reward"], pair["rejected_reward"]) == (0.75, 0.5)
    assert make_pair(expert, _item("t", 0.5, 1), truncate_rejected=True) is None


def test_pairs_skip_tasks_without_an_episode_or_a_reply():
    expert = [_item("a", 1.0, 2), _item("b", 1.0, 2), _item("c", 1.0, 2)]
    explored = [_item("a", 0.0, 3), _item("c", 0.0, 0)]
    pairs = make_pairs(expert, explored, truncate_rejected=True)
    assert [p["id"] for p in pairs] == ["a"]


def test_pair_with_another_prompt_is_refused():
    other = _item("t", 0.0, 2)
    other["conversations"][0] = {"from": "system", "value": "another prompt"}
    with pytest.raises(ValueError, match="start differently"):
        make_pair(_item("t", 1.0, 2), other, truncate_rejected=True)


def test_cap_rounds_keeps_whole_rounds():
    turns = _item("t", 1.0, 4)["conversations"][2:]
    assert cap_rounds(turns, 2) == turns[:3]
    assert cap_rounds(turns, 9) == turns
