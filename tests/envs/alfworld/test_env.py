"""The env, on both engines, against the real ALFWorld engine (alfworld 0.4.2 / textworld), run unmodified."""

import gymnasium
import pytest
from gymnasium.utils.env_checker import check_env

pytest.importorskip("alfworld")

import agentgym  # noqa: F401
from agentgym.core import INFO_KEYS
from agentgym.envs.alfworld.games import TASK_TYPES, GameInfo
from agentgym.error import ResetNeeded, TaskNotFound

LOOK = "valid_unseen/look_at_obj_in_light-AlarmClock-None-DeskLamp-308/trial_T20190908_222917_366542"
HOSTILE = [
    "",
    "   ",
    "\x00\x01",
    "é" * 50,
    "x" * 100_000,
    "go to desk 2\nlook",
    "GO TO DESK 2",
    "go to desk 99",
    "take alarmclock 1 from desk 1",
    "<script>1</script>",
    "{0}%s",
    "go to 🛏 1",
]


@pytest.fixture(scope="module", params=["native", "textworld"])
def env(request):
    try:
        env = gymnasium.make("agentgym/ALFWorld-v0", admissible_actions=True, engine=request.param)
        env.unwrapped.tasks.split("valid_unseen")
    except FileNotFoundError as e:
        pytest.skip(str(e))
    yield env
    env.close()


def play_expert(env, options):
    obs, info = env.reset(options=options)
    steps = 0
    while True:
        action = env.unwrapped.expert_action()
        if action is None:
            return info, steps
        obs, reward, terminated, truncated, info = env.step(action)
        steps += 1
        if terminated or truncated:
            assert reward == (1.0 if info["won"] else 0.0)
            return info, steps


def test_first_observation_is_the_papers(env):
    obs, info = env.reset(options={"task_id": LOOK})
    assert obs == (
        "You are in the middle of a room. Looking quickly around you, you see a bed 1, a desk 2, a desk 1, "
        "a drawer 6, a drawer 5, a drawer 4, a drawer 3, a drawer 2, a drawer 1, a garbagecan 1, "
        "a laundryhamper 1, a safe 1, a shelf 6, a shelf 5, a shelf 4, a shelf 3, a shelf 2, and a shelf 1.\n"
        "Your task is to: examine the alarmclock with the desklamp."
    )
    assert info["task"] == "examine the alarmclock with the desklamp."
    assert set(INFO_KEYS) <= set(info) and info["task_type"] == "look_at_obj_in_light"
    assert (info["won"], info["score"], info["step"], info["env_name"]) == (False, 0.0, 0, "alfworld")
    assert "go to desk 2" in info["admissible_actions"] and info["admissible_actions"] == sorted(
        info["admissible_actions"]
    )


def test_walkthrough_wins_with_reward_once(env):
    env.reset(options={"task_id": LOOK})
    transcript = []
    for action in ["go to desk 2", "take alarmclock 1 from desk 2", "go to desk 1", "use desklamp 1"]:
        assert env.unwrapped.expert_action() == action
        obs, reward, terminated, truncated, info = env.step(action)
        transcript.append((obs, reward, terminated))
    assert transcript[0] == ("You arrive at desk 2. On the desk 2, you see a alarmclock 1.", 0.0, False)
    assert transcript[1] == ("You pick up the alarmclock 1 from the desk 2.", 0.0, False)
    assert transcript[-1] == ("You turn on the desklamp 1.", 1.0, True)
    assert (info["won"], info["score"], info["step"], truncated) == (True, 1.0, 4, False)
    assert env.unwrapped.expert_action() is None
    obs, reward, terminated, _, info = env.step("look")
    assert reward == 0.0 and terminated and info["won"]  # the reward is paid once


@pytest.mark.parametrize("action", HOSTILE, ids=lambda a: repr(a[:20]))
def test_invalid_and_hostile_actions_answer_nothing_happens(env, action):
    env.reset(options={"task_id": LOOK})
    obs, reward, terminated, truncated, info = env.step(action)
    assert obs == "Nothing happens."
    assert (reward, terminated, truncated, info["won"], info["step"], info["invalid_action"]) == (
        0.0,
        False,
        False,
        False,
        1,
        True,
    )
    # The state did not change: the walkthrough still applies.
    assert env.unwrapped.expert_action() == "go to desk 2"


def test_non_string_actions_and_surrounding_spaces(env):
    env.reset(options={"task_id": LOOK})
    assert env.step(None)[0] == "Nothing happens."
    assert env.step(12)[0] == "Nothing happens."
    obs, *_ = env.step("  go to desk 2 \n")  # textworld strips the command, as in ALFWorld
    assert obs.startswith("You arrive at desk 2.")


def test_seeded_resets_and_replays_are_deterministic(env):
    first = env.reset(seed=11)
    second = env.reset(seed=11)
    assert first[0] == second[0] and first[1]["task_id"] == second[1]["task_id"]
    assert first[1]["task_id"] in env.unwrapped.tasks.split("valid_unseen")
    actions = first[1]["admissible_actions"][:6]
    runs = []
    for _ in range(2):
        env.reset(options={"task_id": first[1]["task_id"]})
        runs.append([env.step(a)[0] for a in actions])
    assert runs[0] == runs[1]


def test_expert_replans_after_the_agent_leaves_the_walkthrough(env):
    env.reset(options={"task_id": LOOK})
    for action in ["go to shelf 1", "go to desk 2", "take alarmclock 1 from desk 2", "go to drawer 1"]:
        env.step(action)
    assert env.unwrapped.expert_action() == "go to desk 1"  # fast-downward, from the current state
    obs, reward, terminated, _, info = env.step("go to desk 1")
    obs, reward, terminated, _, info = env.step(env.unwrapped.expert_action())
    assert (obs, reward, terminated, info["won"]) == ("You turn on the desklamp 1.", 1.0, True, True)


def sample_one_per_type(ids):
    chosen = {}
    for task_id in ids:
        chosen.setdefault(GameInfo.parse(task_id).task_type, task_id)
    assert sorted(chosen) == sorted(TASK_TYPES)
    return list(chosen.values())


@pytest.mark.parametrize("split", ["valid_unseen", "valid_seen"])
def test_expert_wins_a_sample_of_every_task_type(env, split):
    ids = env.unwrapped.tasks.split(split)
    for task_id in sample_one_per_type(ids[1::2]):
        info, steps = play_expert(env, {"task_id": task_id})
        assert info["won"] and info["task_type"] == GameInfo.parse(task_id).task_type, task_id
        assert steps <= 50


def test_reset_options_and_errors(env):
    tasks = env.unwrapped.tasks
    assert tasks.default_split == "valid_unseen" and len(tasks.split("valid_seen")) == 140
    _, info = env.reset(options={"split": "valid_seen", "index": 3})
    assert info["task_id"] == tasks.split("valid_seen")[3]
    with pytest.raises(TaskNotFound, match="unknown task_id"):
        env.reset(options={"task_id": "valid_unseen/nope"})
    with pytest.raises(TaskNotFound, match="out of range"):
        env.reset(options={"split": "valid_unseen", "index": 134})


def test_step_before_reset_raises():
    env = gymnasium.make("agentgym/ALFWorld-v0").unwrapped
    with pytest.raises(ResetNeeded):
        env.expert_action()
    env.close()
    env.close()  # idempotent


def test_check_env(env):
    check_env(env.unwrapped, skip_render_check=True)


def test_admissible_actions_only_when_asked(env):
    plain = gymnasium.make("agentgym/ALFWorld-v0")
    try:
        _, info = plain.reset(options={"task_id": LOOK})
        assert info["admissible_actions"] is None
        assert plain.step("look")[4]["admissible_actions"] is None
    finally:
        plain.close()


@pytest.mark.parametrize("index", [0, 77])
def test_same_observations_and_commands_as_alfworlds_engine(env, index):
    """Command by command, the env answers what textworld's PddlEnv + AlfredDemangler answer."""
    import textworld
    from alfworld.agents.environment.alfred_tw_env import AlfredDemangler
    from textworld.envs.pddl import PddlEnv

    task_id = env.unwrapped.tasks.split("valid_unseen")[index]
    raw = AlfredDemangler(shuffle=False)(
        PddlEnv(textworld.EnvInfos(won=True, admissible_commands=True, extras=["walkthrough"]))
    )
    raw.load(str(env.unwrapped.task._store.game_file(task_id)))
    state = raw.reset()
    obs, info = env.reset(options={"task_id": task_id})
    assert state.feedback.startswith("-= Welcome to TextWorld, ALFRED! =-\n\n")
    assert obs == "\n".join(state.feedback.split("\n\n")[1:])
    assert info["admissible_actions"] == state["admissible_commands"]
    commands = [state["admissible_commands"][(5 * i + 1) % len(state["admissible_commands"])] for i in range(6)]
    for command in ["not a command", *commands, *state["extra.walkthrough"]]:
        state, score, done = raw.step(command)
        obs, reward, terminated, _, info = env.step(command)
        assert obs == state.feedback
        assert info["admissible_actions"] == state["admissible_commands"]
        assert (info["won"], terminated) == (state["won"], done)
    assert info["won"]


def test_closed_envs_hand_their_planner_library_to_new_ones():
    """PddlEnv dlopens a library copy per instance; too many copies in one process crash in dlopen."""
    from agentgym.envs.alfworld import engine

    first = gymnasium.make("agentgym/ALFWorld-v0", engine="textworld")
    first.reset(options={"split": "valid_seen", "index": 0})
    library = first.unwrapped.task._game._env.unwrapped.downward_lib
    first.close()
    assert engine._RELEASED_LIBRARIES[-1] is library
    second = gymnasium.make("agentgym/ALFWorld-v0", engine="textworld")
    _, info = second.reset(options={"split": "valid_seen", "index": 1})
    assert second.unwrapped.task._game._env.unwrapped.downward_lib is library
    while not info["won"]:
        *_, info = second.step(second.unwrapped.expert_action())
    second.close()
