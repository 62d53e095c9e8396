import gymnasium
import pytest

import agentgym  # noqa: F401
from agentgym.actions import MalformedAction
from agentgym.envs.game24.actions import (
    ACTION_HELP,
    GAME24_ACTIONS,
    has_numbers_left,
    numbers_left,
)


@pytest.mark.parametrize(
    ("line", "parts"),
    [
        ("4 + 8 = 12 (left: 8 12 14)", {"a": "4", "op": "+", "b": "8", "c": "12", "left": "8 12 14"}),
        ("  10 − 6=4 ( LEFT :4 4 5)", {"a": "10", "op": "-", "b": "6", "c": "4", "left": "4 4 5"}),
        ("8/3 × 9 = 24", {"a": "8/3", "op": "*", "b": "9", "c": "24"}),
        ("0.5 ÷ -2 = -0.25", {"a": "0.5", "op": "/", "b": "-2", "c": "-0.25"}),
    ],
)
def test_steps(line, parts):
    parsed = GAME24_ACTIONS.parse(line)
    assert parsed.kind == "step" and dict(parsed.parts) == parts and parsed.text == line


def test_answers_and_malformed_lines():
    assert GAME24_ACTIONS.parse("answer : (4 + 8) * 2 = 24").parts == {"answer": "(4 + 8) * 2 = 24"}
    with pytest.raises(MalformedAction, match=r"^the action is empty\. Write a step"):
        GAME24_ACTIONS.parse(" \n ")
    with pytest.raises(MalformedAction, match="is neither a step nor an answer"):
        GAME24_ACTIONS.parse("4 + 8 = 12 " + "x" * 300)
    with pytest.raises(MalformedAction, match="a plan of 2 lines is read one line at a time"):
        GAME24_ACTIONS.parse("4 + 8 = 12\nAnswer: 1")


def test_the_env_rejects_what_the_grammar_rejects_in_the_same_words():
    env = gymnasium.make("agentgym/Game24-v0")
    env.reset(options={"task_id": "4 5 6 10"})
    observation, *_, info = env.step("twelve")
    with pytest.raises(MalformedAction) as error:
        GAME24_ACTIONS.parse("twelve")
    assert observation.startswith(f"The step is rejected: {error.value}") and info["invalid_action"]
    assert str(error.value).endswith(ACTION_HELP)


def test_every_expert_and_admissible_action_parses():
    env = gymnasium.make("agentgym/Game24-v0", admissible_actions=True).unwrapped
    for task_id in ("4 5 6 10", "1 1 4 6", "4 9 10 13"):
        _, info = env.reset(options={"task_id": task_id})
        while (action := env.expert_action()) is not None:
            kinds = {GAME24_ACTIONS.parse(a).kind for a in info["admissible_actions"]}
            assert GAME24_ACTIONS.parse(action).kind in kinds
            _, _, terminated, _, info = env.step(action)
            if terminated:
                break
        assert info["won"]


def test_the_papers_loose_reading_of_numbers_left():
    # ToT's get_current_numbers: the text after the last "left: " of the last line, up to ")".
    assert numbers_left("1 + 2 = 3 (left: 3 4 5)\n3 * 4 = 12 (left: 5 12)\n") == "5 12"
    assert numbers_left("4 5 6 10") == "4 5 6 10"
    assert numbers_left("x (left: 24") == "24"
    assert has_numbers_left("4 * 6 = 24 (left: 24)") and not has_numbers_left("answer: (4 * 6) = 24")
