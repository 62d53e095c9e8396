import gymnasium
import pytest

import agentgym  # noqa: F401
from agentgym.actions import MalformedAction
from agentgym.envs.alfworld.actions import ALFWORLD_ACTIONS
from agentgym.envs.alfworld.games import TASK_TYPES


@pytest.mark.parametrize(
    ("command", "kind", "parts"),
    [
        ("go to countertop 1", "go to", {"receptacle": "countertop 1"}),
        ("take mug 1 from coffee machine 1", "take", {"object": "mug 1", "receptacle": "coffee machine 1"}),
        ("move mug 1 to desk 2", "move", {"object": "mug 1", "receptacle": "desk 2"}),
        ("put mug 1 into drawer 2", "put", {"object": "mug 1", "receptacle": "drawer 2"}),
        ("heat egg 1 with microwave 1", "heat", {"object": "egg 1", "receptacle": "microwave 1"}),
        ("slice apple 1 with knife 1", "slice", {"object": "apple 1", "tool": "knife 1"}),
        ("examine desk 1", "examine", {"target": "desk 1"}),
        ("use desklamp 1", "use", {"object": "desklamp 1"}),
        ("  look ", "look", {}),
        ("inventory", "inventory", {}),
    ],
)
def test_commands(command, kind, parts):
    parsed = ALFWORLD_ACTIONS.parse(command)
    assert (parsed.kind, dict(parsed.parts)) == (kind, parts)


def test_malformed_commands_and_rewrites():
    for bad in (
        "",
        "go to",
        "take mug 1",
        "dance",
        "look around",
        "GO TO DESK 2",
        "inventory\nlook",
        "put mug 1 in/on desk 2",
    ):
        with pytest.raises(MalformedAction, match="is not an ALFWorld command"):
            ALFWORLD_ACTIONS.parse(bad)
    assert ALFWORLD_ACTIONS.rewrite("put mug 1 on desk 1", ["alfworld-in-on"]) == "put mug 1 in/on desk 1"
    assert ALFWORLD_ACTIONS.rewrite("put mug 1 in desk 1", ["alfworld-put-as-move"]) == "move mug 1 to desk 1"
    with pytest.raises(ValueError, match="unknown rewrites"):
        ALFWORLD_ACTIONS.rewrite("look", ["strip-prompt-marker"])


def test_every_command_a_game_admits_parses(shared_data):
    # The games' own admissible commands, one game of each task type, along the expert's path.
    try:
        env = gymnasium.make("agentgym/ALFWorld-v0", admissible_actions=True)
        ids = env.unwrapped.tasks.split("valid_unseen")
    except FileNotFoundError as e:
        pytest.skip(str(e))
    kinds = set()
    for task_type in TASK_TYPES:
        _, info = env.reset(options={"task_id": next(t for t in ids if task_type in t)})
        for _ in range(8):
            commands = info["admissible_actions"]
            kinds |= {ALFWORLD_ACTIONS.parse(command).kind for command in commands}
            action = env.unwrapped.expert_action()
            if action is None:
                break
            assert ALFWORLD_ACTIONS.parse(action).kind in kinds
            *_, terminated, _, info = env.step(action)
            if terminated:
                break
    env.close()
    assert {"go to", "take", "examine", "look", "inventory"} <= kinds
