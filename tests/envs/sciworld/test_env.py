"""ScienceWorld env against the real simulator: observations, scoring, limits, admissible actions, expert."""

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import agentgym  # noqa: F401
from agentgym.envs.sciworld import catalog
from agentgym.envs.sciworld.env import UNKNOWN_ACTION
from agentgym.error import ResetNeeded

pytestmark = pytest.mark.java

#: Default-run expert sample: one official test variation of each of these tasks (all 30 in the slow test).
EXPERT_SAMPLE = (
    "find-plant",
    "chemistry-mix-paint-secondary-color",
    "lifespan-shortest-lived",
    "power-component",
)


@pytest.fixture(scope="module")
def env():
    env = gymnasium.make("agentgym/ScienceWorld-v0")
    yield env
    env.close()


def play_expert(env, task_id):
    """Follow the expert from a reset of ``task_id``; return the last info and the rewards."""
    _, info = env.reset(options={"task_id": task_id})
    rewards, initial = [], info["score"]
    terminated = truncated = False
    while not (terminated or truncated):
        action = env.unwrapped.expert_action()
        assert isinstance(action, str), f"{task_id}: the gold path ran out after {info['step']} steps"
        _, reward, terminated, truncated, info = env.step(action)
        rewards.append(reward)
    return info, initial, rewards


def test_check_env(env):
    check_env(env.unwrapped, skip_render_check=True)


def test_first_observation_is_the_task_then_the_room(env):
    observation, info = env.reset(options={"task_id": "find-living-thing-0"})
    heading, room = observation.split("\n\n", 1)
    assert heading == "Task Description:\n" + info["task"]
    assert info["task"].startswith("Your task is to find a(n) living thing.")
    assert room.startswith("This room is called the hallway.")
    assert (info["step"], info["max_steps"], info["won"]) == (0, 15, False)


def test_expert_scores_one_and_rewards_are_score_deltas(env):
    info, initial, rewards = play_expert(env, "find-living-thing-0")
    assert info["won"] and info["score"] == 1.0 and info["max_score"] == 1.0 and info["raw_score"] == 100
    assert sum(rewards) == pytest.approx(1.0 - initial)


def test_failing_the_task_scores_zero_and_ends_the_episode(env):
    env.reset(options={"task_id": "boil-21"})  # boil lead; the glass cup is the wrong substance
    _, reward, terminated, truncated, info = env.step("focus on glass cup")
    assert (terminated, truncated, info["won"], info["score"], info["raw_score"]) == (
        True,
        False,
        False,
        0.0,
        -100,
    )
    assert reward == -1.0


def test_unknown_action_is_answered_and_counted(env):
    env.reset(options={"task_id": "boil-21"})
    observation, reward, terminated, _, info = env.step("fly to the moon")
    assert observation == UNKNOWN_ACTION and info["invalid_action"] and info["step"] == 1
    assert (reward, terminated) == (0.0, False)


def test_episode_truncates_at_etos_limit(env):
    env.reset(options={"task_id": "find-animal-225"})  # ETO's limit for find-* is 15 steps
    truncated = [env.step("look around")[3] for _ in range(15)]
    assert truncated == [False] * 14 + [True]


def test_one_limit_for_every_task():
    env = gymnasium.make("agentgym/ScienceWorld-v0", step_limit=2)
    _, info = env.reset(options={"task_id": "boil-0"})
    assert info["max_steps"] == 2
    assert [env.step("look around")[3] for _ in range(2)] == [False, True]
    env.close()


def test_admissible_actions_only_when_asked(env):
    _, info = env.reset(options={"task_id": "find-living-thing-0"})
    assert info["admissible_actions"] is None
    listing = gymnasium.make("agentgym/ScienceWorld-v0", admissible_actions=True)
    _, info = listing.reset(options={"task_id": "find-living-thing-0"})  # in the hallway, doors open ("easy")
    assert {"go to kitchen", "close door to kitchen"} <= set(info["admissible_actions"])
    *_, info = listing.step("go to kitchen")
    assert "go to hallway" in info["admissible_actions"]
    listing.close()


def test_same_actions_give_the_same_episode():
    """Two envs in separate JVMs replaying the same random valid actions see identical episodes."""
    first, second = (gymnasium.make("agentgym/ScienceWorld-v0", admissible_actions=True) for _ in range(2))
    rng = np.random.default_rng(0)
    a, b = first.reset(seed=3), second.reset(seed=3)
    assert a == b
    for _ in range(10):
        valid = sorted(a[-1]["admissible_actions"])
        action = valid[int(rng.integers(len(valid)))]
        a, b = first.step(action), second.step(action)
        assert a == b
    assert first.unwrapped.jvm_pid != second.unwrapped.jvm_pid
    first.close()
    second.close()


def test_a_variation_loads_the_same_every_time(env, unlimited):
    """Room listings and gold paths that follow Java hash order are fixed (the stock simulator's vary)."""
    observations = {env.reset(options={"task_id": "mendelian-genetics-unknown-plant-379"})[0] for _ in range(6)}
    assert len(observations) == 1
    paths = set()
    for task_id in ("find-animal-230", "chemistry-mix-5") * 3:
        unlimited.reset(options={"task_id": task_id})
        path = []
        while (action := unlimited.expert_action()) is not None:
            path.append(action)
            unlimited.step(action)
        paths.add((task_id, tuple(path)))
    assert len(paths) == 2


def test_expert_is_none_off_the_gold_path(env):
    env.reset(options={"task_id": "find-living-thing-0"})
    assert env.unwrapped.expert_action() is not None
    env.step("fly to the moon")
    assert env.unwrapped.expert_action() is None


def test_expert_needs_a_reset():
    with pytest.raises(ResetNeeded):
        gymnasium.make("agentgym/ScienceWorld-v0").unwrapped.expert_action()


def _sampled_variations(names, per_task):
    """``per_task`` official variations per task: a random test one, the first train one, a random dev one."""
    rng = np.random.default_rng(2024)
    by_name = {t.name: t for t in catalog.official_tasks()}
    picks = []
    for name in names:
        task = by_name[name]
        choices = [
            task.test[int(rng.integers(len(task.test)))],
            task.train[0],
            task.dev[int(rng.integers(len(task.dev)))],
        ]
        picks += [catalog.task_id(name, v) for v in choices[:per_task]]
    return picks


@pytest.fixture(scope="module")
def unlimited():
    env = gymnasium.make("agentgym/ScienceWorld-v0", step_limit=None).unwrapped  # no TimeLimit either
    yield env
    env.close()


@pytest.mark.parametrize("task_id", _sampled_variations(EXPERT_SAMPLE, 1))
def test_expert_solves_sampled_variations(unlimited, task_id):
    info, _, _ = play_expert(unlimited, task_id)
    assert info["won"] and info["score"] == 1.0


@pytest.mark.slow
@pytest.mark.parametrize("task_id", _sampled_variations([t.name for t in catalog.official_tasks()], 3))
def test_expert_solves_every_task(unlimited, task_id):
    info, _, _ = play_expert(unlimited, task_id)
    assert info["won"] and info["score"] == 1.0


def test_vector_env_over_tasks_with_and_without_an_eto_limit():
    venv = gymnasium.make_vec("agentgym/ScienceWorld-v0", num_envs=2, vectorization_mode="sync")
    observations, infos = venv.reset(seed=[0, 1])
    expected = ["inclined-plane-friction-named-surfaces-1306", "find-non-living-thing-270"]
    assert list(infos["task_id"]) == expected
    assert list(infos["max_steps"]) == [200, 15]
    assert all(o.startswith("Task Description:") for o in observations)
    venv.close()
