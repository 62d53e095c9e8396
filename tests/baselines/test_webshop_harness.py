"""The WebShop presets replay scripted replies on real WebShop episodes; every prompt is checked against a reference.

The references are built here from the downloaded prompt files (the notebook's JSON read with ``ast``, the text
files as they are) and the rules of ReAct's ``webshop_run`` and Reflexion's ``webshop_runs`` (``webshop_trial.py``,
``env_history.py``, ``generate_reflections.py``), by string concatenation, never by calling the harness. The
episodes are played on the 1k catalog with synthetic goals (the presets' full catalog is not test data).
"""

import ast
import asyncio
import json

import pytest

import agentgym
from agentgym.agent import EpisodeContext, RunSetup
from agentgym.baselines.webshop_harness import WebShopReActAgent, WebShopReflexionAgent
from agentgym.error import DataNotFound
from agentgym.presets import preset_arguments
from tests.support.policies import ScriptedPolicy

pytest.importorskip("thefuzz")
pytest.importorskip("spacy")

ENV_KWARGS = {"observation_mode": "react", "client_rules": True}
TASK = "synthetic_6"  # men's shorts, navy, x-large; B09PYSKD7H is on the first results page of the query below
QUERY = "search[men shorts elastic waist]"
PRODUCT = "click[B09PYSKD7H]"


@pytest.fixture
def prompts_dir(shared_data):
    if not (shared_data / "webshop" / "items_ins_v2_1000.json").is_file():
        pytest.skip("the WebShop data is not under AGENTGYM_DATA")
    folder = shared_data / "prompts"
    if not (folder / "react" / "WebShop.ipynb").is_file():
        pytest.skip("the prompts dataset is not in AGENTGYM_DATA")
    return folder


@pytest.fixture
def reflection_code(prompts_dir):
    path = prompts_dir / "reflexion" / "webshop_generate_reflections.py"
    if not path.is_file():
        pytest.skip("reflexion/webshop_generate_reflections.py is not in this copy of the prompts dataset")
    return path.read_text()


def prompt1(prompts_dir):
    """ReAct's prompt1: the string constant of the notebook's code cell that assigns it."""
    for cell in json.loads((prompts_dir / "react" / "WebShop.ipynb").read_text())["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and source.lstrip().startswith("# trivial") and "\nprompt1 = " in source:
            tree = ast.parse(source)
            return next(n.value.value for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "prompt1")
    raise AssertionError("no prompt1 in the notebook")


def observations_after(record):
    """The observation each action got, in order."""
    return [step["observation"] for step in record["steps"][1:]] + [record["final_observation"]]


def actor_prompts(base, record):
    """webshop_run's prompt before each action: init_prompt + prompt[-(6400-len(init_prompt)):]."""
    transcript = record["first_observation"] + "\n\nAction:"
    prompts = [base + transcript[-(6400 - len(base)) :]]
    for step, observation in zip(record["steps"], observations_after(record), strict=True):
        transcript += " " + step["action"] + "\nObservation: " + observation + "\n\nAction:"
        prompts.append(base + transcript[-(6400 - len(base)) :])
    return prompts[:-1], transcript


def run(agent, policy, trials=1, max_steps=14):
    return agentgym.evaluate(
        "webshop",
        agent,
        policy,
        task_ids=[TASK],
        env_kwargs=ENV_KWARGS,
        max_steps=max_steps,
        trials=trials,
        workers=0,
        progress=False,
    )


def test_react_prompts_think_invalid_option_window_and_the_step_cap(prompts_dir):
    replies = [" think[I need men's shorts.]", "click[Next >]", QUERY, "click[Next >]", "click[< Prev]", PRODUCT]
    replies += ["click[navy]", "click[Description]", "click[< Prev]", "click[Features]", "click[< Prev]"]
    replies += ["click[Reviews]", "click[< Prev]", "click[x-large]", "click[Buy Now]"]
    answers = iter(replies)
    policy = ScriptedPolicy(lambda r: next(answers))
    record = run("react-webshop", policy).records[0]

    assert record["num_steps"] == 14 and record["truncated"] and not record["won"]  # the 15th reply never played
    assert [s["action"] for s in record["steps"]] == [r.lstrip(" ") for r in replies[:14]]
    seen = observations_after(record)
    assert seen[0] == "OK." and seen[1] == seen[3] == seen[4] == "Invalid action!"  # Next > before and after search
    assert seen[6] == "You have clicked navy." and seen[13] == "You have clicked x-large."

    base = prompt1(prompts_dir)
    expected, transcript = actor_prompts(base, record)
    assert [r.messages[0]["content"] for r in policy.requests] == expected
    assert len(expected[-1]) == 6400 and expected[-1].startswith(base)  # the window cut the transcript's head
    assert not expected[-1][len(base) :].startswith("\nWebShop") and len(base) + len(transcript) > 6400
    assert all(len(r.messages) == 1 and r.messages[0]["role"] == "user" for r in policy.requests)
    assert all(
        r.sampling.stop == ("\n",) and r.sampling.max_tokens == 100 and r.sampling.temperature == 0
        for r in policy.requests
    )
    card = record["agent"]
    assert card["prompts"] == "paper" and card["prompt_files"][0]["file"] == "react/WebShop.ipynb"


def test_react_scores_the_purchase(prompts_dir):
    answers = iter([QUERY, PRODUCT, "click[navy]", "click[x-large]", "click[Buy Now]"])
    record = run("react-webshop", ScriptedPolicy(lambda r: next(answers))).records[0]
    assert record["won"] and record["score"] == 1.0 and record["num_steps"] == 5
    assert record["final_observation"] == "Your score (min 0.0, max 1.0): 1.0"


def reflexion_log_entry(base, record, memory):
    """The trial log's text of a failed episode: str(EnvironmentHistory), as webshop_trial.py writes it."""
    query = base
    if memory:
        query += "\nYour memory for the task below:"
        for i, note in enumerate(memory):
            query += "\nTrial " + str(i) + ":\n" + note.strip()
    query += "\nHere is the task:\n" + record["first_observation"]
    items = ["> reset", record["first_observation"]]
    for step, observation in zip(record["steps"], observations_after(record), strict=True):
        items += ["> " + step["action"], observation]
    history = query + "\n" + "\n".join(items)
    log = "\n#####\n\nEnvironment #0:\n" + history + "\n\nSTATUS: FAIL\n\n#####\n"
    log += "\n#####\n\nEnvironment #1: Success\n\n#####\n"  # another environment, as the log holds them all
    return log.split("#####\n\n#####")[0]


def reflection_query(reflection_code, prompts_dir, entry, earlier):
    """generate_reflections.py's _generate_reflection_query, its f-string read from the file's text."""
    template = reflection_code.split('query: str = f"""', 1)[1].split('"""', 1)[0]
    examples = (prompts_dir / "reflexion" / "webshop_reflection_few_shot_examples.txt").read_text()
    scenario = entry.split("Instruction:")[-1].strip()
    query = template.replace("{FEW_SHOT_EXAMPLES}", examples).replace("{scenario}", scenario)
    if earlier:
        query += "\n\nPlans from past attempts:\n"
        for i, note in enumerate(earlier):
            query += "Trial #" + str(i) + ": " + note + "\n"
    return query + "\n\nNew plan:"


def test_reflexion_retries_reflections_and_an_actor_that_never_sees_them(prompts_dir, reflection_code):
    reflections = [" I bought the wrong size. Next time click x-large first.\n", "Search, then click[x-large]."]
    trials = [
        [["", "ok", QUERY], [PRODUCT], ["  ", "click[navy]"], ["click[small]"], ["click[Buy Now]"]],
        [[QUERY], [PRODUCT], ["click[Back to Search]"], ["think[Search again.]"], ["think[Search again.]"]],
    ]
    state = {"trial": 0, "step": 0}

    def script(request):
        if request.messages[0]["content"].endswith("New plan:"):
            state.update(trial=state["trial"] + 1, step=0)
            return reflections[state["trial"] - 1]
        attempts = trials[state["trial"]][state["step"]]
        reply = attempts[min(round(request.sampling.temperature / 0.2), len(attempts) - 1)]
        if len(reply.strip()) >= 5:
            state["step"] += 1
        return reply

    policy = ScriptedPolicy(script)
    records = run("reflexion-webshop", policy, trials=2, max_steps=5).records
    assert [r["won"] for r in records] == [False, False] and records[0]["terminated"] and records[1]["truncated"]
    assert [r.get("memory") for r in records] == reflections  # stored as the completion came
    assert [s["action"] for s in records[0]["steps"]] == [
        QUERY,
        PRODUCT,
        "click[navy]",
        "click[small]",
        "click[Buy Now]",
    ]

    base = (prompts_dir / "reflexion" / "webshop_base_prompt.txt").read_text()
    actor = [r for r in policy.requests if not r.messages[0]["content"].endswith("New plan:")]
    expected = []
    for trial, record in enumerate(records):
        prompts, _ = actor_prompts(base, record)  # no memory: the actor's prompt is the base prompt + transcript
        expected += [p for p, attempts in zip(prompts, trials[trial], strict=True) for _ in attempts]
    assert [r.messages[0]["content"] for r in actor] == expected
    assert not any(reflections[0].strip() in r.messages[0]["content"] for r in actor)
    assert [r.sampling.temperature for r in actor[:6]] == [0.0, 0.2, 0.4, 0.0, 0.0, 0.2]
    assert all(r.sampling.max_tokens == 100 and r.sampling.stop == ("\n",) for r in actor)

    sent = [r for r in policy.requests if r.messages[0]["content"].endswith("New plan:")]
    queries = [
        reflection_query(reflection_code, prompts_dir, reflexion_log_entry(base, record, reflections[:trial]), earlier)
        for trial, (record, earlier) in enumerate(zip(records, [[], reflections[:1]], strict=True))
    ]
    assert [r.messages[0]["content"] for r in sent] == queries
    assert "Plans from past attempts:\nTrial #0: " + reflections[0] + "\n\n\nNew plan:" in queries[1]
    assert all(r.sampling.temperature == 0 and r.sampling.stop == () and r.sampling.max_tokens == 256 for r in sent)
    assert {f["file"] for f in records[0]["agent"]["prompt_files"]} == {
        "reflexion/webshop_base_prompt.txt",
        "reflexion/webshop_reflection_few_shot_examples.txt",
        "reflexion/webshop_generate_reflections.py",
    }


def context(memory):
    async def oracle():
        return None

    return EpisodeContext("agentgym/WebShop-v0", "webshop", TASK, oracle, len(memory), list(memory))


def test_the_scenario_starts_after_the_last_search_page_and_memory_keeps_three(prompts_dir, reflection_code):
    memory = ["m0", "m1", "m2", " m3\n"]
    agent = WebShopReflexionAgent(ScriptedPolicy(lambda r: QUERY))
    first = "\nWebShop \nInstruction:  \ngoal \n[Search] "
    agent.reset(first, {}, context(memory))
    for observation in [first, "\n[Back to Search] \nresults ", first]:
        asyncio.run(agent.act(observation, {}))
    record = {"won": False, "final_observation": "\n[Back to Search] \nagain "}
    query = agent.reflection_request(record).messages[0]["content"]
    steps = [{"action": QUERY, "observation": o} for o in (first, "\n[Back to Search] \nresults ", first)]
    log_record = {"first_observation": first, "steps": steps, **record}
    entry = reflexion_log_entry(
        prompts_dir.joinpath("reflexion", "webshop_base_prompt.txt").read_text(), log_record, memory[1:]
    )
    assert query == reflection_query(reflection_code, prompts_dir, entry, memory[1:])
    assert "goal \n[Search] \n> search[men shorts elastic waist]\n\n[Back to Search] \nagain \n\nSTATUS: FAIL" in query


def test_agentgym_prompts_run_the_same_protocol(prompts_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTGYM_DATA", str(tmp_path))  # no paper files needed
    policy = ScriptedPolicy(lambda r: "x")
    agent = WebShopReflexionAgent(policy, prompts="agentgym")
    agent.reset("page", {}, context([]))
    step = asyncio.run(agent.act("page", {}))
    assert step.action == "" and len(policy.requests) == 6  # six short replies: the action is empty
    assert policy.requests[0].messages[0]["content"].endswith("\n\npage\n\nAction:")
    assert agent.config()["prompts"] == "agentgym" and agent.config()["prompt_files"] == []


def test_the_presets_need_their_files_and_reacts_client(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTGYM_DATA", str(tmp_path))
    with pytest.raises(DataNotFound, match="agentgym data download prompts"):
        WebShopReActAgent(ScriptedPolicy(lambda r: ""))
    setup = RunSetup("agentgym/WebShop-v0", "webshop", {"observation_mode": "text"}, "test")
    with pytest.raises(ValueError, match="--preset react-webshop"):
        asyncio.run(WebShopReActAgent.factory(ScriptedPolicy(lambda r: ""), setup, prompts="agentgym"))
    for name in ("react-webshop", "reflexion-webshop"):
        arguments = preset_arguments(name)
        assert arguments["agent"] == name and arguments["max_steps"] == 14
        assert arguments["env_kwargs"] == {"goals": "human", "catalog": "full", **ENV_KWARGS}
    assert preset_arguments("reflexion-webshop")["trials"] == 10 and preset_arguments("react-webshop")["limit"] == 500
