import gymnasium
import pytest

import agentgym  # noqa: F401
from agentgym.envs.game24 import puzzles


@pytest.fixture
def env():
    env = gymnasium.make("agentgym/Game24-v0")
    yield env
    env.close()


def start(env, task_id="4 5 6 10"):
    observation, info = env.reset(options={"task_id": task_id})
    return observation, info


def test_first_observation_shows_the_rule_and_the_puzzle(env):
    observation, info = start(env)
    assert observation.startswith("Use numbers and basic arithmetic operations (+ - * /) to obtain 24.")
    assert "Input: 4 5 6 10" in observation and observation.endswith("Numbers left: 4 5 6 10")
    assert info["task"] in observation and info["numbers"] == [4, 5, 6, 10]
    assert info["remaining"] == ["4", "5", "6", "10"]


def test_splits_are_the_papers(env, shared_data):
    tasks = env.unwrapped.tasks
    assert env.unwrapped.puzzle_source == "tot-24.csv"
    assert len(tasks.split("test")) == 100 and len(tasks.split("train")) == 1262 and len(tasks.ids) == 1362
    assert tasks.split("test")[0] == "4 5 6 10" and tasks.split("test")[-1] == "4 9 10 13"
    assert tasks.split("all")[0] == "1 1 4 6"
    assert env.reset(options={"split": "test", "index": 0})[1]["task_id"] == "4 5 6 10"
    assert env.reset(options={"index": 900})[1]["task_id"] == "4 5 6 10"


def test_a_correct_step_is_committed(env):
    start(env)
    observation, reward, terminated, _, info = env.step("10 - 6 = 4 (left: 4 4 5)")
    assert "correct" in observation and observation.endswith("Numbers left: 4 4 5")
    assert (reward, terminated, info["invalid_action"]) == (0.0, False, False)
    assert info["remaining"] == ["4", "4", "5"] and info["history"] == ["10 - 6 = 4 (left: 4 4 5)"]


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        ("7 + 5 = 12", "uses numbers that are not left"),
        ("4 + 4 = 8", "uses numbers that are not left"),
        ("4 + 5 = 10", "not correctly calculated: 4 + 5 = 9"),
        ("4 + 5 = 9 (left: 6 9 11)", "the numbers left would be 6 9 10, not 6 9 11"),
        ("4 * 5 = 20 (left: 6 10 21)", "the numbers left would be"),
        ("5 - 4 = 1 (left: 1 6 10)", "impossible to reach 24 from 1 6 10"),
        ("4 / 0 = 1", "not left"),
        ("hello", "is neither a step nor an answer"),
    ],
)
def test_rejected_steps_explain_why_and_change_nothing(env, action, reason):
    start(env)
    observation, reward, terminated, truncated, info = env.step(action)
    assert reason in observation
    assert info["remaining"] == ["4", "5", "6", "10"] and info["invalid_action"] is True
    assert (reward, terminated, info["step"]) == (0.0, False, 1)


def test_fractions_in_steps(env):
    start(env, "3 3 8 8")
    env.step("8 / 3 = 8/3 (left: 3 8 8/3)")
    observation, *_, info = env.step("3 - 8/3 = 1/3")
    assert info["remaining"] == ["1/3", "8"]
    observation, *_ = env.step("8 / 1/3 = 24")
    assert observation.endswith("Numbers left: 24")
    *_, terminated, _, info = env.step("Answer: 8 / (3 - 8 / 3) = 24")
    assert terminated and info["won"] and info["score"] == 1.0


def test_a_multi_line_plan_stops_at_the_first_bad_line(env):
    start(env)
    observation, *_, info = env.step("10 - 6 = 4 (left: 4 4 5)\n4 * 5 = 21 (left: 4 21)\n4 + 20 = 24")
    assert "Step 1 is correct" in observation and "Step 2 is rejected" in observation
    assert sorted(info["remaining"]) == ["4", "4", "5"]


def test_a_full_plan_with_the_answer_wins_in_one_step(env):
    start(env)
    plan = "10 - 6 = 4 (left: 4 4 5)\n4 * 5 = 20 (left: 4 20)\n4 + 20 = 24 (left: 24)\nAnswer: (10 - 6) + 4 * 5 = 24"
    _, reward, terminated, _, info = env.step(plan)
    assert (reward, terminated, info["won"], info["step"]) == (1.0, True, True, 1)


def test_a_wrong_answer_gives_feedback_and_the_episode_goes_on(env):
    start(env)
    observation, reward, terminated, _, info = env.step("Answer: 4 * 5 + 6 - 10 = 24")
    assert "evaluates to 16, not 24" in observation
    assert (reward, terminated, info["won"], info["invalid_action"]) == (0.0, False, False, False)


def test_the_answer_is_judged_on_the_puzzle_not_on_the_steps(env):
    start(env)
    env.step("10 - 6 = 4")
    *_, info = env.step("Answer: (10 - 6) * 5 + 4 = 24")
    assert info["won"]


def test_step_cap_is_rafas_twenty(env):
    start(env)
    results = [env.step("nonsense") for _ in range(20)]
    assert [r[3] for r in results] == [False] * 19 + [True]


def test_admissible_actions_are_the_accepted_steps():
    env = gymnasium.make("agentgym/Game24-v0", admissible_actions=True)
    _, info = env.reset(options={"task_id": "4 5 6 10"})
    actions = info["admissible_actions"]
    assert actions and "10 - 6 = 4 (left: 4 4 5)" in actions
    assert all("impossible" not in env.unwrapped.step(a)[0] for a in actions[:1])


def test_expert_wins_the_whole_test_split(shared_data):
    env = gymnasium.make("agentgym/Game24-v0")
    wins = 0
    for index in range(100):
        _, info = env.reset(options={"split": "test", "index": index})
        terminated = truncated = False
        while not (terminated or truncated):
            *_, terminated, truncated, info = env.step(env.unwrapped.expert_action())
        wins += info["won"] and info["step"] == 4
    assert wins == 100


def test_expert_continues_from_the_agents_steps(env):
    start(env)
    env.step("10 - 6 = 4")  # 4 4 5: still solvable
    for _ in range(3):
        *_, info = env.step(env.unwrapped.expert_action())
    assert info["won"]
    assert env.unwrapped.expert_action() is None


def test_one_shot_variant_takes_the_whole_solution_at_once(shared_data):
    env = gymnasium.make("agentgym/Game24OneShot-v0")
    for index in range(10):
        env.reset(options={"split": "test", "index": index})
        plan = env.unwrapped.expert_action()
        assert plan.count("\n") == 3 and plan.splitlines()[-1].startswith("Answer: ")
        *_, terminated, truncated, info = env.step(plan)
        assert terminated and info["won"]
    env.reset(options={"split": "test", "index": 0})
    *_, terminated, truncated, info = env.step("10 - 6 = 4")
    assert truncated and not info["won"]


def test_without_the_data_file_the_builtin_list_is_used(monkeypatch, tmp_path, isolated_cache):
    monkeypatch.setenv("AGENTGYM_DATA", str(tmp_path / "empty"))
    puzzles.load_puzzles.cache_clear()
    try:
        env = gymnasium.make("agentgym/Game24-v0")
        _, info = env.reset(seed=0)
        assert info["puzzle_source"] == "built-in" and len(env.unwrapped.tasks.ids) == 1362
        while not info["won"]:
            *_, info = env.step(env.unwrapped.expert_action())
    finally:
        puzzles.load_puzzles.cache_clear()


def test_render_ansi():
    env = gymnasium.make("agentgym/Game24-v0", render_mode="ansi")
    observation, _ = env.reset(seed=0)
    assert env.render() == observation


def test_judge_answer_reads_the_answer_after_a_rejected_step():
    plan = "10 - 6 = 4 (left: 4 4 5)\n4 * 5 = 21 (left: 4 21)\nAnswer: (10 - 6) * 5 + 4 = 24"
    for judge, won in (("steps", False), ("answer", True)):
        env = gymnasium.make("agentgym/Game24-v0", judge=judge)
        env.reset(options={"task_id": "4 5 6 10"})
        observation, reward, terminated, _, info = env.step(plan)
        assert "Step 2 is rejected" in observation and (info["won"], terminated, reward) == (won, won, float(won))
        assert info["remaining"] == ["4", "4", "5"]  # the valid leading step is committed in both modes


# ToT's final outputs: the last line is judged alone (steps above it unchecked), as its test_output does.
TOT_OUTPUTS = [
    "10 - 4 = 6 (left: 5 6 6)\n6 * 5 = 30 (left: 6 30)\n30 + 6 = 36 (left: 36)\nAnswer: (10 - 4) * 5 + 6 = 24\n",
    "4 * 5 = 20 (left: 6 10 20)\n10 - 6 = 4 (left: 4 20)\n4 + 20 = 24 (left: 24)\nAnswer: (4 * 5) + (10 - 6) = 24\n",
    "4 * 5 = 99 (left: 6 10 99)\nnonsense\n\nanswer: 4 * 5 + 10 - 6 = 24\n",
]


@pytest.mark.parametrize(
    ("outputs", "won", "first", "flags"),
    [
        (TOT_OUTPUTS, True, False, [False, True, True]),
        (TOT_OUTPUTS[1:], True, True, [True, True]),
        (TOT_OUTPUTS[:1], False, False, [False]),
    ],
)
def test_one_shot_judge_answer_takes_tots_outputs(outputs, won, first, flags):
    import json

    env = gymnasium.make("agentgym/Game24OneShot-v0", judge="answer")
    env.reset(options={"task_id": "4 5 6 10"})
    observation, reward, terminated, truncated, info = env.step(json.dumps(outputs))
    assert (info["won"], info["score"], info["outputs_correct"]) == (won, float(first), flags)
    assert terminated == won and (terminated or truncated) and reward == float(won)
    assert observation.count("Output ") == len(outputs) or len(outputs) == 1
    env.reset(options={"task_id": "4 5 6 10"})
    *_, info = env.step(outputs[-1])  # one output, not a list
    assert info["won"] == flags[-1] and info["outputs_correct"] == flags[-1:]


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("", "the action is empty"),
        ("[]", "non-empty JSON list of strings"),
        ('[1, "Answer: 4 * 6 = 24"]', "non-empty JSON list of strings"),
        ('{"a": 1}', None),  # not a list: judged as one output
        ('["Answer: 1"' + ', "x"' * 25 + "]", "at most 20"),
    ],
)
def test_one_shot_judge_answer_rejects_malformed_lists(action, message):
    env = gymnasium.make("agentgym/Game24OneShot-v0", judge="answer")
    env.reset(options={"task_id": "4 5 6 10"})
    observation, *_, info = env.step(action)
    assert not info["won"]
    if message is None:
        assert not info["invalid_action"] and "Wrong answer" in observation
    else:
        assert info["invalid_action"] and message in observation


def test_judge_is_checked_and_recorded():
    with pytest.raises(ValueError, match="judge must be one of steps, answer"):
        gymnasium.make("agentgym/Game24-v0", judge="sympy")
    assert gymnasium.make("agentgym/Game24-v0", judge="answer").unwrapped.protocol()["judge"] == "answer"


@pytest.mark.parametrize("output", TOT_OUTPUTS)
def test_both_envs_judging_answers_agree_with_tots_test_output(output):
    from tests.envs.game24.test_arithmetic import tot_reference

    verdicts = []
    for env_id in ("agentgym/Game24-v0", "agentgym/Game24OneShot-v0"):
        env = gymnasium.make(env_id, judge="answer")
        env.reset(options={"task_id": "4 5 6 10"})
        verdicts.append(env.step(output)[-1]["won"])
    assert verdicts == [tot_reference(output, "4 5 6 10")] * 2
