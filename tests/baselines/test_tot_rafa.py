import re
from fractions import Fraction

import pytest

import agentgym
from agentgym.baselines.tot import (
    ANSWER_INSTRUCTION,
    PROPOSE_INSTRUCTION,
    REFLECT_STATES_INSTRUCTION,
    REFLECT_STEPS_INSTRUCTION,
    VALUE_INSTRUCTION,
    parse_proposals,
)
from agentgym.envs.game24.solver import solvable
from tests.support.policies import ScriptedPolicy


def numbers_in(text: str) -> tuple[Fraction, ...]:
    return tuple(sorted(Fraction(t) for t in re.findall(r"-?\d+(?:/\d+)?", text)))


def make_script(proposals: dict[str, list[str]], answer: str):
    """Proposals by input numbers; values from the exact solver; a fixed answer; reflections echo feedback."""

    def script(request):
        system, last = request.messages[0]["content"], request.messages[-1]["content"]
        if system == PROPOSE_INSTRUCTION:
            numbers = last.split("\n")[0].removeprefix("Input: ")
            return "\n".join(proposals.get(numbers, []))
        if system == VALUE_INSTRUCTION:
            return "fine\nsure" if solvable(numbers_in(last.split("\n\n")[0])) else "no\nimpossible"
        if system == ANSWER_INSTRUCTION:
            return answer
        if system == REFLECT_STEPS_INSTRUCTION:
            return "lesson about steps: " + last.splitlines()[-1]
        if system == REFLECT_STATES_INSTRUCTION:
            return "lesson about states"
        raise AssertionError(system)

    return script


PROPOSALS = {
    "4 5 6 10": ["4 + 5 = 9 (left: 6 9 10)", "10 - 6 = 4 (left: 4 4 5)", "junk line"],
    "4 4 5": ["4 + 4 = 8 (left: 5 8)", "4 * 5 = 20 (left: 4 20)"],
    "6 9 10": ["6 + 9 = 15 (left: 10 15)"],
    "4 20": ["4 + 20 = 24 (left: 24)"],
    "5 8": ["5 + 8 = 13 (left: 13)"],
    "10 15": ["10 + 15 = 25 (left: 25)"],
}


def test_parse_proposals():
    assert parse_proposals("a\n4 + 5 = 9 (left: 6 9 10)\n 8 / 3 = 8/3 (left: 3 8/3 8)\n1 + 1 = 2") == [
        ("4 + 5 = 9 (left: 6 9 10)", ("6", "9", "10")),
        ("8 / 3 = 8/3 (left: 3 8/3 8)", ("3", "8/3", "8")),
    ]


@pytest.mark.parametrize("breadth", [1, 2])
def test_tot_search_keeps_the_best_valued_states(breadth, shared_data):
    policy = ScriptedPolicy(make_script(PROPOSALS, "Answer: (10 - 6) * 5 + 4 = 24"))
    result = agentgym.evaluate(
        "game24", "tot", policy, task_ids=["4 5 6 10"], workers=0, progress=False, agent_kwargs={"breadth": breadth}
    )
    [record] = result.records
    assert record["won"] and record["num_steps"] == 1
    assert record["steps"][0]["action"] == (
        "10 - 6 = 4 (left: 4 4 5)\n4 * 5 = 20 (left: 4 20)\n4 + 20 = 24 (left: 24)\nAnswer: (10 - 6) * 5 + 4 = 24"
    )
    proposes = [r for r in policy.requests if r.messages[0]["content"] == PROPOSE_INSTRUCTION]
    expanded = [r.messages[-1]["content"].split("\n")[0] for r in proposes]
    assert expanded[0] == "Input: 4 5 6 10"
    assert ("Input: 6 9 10" in expanded) == (breadth == 2)  # b=2 also expands the second-best state
    values = [r for r in policy.requests if r.messages[0]["content"] == VALUE_INSTRUCTION]
    assert all(r.sampling.n == 3 for r in values)
    assert len({r.messages[-1]["content"] for r in values}) == len(values)  # each state valued once


def test_rafa_acts_the_valid_leading_steps_and_learns_from_feedback(shared_data):
    bad = dict(PROPOSALS, **{"4 4 5": ["4 * 5 = 21 (left: 4 21)"], "4 21": ["4 + 21 = 24 (left: 24)"]})
    script_bad = make_script(bad, "Answer: 4 + 21 = 24")
    script_good = make_script(PROPOSALS, "Answer: (10 - 6) * 5 + 4 = 24")
    reflected = []

    def script(request):  # a wrong plan until the agent has reflected on the env's feedback
        if request.messages[0]["content"] == REFLECT_STEPS_INSTRUCTION:
            reflected.append(request)
        return (script_good if reflected else script_bad)(request)

    policy = ScriptedPolicy(script)
    result = agentgym.evaluate("game24", "rafa", policy, task_ids=["4 5 6 10"], workers=0, progress=False)
    [record] = result.records
    assert record["won"] and record["num_steps"] == 2
    first_observation = record["steps"][1]["observation"]
    assert "Step 1 is correct: 10 - 6 = 4" in first_observation and "Step 2 is rejected" in first_observation
    second_plan_inputs = [
        r.messages[-1]["content"]
        for r in policy.requests[len(policy.requests) // 2 :]
        if r.messages[0]["content"] == PROPOSE_INSTRUCTION
    ]
    assert second_plan_inputs[0].startswith("Input: 4 4 5")  # replanned from the committed step
    assert "What you have learned about this puzzle:\n- lesson about steps" in second_plan_inputs[0]
    assert record["steps"][1]["action"].startswith("4 * 5 = 20")


def test_tot_without_feedback_does_not_reflect(shared_data):
    policy = ScriptedPolicy(make_script({}, "Answer: 1 + 1 = 24"))
    result = agentgym.evaluate("game24", "tot", policy, task_ids=["4 5 6 10"], max_steps=2, workers=0, progress=False)
    assert not result.records[0]["won"]
    systems = {r.messages[0]["content"] for r in policy.requests}
    assert REFLECT_STEPS_INSTRUCTION not in systems and ANSWER_INSTRUCTION in systems


def test_tot_refuses_other_envs():
    from agentgym.agent import RunSetup
    from agentgym.baselines.tot import ToTAgent

    with pytest.raises(ValueError, match="plays Game of 24 only"):
        ToTAgent.factory(ScriptedPolicy(str), RunSetup("agentgym/ALFWorld-v0", "alfworld", {}, "valid_unseen"))
