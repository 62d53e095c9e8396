"""ToT and RAFA on Game of 24: the search bookkeeping, call by call, against references built here.

The references are written from the papers' prompt files (read through the prompts dataset) and from the rules
of their code, independently of the agents: ``tree-of-thought-llm`` (``methods/bfs.py``, ``tasks/game24.py``)
and ``RAFA_code`` (``Game24/agent/tot_agent.py``, ``Game24/env/game24.py``).
"""

import asyncio
import json

import pytest

import agentgym
from agentgym.baselines import game24_prompts, paper_prompts
from agentgym.baselines.rafa import RAFAAgent
from agentgym.baselines.tot import ToTAgent
from agentgym.error import DataNotFound
from agentgym.presets import preset_arguments
from tests.envs.game24.test_arithmetic import tot_reference
from tests.support.policies import ScriptedPolicy, TablePolicy

X = "4 5 6 10"


def user(prompt):
    return [{"role": "user", "content": prompt}]


def samples(*labels):
    """Value samples: a line of reasoning, then the label on the last line (which is all that is read)."""
    return [f"some reasoning {i}\n{label}" for i, label in enumerate(labels)]


def run_preset(name, policy, out=None, **agent_kwargs):
    arguments = preset_arguments(name)
    arguments["agent_kwargs"].update(agent_kwargs)
    for key in ("split", "limit"):
        arguments.pop(key)
    return agentgym.evaluate(
        arguments.pop("env_id"),
        arguments.pop("agent"),
        policy,
        task_ids=[X],
        workers=0,
        progress=False,
        out=out,
        **arguments,
    )


# --- ToT: one puzzle, breadth 5, every rule of bfs.py exercised -----------------------------------------

L1, L2, L4 = "10 - 6 = 4 (left: 4 4 5)", "4 + 5 = 9 (left: 6 9 10)", "5 * 4 = 20 (left: 6 10 20)"
L5, L6 = "6 - 4 = 2 (left: 2 5 10)", "4 * 6 = 24 (left: 5 10 24)"
Y1, Y2, Y4, Y5, Y7 = L1 + "\n", L2 + "\n", L4 + "\n", L5 + "\n", "\n"  # Y7: the reply's trailing empty line
C1, C2 = Y4 + "10 - 6 = 4 (left: 4 20)\n", Y4 + "20 + 6 = 26 (left: 10 26)\n"
C3, C4 = Y1 + "4 * 5 = 20 (left: 4 20)\n", Y1 + "4 + 4 = 8 (left: 5 8)\n"
C5, C6, C7 = Y5 + "2 * 10 = 20 (left: 5 20)\n", Y2 + "junk\n", "\n\n"
D1, D2 = C1 + "4 + 20 = 24 (left: 24)\n", C1 + "20 - 4 = 16 (left: 16)\n"
D3, D4, D5, D6 = (
    C3 + "4 + 20 = 24 (left: 24)\n",
    C5 + "20 + 5 = 25 (left: 25)\n",
    C4 + "5 + 8 = 13 (left: 13)\n",
    "\n\n\n",
)
F1, F2 = D1 + "Answer: 5 * 4 * (10 - 6) = 24\n", D3 + "Answer: 4 * 5 + 10 + 6 = 24\n"
F3, F4, F5 = D3 + "Answer: (10 - 6) * 5 + 4 = 24\n", D4 + "25 - 1 = 24 (left: 24)\n", "\n\n\n\n"
F6 = D2 + "16 * 1 = 16 (left: 16)\n"


def tot_script(prompts):
    """(prompt, reply) of every call, in ToT's order; values computed by hand beside each step."""
    propose = lambda numbers: prompts["propose_prompt"].format(input=numbers)  # noqa: E731
    value = lambda numbers: prompts["value_prompt"].format(input=numbers)  # noqa: E731
    last = lambda answer: prompts["value_last_step_prompt"].format(input=X, answer=answer)  # noqa: E731
    cot = lambda y: prompts["cot_prompt"].format(input=X) + "Steps:" + y  # noqa: E731
    return [
        # step 0: 7 candidates, L1 repeated (valued 0, not asked), the empty last line valued as an answer
        (propose(X), "\n".join([L1, L2, L1, L4, L5, L6, ""])),
        (value("4 4 5"), samples("sure", "sure", "likely")),  # 41
        (value("6 9 10"), samples("likely", "impossible", "likely")),  # 2.001
        (value("6 10 20"), samples("sure", "sure", "sure")),  # 60
        (value("2 5 10"), samples("sure", "likely", "Likely")),  # 21: a label must match exactly
        (value("5 10 24"), samples("impossible", "impossible", "impossible")),  # 0.003
        (last(""), samples("impossible", "Impossible", "likely")),  # 1.001
        # step 1: kept Y4 Y1 Y5 Y2 Y7; C3 shares C1's prompt and C7 step 0's last-step prompt (cached)
        (propose("6 10 20"), "10 - 6 = 4 (left: 4 20)\n20 + 6 = 26 (left: 10 26)"),
        (propose("4 4 5"), "4 * 5 = 20 (left: 4 20)\n4 + 4 = 8 (left: 5 8)"),
        (propose("2 5 10"), "2 * 10 = 20 (left: 5 20)"),
        (propose("6 9 10"), "junk"),
        (propose(""), ""),
        (value("4 20"), samples("sure", "sure", "sure")),  # 60
        (value("10 26"), samples("impossible", "impossible", "impossible")),  # 0.003
        (value("5 8"), samples("likely", "likely", "impossible")),  # 2.001
        (value("5 20"), samples("sure", "likely", "impossible")),  # 21.001
        (last("junk"), samples("impossible", "impossible", "impossible")),  # 0.003
        # step 2: kept C1 C3 C5 C4 C7; the same propose prompt twice is asked twice
        (propose("4 20"), "4 + 20 = 24 (left: 24)\n20 - 4 = 16 (left: 16)"),
        (propose("4 20"), "4 + 20 = 24 (left: 24)"),
        (propose("5 20"), "20 + 5 = 25 (left: 25)"),
        (propose("5 8"), "5 + 8 = 13 (left: 13)"),
        (propose(""), ""),
        (value("24"), samples("sure", "sure", "sure")),  # 60
        (value("16"), samples("impossible", "impossible", "impossible")),  # 0.003
        (value("25"), samples("impossible", "impossible", "likely")),  # 1.002
        (value("13"), samples("impossible", "impossible", "impossible")),  # 0.003
        # step 3: kept D1 D3 D4 D6 D2; answers proposed with the cot prompt where 24 is left, valued last-step
        (cot(D1), "Answer: 5 * 4 * (10 - 6) = 24"),
        (cot(D3), "Answer: 4 * 5 + 10 + 6 = 24\nAnswer: (10 - 6) * 5 + 4 = 24"),
        (propose("25"), "25 - 1 = 24 (left: 24)"),
        (propose(""), ""),
        (propose("16"), "16 * 1 = 16 (left: 16)"),
        (last("5 * 4 * (10 - 6) = 24"), samples("sure", "sure", "sure")),  # 60
        (last("4 * 5 + 10 + 6 = 24"), samples("impossible", "impossible", "sure")),  # 20.002
        (last("(10 - 6) * 5 + 4 = 24"), samples("sure", "sure", "likely")),  # 41
        # F4 and F6 (4 lines, no answer: 0 by the rule) hit the cache first, as in ToT: 60 and 0.003
    ]


TOT_STEPS = [  # (candidates, hand-computed values, kept)
    ([Y1, Y2, Y1, Y4, Y5, L6 + "\n", Y7], [41, 2.001, 0, 60, 21, 0.003, 1.001], [Y4, Y1, Y5, Y2, Y7]),
    ([C1, C2, C3, C4, C5, C6, C7], [60, 0.003, 60, 2.001, 21.001, 0.003, 1.001], [C1, C3, C5, C4, C7]),
    ([D1, D2, D3, D4, D5, D6], [60, 0.003, 60, 1.002, 0.003, 1.001], [D1, D3, D4, D6, D2]),
    ([F1, F2, F3, F4, F5, F6], [60, 20.002, 41, 60, 1.001, 0.003], [F1, F4, F3, F2, F5]),
]


def test_tot_preset_runs_bfs_as_tot_does_call_by_call(shared_data, tmp_path):
    prompts = paper_prompts.python_strings("tot/game24.py")
    script = tot_script(prompts)
    policy = TablePolicy(script)
    result = run_preset("tot-game24", policy, out=tmp_path)
    [record] = result.records

    assert [r.messages for r in policy.requests] == [user(prompt) for prompt, _ in script]  # order and text
    assert not policy.unserved
    calls_per_step = [7, 10, 9, 8]
    assert sum(calls_per_step) == len(policy.requests) == len(record["steps"][0]["usage"])
    for request, (_, reply) in zip(policy.requests, script, strict=True):
        assert (request.sampling.temperature, request.sampling.max_tokens, request.sampling.stop) == (0.7, 1000, ())
        assert request.sampling.n == (1 if isinstance(reply, str) else 3)  # one proposal call, three value samples

    trace = json.loads(record["steps"][0]["response"])["steps"]
    for logged, (candidates, values, kept) in zip(trace, TOT_STEPS, strict=True):
        assert logged["new_ys"] == candidates
        assert logged["values"] == pytest.approx(values)
        assert logged["select_new_ys"] == kept

    outputs = [F1, F4, F3, F2, F5]
    assert record["steps"][0]["action"] == json.dumps(outputs)
    assert [tot_reference(o, X) for o in outputs] == [False, False, True, False, False]
    assert record["won"] and record["score"] == 0.0  # any of 5 correct; the first output is not
    assert (result.summary["success_rate"], result.summary["mean_score"]) == (1.0, 0.0)
    observation = record["final_observation"]
    assert "Output 3: Correct" in observation and "Output 1: Wrong answer" in observation

    card = json.loads((tmp_path / "run.json").read_text())
    assert card["agent"]["prompts"] == "tot"
    assert card["agent"]["prompt_files"] == [paper_prompts.source("tot/game24.py").as_card()]
    assert card["env_kwargs"] == {"judge": "answer"} and card["env_protocol"]["judge"] == "answer"


def test_tot_b1_keeps_one_state_and_sends_one_output(shared_data):
    prompts = paper_prompts.python_strings("tot/game24.py")
    script = [  # b=1: the best candidate only, each step
        (prompts["propose_prompt"].format(input=X), "\n".join([L2, L1])),
        (prompts["value_prompt"].format(input="6 9 10"), samples("likely", "likely", "likely")),
        (prompts["value_prompt"].format(input="4 4 5"), samples("sure", "likely", "likely")),
        (prompts["propose_prompt"].format(input="4 4 5"), "4 * 5 = 20 (left: 4 20)"),
        (prompts["value_prompt"].format(input="4 20"), samples("sure", "sure", "sure")),
        (prompts["propose_prompt"].format(input="4 20"), "4 + 20 = 24 (left: 24)"),
        (prompts["value_prompt"].format(input="24"), samples("sure", "sure", "sure")),
        (prompts["cot_prompt"].format(input=X) + "Steps:" + D3, "Answer: (10 - 6) * 5 + 4 = 24"),
        (prompts["value_last_step_prompt"].format(input=X, answer="(10 - 6) * 5 + 4 = 24"), samples("sure") * 3),
    ]
    policy = TablePolicy(script)
    [record] = run_preset("tot-b1-game24", policy).records
    assert not policy.unserved and len(policy.requests) == len(script)
    assert json.loads(record["steps"][0]["action"]) == [F3]
    assert record["won"] and record["score"] == 1.0


def test_tot_preset_runs_with_our_prompts(shared_data):
    ours = game24_prompts.project_prompts()  # the same fields, so the same search runs on them
    policy = TablePolicy(tot_script(ours))
    result = run_preset("tot-game24", policy, prompts="agentgym")
    assert not policy.unserved and result.records[0]["won"]
    agent = result.records[0]["agent"]
    assert (agent["prompts"], agent["prompt_files"], agent["prompt_sha256"]) == ("agentgym", [], ours.sha256())
    assert ours.sha256() != game24_prompts.paper_prompts_for("tot/game24.py", ToTAgent.templates).sha256()


def test_a_preset_without_the_prompt_files_names_the_download(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTGYM_DATA", str(tmp_path))
    game24_prompts.paper_prompts_for.cache_clear()
    try:
        with pytest.raises(DataNotFound, match="agentgym data download prompts"):
            run_preset("tot-game24", ScriptedPolicy(str))
    finally:
        game24_prompts.paper_prompts_for.cache_clear()


def test_tot_on_the_step_wise_env_searches_on_from_the_committed_steps(shared_data):
    ours = game24_prompts.project_prompts()
    propose = {n: ours["propose_prompt"].format(input=n) for n in (X, "4 4 5", "4 21", "25", "4 20")}
    cot = ours["cot_prompt"].format(input=X) + "Steps:"
    asked = []

    def script(request):
        prompt = request.messages[-1]["content"]
        asked.append(prompt)
        if prompt == propose["4 4 5"]:  # a miscalculated step the first time
            return "4 * 5 = 20 (left: 4 20)" if asked.count(prompt) > 1 else "4 * 5 = 21 (left: 4 21)"
        replies = {X: L1, "4 21": "4 + 21 = 25 (left: 25)", "25": "no idea", "4 20": "4 + 20 = 24 (left: 24)"}
        for numbers, reply in replies.items():
            if prompt == propose[numbers]:
                return reply
        return "Answer: (10 - 6) * 5 + 4 = 24" if prompt.startswith(cot) else "ok\nsure"

    result = agentgym.evaluate(
        "game24", "tot", ScriptedPolicy(script), task_ids=[X], workers=0, progress=False, agent_kwargs={"breadth": 1}
    )
    [record] = result.records
    assert record["won"] and record["num_steps"] == 2
    assert "Step 2 is rejected" in record["steps"][1]["observation"]
    second_plan = asked[len(record["steps"][0]["usage"]) :]
    assert second_plan[0] == propose["4 4 5"] and propose[X] not in second_plan  # on from the committed step
    assert cot + L1 + "\n4 * 5 = 20 (left: 4 20)\n4 + 20 = 24 (left: 24)\n" in asked
    assert (
        record["steps"][1]["action"]
        == "4 * 5 = 20 (left: 4 20)\n4 + 20 = 24 (left: 24)\nAnswer: (10 - 6) * 5 + 4 = 24\n"
    )


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"breadth": 0}, "breadth must be a whole number from 1 to 100"),
        ({"value_samples": 10**9}, "value_samples must be a whole number from 1 to 100"),
        ({"proposals": "x"}, "proposals must be a whole number from 1 to 1000"),
        ({"temperature": -1}, "temperature must be a number from 0 to 2"),
        ({"prompts": "rafa"}, "prompts must be tot or agentgym"),
        ({"outputs": "best"}, "outputs must be one of first, all"),
    ],
)
def test_bad_settings_are_refused_in_one_line(settings, message):
    with pytest.raises(ValueError, match=message):
        agentgym.evaluate("game24", "tot", ScriptedPolicy(str), task_ids=[X], workers=0, agent_kwargs=settings)


def test_outputs_all_needs_the_env_that_judges_them():
    with pytest.raises(ValueError, match="outputs=all needs the one-shot env"):
        agentgym.evaluate("game24", "tot", ScriptedPolicy(str), task_ids=[X], agent_kwargs={"outputs": "all"})


def test_tot_refuses_other_envs():
    from agentgym.agent import RunSetup

    with pytest.raises(ValueError, match="plays Game of 24 only"):
        asyncio.run(
            ToTAgent.factory(ScriptedPolicy(str), RunSetup("agentgym/ALFWorld-v0", "alfworld", {}, "valid_unseen"))
        )


# --- RAFA: replans every step; its critic re-scores a state once it has a lesson about it ----------------


def rafa_script(prompts):
    """A model that proposes 6 9 10 first, and calls 6 9 10 'sure' until the critic has learnt otherwise."""
    propose = {
        X: "\n".join([L2, L1]),
        "6 9 10": "6 + 9 = 15 (left: 10 15)",
        "10 15": "10 + 15 = 25 (left: 25)",
        "25": "25 - 1 = 24 (left: 24)",
        "4 4 5": "4 * 5 = 20 (left: 4 20)",
        "4 20": "4 + 20 = 24 (left: 24)",
    }
    propose_of = {prompts["propose_prompt"].format(input=k): v for k, v in propose.items()}
    value_of = {prompts["value_prompt"].format(input=k): k for k in ("6 9 10", "4 4 5", "10 15", "25", "4 20", "24")}
    cot = prompts["cot_prompt"].format(input=X) + "Steps:\n"

    def script(request):
        prompt = request.messages[-1]["content"]
        if prompt in propose_of:
            return propose_of[prompt]
        if prompt.startswith(cot):
            return "Answer: (10 - 6) * 5 + 4 = 24"
        if prompt in value_of:
            learnt = "6 9 10: impossible" in request.messages[0]["content"]
            state = value_of[prompt]
            if state == "25" or (state == "6 9 10" and learnt):
                return "no\nimpossible"
            return "ok\nSure"  # RAFA lowercases the label
        if prompt.startswith(prompts["value_last_step_prompt"].split("{input}")[0]):
            return "fine\nsure"
        if prompt == prompts["reflect_prompt"].format(input=X, answer=ATTEMPT, feedback=EVALUATION):
            return "4 + 5 = 9 (left: 6 9 10): impossible"
        if prompt == prompts["value_reflect_prompt"].format(input=X, answer=ATTEMPT, feedback=EVALUATION):
            return "6 9 10: impossible"
        raise AssertionError(f"unexpected prompt:\n{prompt}")

    return script


ATTEMPT = f"Attempt answer: Step 1: {L2}"  # RAFA's env shows the committed steps and the first rejected one
EVALUATION = "Evaluation: Step 1 is rejected: it is impossible to reach 24 from 6 9 10."  # the env's feedback


def test_rafa_rescores_a_state_after_a_lesson_and_keeps_lessons_apart(shared_data):
    prompts = paper_prompts.python_strings("rafa/game24.py")
    policy = ScriptedPolicy(rafa_script(prompts))
    result = run_preset("rafa-game24", policy)
    [record] = result.records
    assert record["won"] and record["num_steps"] == 2
    plan = [L2, "6 + 9 = 15 (left: 10 15)", "10 + 15 = 25 (left: 25)", "25 - 1 = 24 (left: 24)", ""]
    assert record["steps"][0]["action"] == "\n".join(plan)
    assert "Step 1 is rejected" in record["steps"][1]["observation"]

    state = prompts["value_prompt"].format(input="6 9 10")
    critic_6_9_10 = [r for r in policy.requests if r.messages[-1]["content"] == state]
    assert len(critic_6_9_10) == 2  # no cache: asked again on the second plan, with the critic's lesson
    assert critic_6_9_10[0].messages[0]["content"] == game24_prompts.LESSONS_HEADER
    assert critic_6_9_10[1].messages[0]["content"] == game24_prompts.LESSONS_HEADER + "6 9 10: impossible"
    first, second = (json.loads(step["response"]) for step in record["steps"])
    assert first["steps"][0]["values"] == pytest.approx([60, 60])  # RAFA reads 'Sure' (lowercased)
    assert second["steps"][0]["values"] == pytest.approx([0.003, 60])
    lesson = "4 + 5 = 9 (left: 6 9 10): impossible"
    assert second["lessons"] == {"proposer": [lesson], "critic": ["6 9 10: impossible"]}
    assert record["steps"][1]["action"].startswith(L1 + "\n4 * 5 = 20 (left: 4 20)\n")

    proposes = [r for r in policy.requests if len(r.messages) == 3]
    assert proposes[0].messages[0]["content"] == game24_prompts.INTRODUCTION
    assert proposes[-1].messages[1]["content"] == game24_prompts.LESSONS_HEADER + lesson
    assert all(r.sampling.stop == ("\n\n",) and r.sampling.temperature == 0.7 for r in proposes)
    values = [r for r in policy.requests if len(r.messages) == 2]
    assert all(r.sampling.n == 3 and r.sampling.temperature == 0.3 for r in values)
    reflections = [r for r in policy.requests if len(r.messages) == 1]
    assert len(reflections) == 2 and all(r.sampling.temperature == 0.7 for r in reflections)
    assert record["agent"]["prompt_files"] == [paper_prompts.source("rafa/game24.py").as_card()]
    assert preset_arguments("rafa-game24")["max_steps"] == 21


def test_rafa_keeps_ten_proposals_and_values_repeats_again(shared_data):
    agent = RAFAAgent(ScriptedPolicy(str), prompts="rafa")
    prompts = paper_prompts.python_strings("rafa/game24.py")
    asked = []

    def script(request):
        prompt = request.messages[-1]["content"]
        asked.append(prompt)
        return "\n".join([L1] * 12) if "Possible next steps" in prompt else "x\nimpossible"

    agent.policy = ScriptedPolicy(script)
    ys, infos = asyncio.run(agent.search(X, [""], 1, []))
    assert len(infos[0]["new_ys"]) == 10 and infos[0]["values"] == pytest.approx([0.003] * 10)
    assert asked.count(prompts["value_prompt"].format(input="4 4 5")) == 10  # no cache, no repeat rule
    assert ys == [Y1]
