"""The ETO agent sends ETO's layout, checked against references built from ETO's files and its eval_agent rules.

Each reference follows ``eval_agent/prompt/templates.py`` (``prompt_with_icl`` with one example, the
``conversation`` format) and ``eval_agent/envs/*_env.py`` (the task turn, the observation prefixes, the format
error, ALFWorld's ``process_ob``), written out here from the raw files, without calling the agent's code.
"""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from agentgym.baselines.eto.conversations import conversation_of, make_pairs, prompt_messages, to_turns
from agentgym.policies import ExpertPolicy, Message
from agentgym.runner import evaluate


class ScriptedReplies(ExpertPolicy):
    """Replies from a script (``{expert}`` is replaced by the expert's action); keeps every prompt it receives."""

    def __init__(self, script: list[str]) -> None:
        super().__init__()
        self.script = list(script)
        self.prompts: list[list[Message]] = []

    async def agenerate(self, requests):
        self.prompts += [list(r.messages) for r in requests]
        completions = await super().agenerate(requests)
        for completion in completions:
            completion.texts = [self.script.pop(0).replace("{expert}", completion.texts[0])]
        return completions


def eto_reference_prefix(prompts_dir, env_name: str, task: str) -> list[dict[str, str]]:
    """``prompt_with_icl(instruction, icl, task, 1)``'s messages, from the raw files."""
    instruction = (prompts_dir / "eto" / f"{env_name}_inst.txt").read_text()
    example = json.loads((prompts_dir / "eto" / f"{env_name}_icl.json").read_text())[0]
    messages = [{"role": "user", "content": instruction}, {"role": "assistant", "content": "OK"}]
    messages.append({"role": "user", "content": example[0]["content"]})
    for j, turn in enumerate(example[1:], start=1):
        messages.append({"role": "user" if j % 2 == 0 else "assistant", "content": turn["content"]})
    messages.append({"role": "user", "content": task})
    return messages


@pytest.fixture
def prompts_dir(shared_data):
    if not (shared_data / "prompts" / "eto").is_dir():
        pytest.skip("the prompts dataset is not in AGENTGYM_DATA")
    return shared_data / "prompts"


def test_alfworld_prompts_are_etos_at_every_step(prompts_dir):
    pytest.importorskip("alfworld")
    script = [
        "Thought: I should look around.\nAction: {expert}",
        "I am not sure what to do.",  # no Action: ETO answers with its format error, a step is spent
        "Thought: Go on.\nAction:{expert}",  # ALFWorld's pattern allows no space after the colon
        "Thought: Go on.\nAction: {expert}",
    ]
    policy = ScriptedReplies(script)
    result = evaluate("alfworld", "eto", policy, split="valid_unseen", limit=1, max_steps=4, workers=0, progress=False)
    record = result.records[0]
    assert record["error"] is None and record["num_steps"] == 4
    assert record["agent"]["prompt_files"][0]["file"] == "eto/alfworld_inst.txt"
    assert record["steps"][1]["action"] == ""  # the env was sent an invalid action for the format error

    expected = eto_reference_prefix(prompts_dir, "alfworld", record["first_observation"])
    for step, prompt in enumerate(policy.prompts):
        assert prompt == expected, f"step {step}"
        if step + 1 < len(record["steps"]):
            reply, observation = record["steps"][step]["response"], record["steps"][step + 1]["observation"]
            shown = "Observation: " + re.sub(r"^You arrive at [^.]*\. ", "", observation)
            if "Action:" not in reply:
                shown = "Observation: Error Input. Your input must contains 'Action: '"
            expected = [*expected, {"role": "assistant", "content": reply}, {"role": "user", "content": shown}]
    observations = [s["observation"] for s in record["steps"]]
    assert any(o.startswith("You arrive at ") for o in observations)  # the arrival sentence was there to strip


def test_webshop_task_turn_is_the_first_page_and_observations_start_on_a_new_line(prompts_dir):
    pytest.importorskip("nltk")
    policy = ScriptedReplies(["Thought: Search.\nAction: {expert}", "Thought: Click.\nAction: {expert}"])
    result = evaluate("webshop", "eto", policy, split="test", limit=1, max_steps=2, workers=0, progress=False)
    record = result.records[0]
    expected = eto_reference_prefix(prompts_dir, "webshop", record["first_observation"])
    assert policy.prompts[0] == expected
    assert policy.prompts[1][len(expected) :] == [
        {"role": "assistant", "content": record["steps"][0]["response"]},
        {"role": "user", "content": "Observation:\n" + record["steps"][1]["observation"]},
    ]


@pytest.mark.java
def test_sciworld_task_turn_is_the_task_description(prompts_dir):
    pytest.importorskip("scienceworld")
    policy = ScriptedReplies(["Thought: Look.\nAction: look around"])
    result = evaluate("sciworld", "eto", policy, split="eto_seen", limit=1, max_steps=1, workers=0, progress=False)
    record = result.records[0]
    assert record["error"] is None
    assert policy.prompts[0] == eto_reference_prefix(prompts_dir, "sciworld", record["task"])


def test_expert_conversations_are_what_the_agent_sends_and_pairs_keep_etos_prompt(prompts_dir):
    pytest.importorskip("alfworld")
    expert = evaluate("alfworld", "expert", "expert", split="valid_unseen", limit=1, workers=0, progress=False)
    record = expert.records[0]
    assert record["won"]
    replay = ScriptedReplies(["Thought: x\nAction: {expert}"] * record["num_steps"])
    played = evaluate("alfworld", "eto", replay, split="valid_unseen", limit=1, workers=0, progress=False).records[0]
    assert played["won"] and [s["action"] for s in played["steps"]] == [s["action"] for s in record["steps"]]

    from agentgym.agent import RunSetup
    from agentgym.baselines.eto.agent import EtoAgent

    setup = RunSetup("agentgym/ALFWorld-v0", "alfworld", {}, "custom", (record["task_id"],))
    agent = asyncio.run(EtoAgent.factory(ExpertPolicy(), setup))()
    # A policy's conversation is the prompt of its last call plus its last reply.
    explored = conversation_of(agent, played, expert=False)
    assert explored == [*replay.prompts[-1], {"role": "assistant", "content": played["steps"][-1]["response"]}]
    # The expert's conversation has the same prompt and ETO's "Thought: ...\nAction: ..." replies.
    demonstrated = conversation_of(agent, record, expert=True)
    length = prompt_messages(agent)
    assert length == len(eto_reference_prefix(prompts_dir, "alfworld", record["first_observation"]))
    assert demonstrated[:length] == explored[:length]
    assert all(re.fullmatch(r"Thought: .+\nAction: .+", m["content"], re.DOTALL) for m in demonstrated[length::2])
    items = [
        {"id": record["task_id"], "conversations": to_turns(demonstrated), "reward": 1.0},
        {"id": record["task_id"], "conversations": to_turns(explored), "reward": 0.0},
    ]
    [pair] = make_pairs(items[:1], items[1:], truncate_rejected=False, prompt_messages=length)
    assert pair["prompt"] == to_turns(demonstrated)[:length]
    assert pair["chosen"][0]["from"] == pair["rejected"][0]["from"] == "gpt"


def test_project_prompts_work_on_any_env_and_missing_files_name_the_command(tmp_path, monkeypatch):
    policy = ScriptedReplies(["Thought: t\nAction: {expert}"] * 4)
    record = evaluate(
        "game24", "eto", policy, task_ids=["1 1 4 6"], agent_kwargs={"prompts": "agentgym"}, workers=0, progress=False
    ).records[0]
    assert record["won"] and record["agent"]["prompts"] == "agentgym" and record["agent"]["prompt_files"] == []
    first = policy.prompts[0]
    assert [m["role"] for m in first[:2]] == ["user", "assistant"] and first[1]["content"] == "OK"
    assert first[-1] == {"role": "user", "content": record["first_observation"]}

    with pytest.raises(ValueError, match="prompts=agentgym"):
        evaluate("game24", "eto", ExpertPolicy(), task_ids=["1 1 4 6"], workers=0, progress=False)
    monkeypatch.setenv("AGENTGYM_DATA", str(tmp_path))
    from agentgym.agent import RunSetup
    from agentgym.baselines.eto.agent import EtoAgent
    from agentgym.error import DataNotFound

    setup = RunSetup("agentgym/ALFWorld-v0", "alfworld", {}, "valid_unseen", ())
    with pytest.raises(DataNotFound, match="agentgym data download prompts"):
        asyncio.run(EtoAgent.factory(ExpertPolicy(), setup))
