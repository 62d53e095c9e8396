"""The ALFWorld presets replay scripted replies on real games; every prompt is checked against a reference.

The references are built here from the downloaded prompt files and the rules of Reflexion's ``alfworld_runs``
(``alfworld_trial.py``, ``env_history.py``, ``generate_reflections.py``), by string concatenation, never by
calling the harness.
"""

import asyncio
import json

import pytest

import agentgym
from agentgym.agent import EpisodeContext
from agentgym.baselines.alfworld_harness import ALFWorldReActAgent, ALFWorldReflexionAgent
from agentgym.baselines.demos import Demonstration
from agentgym.error import DataNotFound
from agentgym.presets import preset_arguments
from tests.support.policies import ScriptedPolicy

LOOK = "valid_unseen/look_at_obj_in_light-AlarmClock-None-DeskLamp-308/trial_T20190908_222917_366542"
PUT = "valid_unseen/pick_and_place_simple-Mug-None-Desk-308/trial_T20190908_125200_737896"
TASK_LINE = {
    LOOK: "Your task is to: examine the alarmclock with the desklamp.",
    PUT: "Your task is to: put a mug in desk.",
}

# The harness's own format strings, as alfworld_trial.py and env_history.py write them.
INSTRUCTION = "Interact with a household to solve a task. Here are two examples.\n"


@pytest.fixture
def prompts_dir(shared_data):
    if not (shared_data / "alfworld" / "valid_unseen.tar.xz").is_file():
        pytest.skip("no ALFWorld archives under AGENTGYM_DATA")
    folder = shared_data / "prompts" / "reflexion"
    if not (folder / "alfworld_3prompts.json").is_file():
        pytest.skip("the prompts dataset is not in AGENTGYM_DATA")
    return folder


@pytest.fixture
def reflection_code(prompts_dir):
    path = prompts_dir / "alfworld_generate_reflections.py"
    if not path.is_file():
        pytest.skip("reflexion/alfworld_generate_reflections.py is not in this copy of the prompts dataset")
    return path.read_text()


def arrival_stripped(observation):
    """alfworld_trial.py's process_ob, for the 2.1.2 games' arrival sentence."""
    if observation.startswith("You arrive at "):
        return observation[observation.find(". ") + 2 :]
    return observation


def shown_observations(record):
    """What the original puts in the history after each step: 'OK.' for think, else the processed observation."""
    after = [step["observation"] for step in record["steps"][1:]] + [record["final_observation"]]
    return [
        "OK." if step["action"].startswith("think:") else arrival_stripped(obs)
        for step, obs in zip(record["steps"], after, strict=True)
    ]


def head(prompts_dir, demo_key, first_observation, memory=()):
    demos = json.loads((prompts_dir / "alfworld_3prompts.json").read_text())
    text = INSTRUCTION + demos[f"react_{demo_key}_1"] + demos[f"react_{demo_key}_0"]
    if memory:
        text += "\n\nYour memory for the task below:"
        for i, note in enumerate(memory):
            text += "\nTrial " + str(i) + ":\n" + note.strip()
    return text + "\nHere is the task:\n" + first_observation


def prompts_of(query, actions, observations):
    """The prompt before each action: str(EnvironmentHistory) + '>'."""
    prompts = []
    for k in range(len(actions)):
        lines = []
        for action, observation in zip(actions[:k], observations[:k], strict=True):
            lines += ["> " + action, observation]
        prompts.append(query + "\n" + "\n".join(lines) + ">")
    return prompts


def step_of(prompt):
    return prompt.split("Here is the task:")[-1].count("\n> ")


def game_of(prompt):
    tail = prompt.split("Here is the task:")[-1]
    return next(task for task, line in TASK_LINE.items() if line in tail)


def run(agent, policy, task_ids, trials=1):
    return agentgym.evaluate(
        "alfworld", agent, policy, task_ids=task_ids, max_steps=49, trials=trials, workers=0, progress=False
    )


def test_react_prompts_think_retries_arrival_rewrite_and_repeated_action(prompts_dir):
    replies = {
        LOOK: [
            ["think: To solve the task, I need to find an alarmclock, then a desklamp."],
            [" go to desk 2"],
            ["", "ok", "  take ", "take alarmclock 1 from desk 2"],
            ["go to desk 1"],
            ["use desklamp 1"],
        ],
        PUT: [
            ["go to shelf 2"],
            ["take mug 1 from shelf 2"],
            ["put mug 1 in/on desk 1"],
            ["put mug 1 in/on desk 1"],
        ],
    }

    def script(request):
        prompt = request.messages[0]["content"]
        attempt = round(request.sampling.temperature / 0.2)
        return replies[game_of(prompt)][step_of(prompt)][attempt]

    policy = ScriptedPolicy(script)
    result = run("react-alfworld", policy, [LOOK, PUT])
    records = {r["task_id"]: r for r in result.records}
    look, put = records[LOOK], records[PUT]

    assert look["won"] and look["num_steps"] == 5
    assert look["steps"][0]["answered_by_agent"] and look["steps"][1]["observation"] == "OK."
    assert not put["won"] and put["truncated"] and put["num_steps"] == 4 and put["steps"][-1]["ended_by_agent"]
    assert [s["action"] for s in put["steps"]][2:] == ["move mug 1 to desk 1"] * 2  # what the 2.1.2 games take

    for task, key in ((LOOK, "examine"), (PUT, "put")):
        record = records[task]
        actions = [attempts[-1].strip() for attempts in replies[task]]
        expected = prompts_of(head(prompts_dir, key, record["first_observation"]), actions, shown_observations(record))
        sent = [r for r in policy.requests if game_of(r.messages[0]["content"]) == task]
        assert [r.messages[0]["content"] for r in sent] == [
            p for p, attempts in zip(expected, replies[task], strict=True) for _ in attempts
        ]
        assert all(len(r.messages) == 1 and r.messages[0]["role"] == "user" for r in sent)
        assert all(r.sampling.stop == ("\n",) and r.sampling.max_tokens == 256 for r in sent)
    retried = [r for r in policy.requests if game_of(r.messages[0]["content"]) == LOOK]
    assert [r.sampling.temperature for r in retried if step_of(r.messages[0]["content"]) == 2] == [
        0 * 0.2,
        1 * 0.2,
        2 * 0.2,
        3 * 0.2,
    ]

    card = look["agent"]
    assert (
        card["name"] == "react-alfworld" and card["prompts"] == "paper" and card["rewrites"] == ["alfworld-put-as-move"]
    )
    assert card["prompt_files"][0]["file"] == "reflexion/alfworld_3prompts.json"
    assert "/noahshinn/reflexion/218cf0ef1df84b05ce379dd4a8e47f17766733a0/" in card["prompt_files"][0]["url"]


def reflection_query(reflection_code, prompts_dir, failed_scenario, earlier):
    """generate_reflections.py's _generate_reflection_query, with its f-string read from the file's text."""
    template = reflection_code.split('query: str = f"""', 1)[1].split('"""', 1)[0]
    examples = (prompts_dir / "alfworld_reflexion_few_shot_examples.txt").read_text()
    query = template.replace("{FEW_SHOT_EXAMPLES}", examples).replace("{scenario}", failed_scenario)
    if earlier:
        query += "\n\nPlans from past attempts:\n"
        for i, note in enumerate(earlier):
            query += "Trial #" + str(i) + ": " + note + "\n"
    return query + "\n\nNew plan:"


def test_reflexion_memory_and_reflection_queries(prompts_dir, reflection_code):
    reflections = [" I went to shelf 2 twice. Next time I will take the mug there.\n", "Take mug 1 from shelf 2."]
    trials = [
        ["go to shelf 2", "go to shelf 2"],
        ["go to desk 1", "think: the mug is not here.", "think: the mug is not here."],
        ["go to shelf 2", "take mug 1 from shelf 2", "go to desk 2", "put mug 1 in/on desk 2"],
    ]

    def script(request):
        prompt = request.messages[0]["content"]
        if prompt.endswith("New plan:"):
            return reflections[prompt.count("Plans from past attempts:")]
        trial = 2 if "\nTrial 1:\n" in prompt else 1 if "\nTrial 0:\n" in prompt else 0
        return trials[trial][step_of(prompt)]

    policy = ScriptedPolicy(script)
    result = run("reflexion-alfworld", policy, [PUT], trials=3)
    records = result.records
    assert [r["won"] for r in records] == [False, False, True]
    assert [r.get("memory") for r in records[:2]] == reflections  # stored as the completion came

    actor = [r.messages[0]["content"] for r in policy.requests if not r.messages[0]["content"].endswith("New plan:")]
    expected, queries = [], []
    for trial, record in enumerate(records):
        query = head(prompts_dir, "put", record["first_observation"], reflections[:trial])
        observations = shown_observations(record)
        expected += prompts_of(query, trials[trial], observations)
        if not record["won"]:
            lines = [x for a, o in zip(trials[trial], observations, strict=True) for x in ("> " + a, o)]
            failed_scenario = record["first_observation"] + "\n" + "\n".join(lines) + "\n\nSTATUS: FAIL"
            queries.append(reflection_query(reflection_code, prompts_dir, failed_scenario, reflections[:trial]))
    assert actor == expected
    sent = [r for r in policy.requests if r.messages[0]["content"].endswith("New plan:")]
    assert [r.messages[0]["content"] for r in sent] == queries
    assert all(r.sampling.temperature == 0 and r.sampling.stop == () and r.sampling.max_tokens == 256 for r in sent)
    assert {f["file"] for f in records[0]["agent"]["prompt_files"]} == {
        "reflexion/alfworld_3prompts.json",
        "reflexion/alfworld_reflexion_few_shot_examples.txt",
        "reflexion/alfworld_generate_reflections.py",
    }


def context(memory):
    async def oracle():
        return None

    return EpisodeContext("agentgym/ALFWorld-v0", "alfworld", PUT, oracle, len(memory), list(memory))


def test_the_last_three_reflections_are_renumbered_from_zero(prompts_dir, reflection_code):
    memory = ["m0", "m1", "m2", " m3\n"]
    policy = ScriptedPolicy(lambda r: "go to shelf 2")
    agent = ALFWorldReflexionAgent(policy)
    agent.reset("first observation", {}, context(memory))
    asyncio.run(agent.act("first observation", {}))
    assert policy.requests[0].messages[0]["content"] == head(prompts_dir, "put", "first observation", memory[1:]) + (
        "\n>"
    )
    record = {"won": False, "final_observation": "You arrive at shelf 2. On the shelf 2, you see a mug 1."}
    query = agent.reflection_request(record).messages[0]["content"]
    failed = "first observation\n> go to shelf 2\nOn the shelf 2, you see a mug 1.\n\nSTATUS: FAIL"
    assert query == reflection_query(reflection_code, prompts_dir, failed, memory[1:])


def test_six_short_replies_give_an_empty_action_which_repeats_the_initial_one(prompts_dir):
    policy = ScriptedPolicy(lambda r: "no")
    agent = ALFWorldReActAgent(policy)
    agent.reset("first observation", {}, context([]))
    step = asyncio.run(agent.act("first observation", {}))
    assert step.action == "" and step.final  # the original's _last_action starts as ''
    assert [r.sampling.temperature for r in policy.requests] == [i * 0.2 for i in range(6)]


def test_agentgym_prompts_run_the_same_protocol(prompts_dir, tmp_path, monkeypatch):
    demo = Demonstration(
        PUT, "Room.\nYour task is to: put a mug in desk.", (("", "go to desk 1", "You arrive at desk 1. Hi."),)
    )
    policy = ScriptedPolicy(lambda r: "think: where is the mug?")
    monkeypatch.setenv("AGENTGYM_DATA", str(tmp_path))  # no paper files needed
    agent = ALFWorldReActAgent(policy, prompts="agentgym", demos={"pick_and_place_simple": [demo]})
    agent.reset("first observation", {}, context([]))
    step = asyncio.run(agent.act("first observation", {}))
    prompt = policy.requests[0].messages[0]["content"]
    assert "Room.\nYour task is to: put a mug in desk.\n> go to desk 1\nHi.\n" in prompt
    assert prompt.endswith("\nHere is the task:\nfirst observation\n>")
    assert step.observation == "OK." and agent.config()["prompts"] == "agentgym"
    assert agent.config()["prompt_files"] == []


def test_a_preset_without_its_files_names_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTGYM_DATA", str(tmp_path))
    with pytest.raises(DataNotFound, match="agentgym data download prompts"):
        ALFWorldReflexionAgent(ScriptedPolicy(lambda r: ""))
    with pytest.raises(ValueError, match="prompts must be"):
        ALFWorldReActAgent(ScriptedPolicy(lambda r: ""), prompts="mine")
    arguments = preset_arguments("reflexion-alfworld")
    assert arguments["agent"] == "reflexion-alfworld" and arguments["max_steps"] == 49


def test_the_cli_stops_a_preset_without_its_files_with_the_command(prompts_dir, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from agentgym.cli import app

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "alfworld").symlink_to(prompts_dir.parents[1] / "alfworld")
    monkeypatch.setenv("AGENTGYM_DATA", str(tmp_path / "data"))
    arguments = ["run", "--preset", "reflexion-alfworld", "--policy", "expert", "--limit", "1", "--workers", "0"]
    result = CliRunner().invoke(app, [*arguments, "--out", str(tmp_path / "run"), "--no-progress"], terminal_width=300)
    assert result.exit_code == 2 and "agentgym data download prompts" in result.output
    assert not (tmp_path / "run" / "episodes.jsonl").exists()
