import asyncio

import pytest

import agentgym
from agentgym.agent import EpisodeContext, RunSetup
from agentgym.baselines.demos import Demonstration, demonstrations
from agentgym.baselines.react import ReActAgent
from agentgym.baselines.reflexion import REFLECTION_INSTRUCTION, ReflexionAgent
from agentgym.envs.alfworld.actions import ALFWORLD_ACTIONS
from tests.support.policies import ScriptedPolicy

SETUP = RunSetup("agentgym/Game24-v0", "game24", {}, "test", ("4 5 6 10",))


def test_demonstrations_come_from_the_expert_on_train_tasks(isolated_cache, shared_data):
    demos = asyncio.run(demonstrations(SETUP, {None}, shots=2))
    assert len(demos[None]) == 2
    test_tasks = set(agentgym.envs.game24.puzzles.load_puzzles().task_ids[900:1000])
    for demo in demos[None]:
        assert demo.task_id not in test_tasks
        assert demo.as_text().startswith("Observation: Use numbers") and "Action: Answer:" in demo.as_text()
    assert asyncio.run(demonstrations(SETUP, {None}, shots=2)) == demos  # from the disk cache
    assert list(isolated_cache.rglob("demos/*.json"))


def test_react_prompt_has_a_stable_prefix_and_the_episode_turns(shared_data):
    policy = ScriptedPolicy(lambda r: "Thought: try\nAction: 10 - 6 = 4 (left: 4 4 5)")
    demo = Demonstration("1 1 4 6", "Input: 1 1 4 6", (("t", "1 + 1 = 2 (left: 2 4 6)", "ok"),))
    result = agentgym.evaluate(
        "game24",
        ReActAgent,
        policy,
        task_ids=["4 5 6 10", "4 9 10 13"],
        max_steps=2,
        workers=0,
        progress=False,
        agent_kwargs={"demos": {None: [demo]}},
    )
    assert result.summary["episodes"] == 2
    systems = {r.messages[0]["content"] for r in policy.requests}
    assert len(systems) == 1  # one prefix for every request: the prefix cache hits
    assert "Example 1:\nObservation: Input: 1 1 4 6" in systems.pop()
    second = next(r for r in policy.requests if len(r.messages) == 4)
    assert second.messages[2] == {"role": "assistant", "content": "Thought: try\nAction: 10 - 6 = 4 (left: 4 4 5)"}
    assert second.messages[3]["content"].startswith("Observation: The step is correct")
    assert second.sampling.stop == ("\nObservation:",)


def test_react_with_the_expert_policy_wins(shared_data, isolated_cache):
    result = agentgym.evaluate("game24", "react", "expert", limit=3, workers=1, progress=False)
    assert result.summary["success_rate"] == 1.0


def test_resample_repeats_and_rewrites():
    answers = iter(["Action: look", "Action: look", "Action: look", "Action: go"])
    policy = ScriptedPolicy(lambda r: next(answers))
    agent = ReActAgent(policy, resample_repeats=2)

    async def oracle():
        return None

    agent.reset("start", {}, EpisodeContext("agentgym/Game24-v0", "game24", "4 5 6 10", oracle))
    import asyncio

    first = asyncio.run(agent.act("start", {}))
    second = asyncio.run(agent.act("obs", {}))
    assert first.action == "look" and second.action == "go" and len(second.usage) == 3
    assert [r.sampling.temperature for r in policy.requests[1:]] == pytest.approx([0.0, 0.1, 0.2])
    rewrites = ALFWORLD_ACTIONS.rewrites
    assert rewrites["alfworld-in-on"]("put mug 1 in coffeemachine 1") == "put mug 1 in/on coffeemachine 1"
    assert rewrites["alfworld-in-on"]("put mug 1 in/on desk 1") == "put mug 1 in/on desk 1"
    assert rewrites["alfworld-put-as-move"]("put mug 1 in/on desk 1") == "move mug 1 to desk 1"
    assert rewrites["alfworld-put-as-move"]("put mug 1 on desk 1") == "move mug 1 to desk 1"
    assert rewrites["alfworld-put-as-move"]("go to desk 1") == "go to desk 1"
    with pytest.raises(ValueError, match="unknown rewrites"):
        ReActAgent(policy, rewrites=["nope"])
    with pytest.raises(ValueError, match=r"unknown rewrites \['alfworld-in-on'\]; known: \['strip-prompt-marker'\]"):
        ReActAgent(policy, rewrites=["alfworld-in-on"])  # Game of 24's grammar has no put rewrites
    in_on = ReActAgent(policy, rewrites=["alfworld-in-on"], grammar=ALFWORLD_ACTIONS)
    assert [rewrite("put mug 1 on desk 1") for rewrite in in_on.rewrite_steps] == ["put mug 1 in/on desk 1"]


def reflexion_script(request, expert):
    """Fails until the prompt carries a reflection, then plays the expert; reflections are numbered."""
    if request.messages[0]["content"] == REFLECTION_INSTRUCTION:
        return f"New plan: plan written after {request.messages[-1]['content'].count('Action:')} actions"
    if "Your notes from earlier failed attempts" in request.messages[1]["content"]:
        return expert()
    return "Thought: no idea\nAction: 1 + 1 = 2"


def test_a_reflection_reaches_the_next_trial(tmp_path, shared_data, isolated_cache):
    policy = ScriptedPolicy(reflexion_script, uses_expert=True)
    result = agentgym.evaluate(
        "game24",
        "reflexion",
        policy,
        task_ids=["4 5 6 10"],
        trials=3,
        max_steps=4,
        workers=1,
        out=tmp_path,
        progress=False,
    )
    assert result.summary["success_by_trial"] == [0.0, 1.0, 1.0]
    first, second = result.records
    assert first["memory"] == "plan written after 4 actions" and not first["won"]
    assert second["won"] and "memory" not in second
    actor_prompts = [r for r in policy.requests if r.messages[0]["content"] != REFLECTION_INSTRUCTION]
    trial1 = actor_prompts[4].messages[1]["content"]  # trial 0 made 4 requests
    assert "Trial 0: plan written after 4 actions" in trial1
    reflection = next(r for r in policy.requests if r.messages[0]["content"] == REFLECTION_INSTRUCTION)
    assert reflection.messages[-1]["content"].endswith("STATUS: FAIL")
    assert reflection.messages[2]["content"].startswith("New plan: I repeated")  # the project-built example


def test_memory_window_shows_the_last_reflections():
    agent = ReflexionAgent(ScriptedPolicy(lambda r: ""), memory_size=2)

    async def oracle():
        return None

    context = EpisodeContext("agentgym/Game24-v0", "game24", "t", oracle, trial=4, memory=["a", "b", "c", "d"])
    agent.reset("Input: 1 2 3 4", {}, context)
    message = agent.task_message()
    assert message.splitlines()[-3:] == [
        "Your notes from earlier failed attempts at this task:",
        "Trial 2: c",
        "Trial 3: d",
    ]
    with pytest.raises(ValueError, match="memory_size must be an integer from 1"):
        ReflexionAgent(ScriptedPolicy(lambda r: ""), memory_size=0)
