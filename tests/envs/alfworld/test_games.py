import pytest

from agentgym.envs.alfworld.games import SPLITS, TASK_TYPES, GameInfo, task_id_of

LOOK = "valid_unseen/look_at_obj_in_light-AlarmClock-None-DeskLamp-308/trial_T20190908_222917_366542"
CLEAN = "train/pick_clean_then_place_in_recep-Bowl-Pan-Cabinet-10/trial_T20190909_061130_844814"


def test_task_parameters_come_from_the_folder_name():
    look = GameInfo.parse(LOOK)
    assert (look.split, look.task_type, look.object_target, look.scene) == (
        "valid_unseen",
        "look_at_obj_in_light",
        "AlarmClock",
        308,
    )
    assert (look.mrecep_target, look.parent_target, look.toggle_target) == ("", "", "DeskLamp")
    clean = GameInfo.parse(CLEAN)
    assert (clean.task_type, clean.mrecep_target, clean.parent_target, clean.toggle_target) == (
        "pick_clean_then_place_in_recep",
        "Pan",
        "Cabinet",
        "",
    )


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "valid_unseen",
        "test/look_at_obj_in_light-AlarmClock-None-DeskLamp-308/trial_T1",
        "valid_unseen/look_at_something-AlarmClock-None-DeskLamp-308/trial_T1",
        "valid_unseen/../../etc/passwd/trial_T1",
        LOOK + "/game.tw-pddl",
    ],
)
def test_malformed_task_ids_are_rejected(bad):
    with pytest.raises(ValueError, match="not an ALFWorld task id"):
        GameInfo.parse(bad)


def test_paths_map_to_task_ids_with_alfworlds_filter():
    assert task_id_of(LOOK + "/game.tw-pddl") == LOOK
    assert task_id_of(LOOK + "/traj_data.json") is None
    sliced = "train/pick_and_place_simple-AppleSliced-None-Fridge-1/trial_T1/game.tw-pddl"
    movable = "train/pick_and_place_with_movable_recep-Apple-Pan-Fridge-1/trial_T1/game.tw-pddl"
    assert task_id_of(sliced) is None and task_id_of(movable) is None


def test_the_six_task_types_and_four_splits():
    assert len(TASK_TYPES) == 6 and SPLITS == ("train", "valid_seen", "valid_unseen", "valid_train")
