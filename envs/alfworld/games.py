"""ALFWorld game ids, splits and task types, all derived from the official game paths (no simulator needed).

A game lives at ``json_2.1.1/<split>/<task folder>/<trial>/game.tw-pddl``; its agentgym task id is that path
without the ``json_2.1.1/`` prefix and the file name, e.g.
``valid_unseen/look_at_obj_in_light-AlarmClock-None-DeskLamp-308/trial_T20190908_044113_426965``.
The task folder name is ``<task type>-<object>-<movable receptacle or None>-<receptacle or lamp>-<scene>``,
which gives the same task parameters as the ``pddl_params`` of ALFRED's ``traj_data.json``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: The official splits, as folders of ``json_2.1.1``. ``valid_unseen`` is ALFWorld's
#: ``eval_out_of_distribution`` (the 134-game test set of ReAct, Reflexion, ETO, CoPS), ``valid_seen`` its
#: ``eval_in_distribution`` (140 games), ``train`` its training set.
SPLITS = ("train", "valid_seen", "valid_unseen", "valid_train")

#: Games per split in the official ``json_2.1.1`` release (solvable, no sliced or movable-receptacle tasks).
SPLIT_SIZES = {"train": 3553, "valid_seen": 140, "valid_unseen": 134, "valid_train": 200}

#: ALFWorld's six task types (``alfworld.agents.environment.alfred_tw_env.TASK_TYPES``, in its order).
TASK_TYPES = (
    "pick_and_place_simple",
    "look_at_obj_in_light",
    "pick_clean_then_place_in_recep",
    "pick_heat_then_place_in_recep",
    "pick_cool_then_place_in_recep",
    "pick_two_obj_and_place",
)

GAME_FILE = "game.tw-pddl"

_TASK_ID_RE = re.compile(
    r"(?P<split>" + "|".join(SPLITS) + r")/(?P<folder>(?P<type>[a-z_]+)-(?P<object>[A-Za-z]+)-"
    r"(?P<mrecep>[A-Za-z]+)-(?P<third>[A-Za-z]+)-(?P<scene>\d+))/(?P<trial>trial_[A-Za-z0-9_]+)"
)


@dataclass(frozen=True)
class GameInfo:
    """What a game's path says about it.

    Attributes:
        task_id: ``<split>/<task folder>/<trial>``.
        split: one of :data:`SPLITS`.
        task_type: one of :data:`TASK_TYPES`.
        object_target: the object class to act on (``AlarmClock``).
        mrecep_target: the movable receptacle to carry it in, ``""`` if none.
        parent_target: the receptacle class to put it in/on, ``""`` for ``look_at_obj_in_light``.
        toggle_target: the lamp for ``look_at_obj_in_light``, else ``""``.
        scene: the AI2-THOR floor plan number.
    """

    task_id: str
    split: str
    task_type: str
    object_target: str
    mrecep_target: str
    parent_target: str
    toggle_target: str
    scene: int

    @classmethod
    def parse(cls, task_id: str) -> GameInfo:
        """Parse a task id (see the module docstring).

        Raises:
            ValueError: when ``task_id`` is not of that form or names an unknown task type.
        """
        match = _TASK_ID_RE.fullmatch(task_id)
        if match is None or match["type"] not in TASK_TYPES:
            raise ValueError(
                f"not an ALFWorld task id: {task_id!r}; expected '<split>/<task type>-<object>-<mrecep>-"
                f"<receptacle>-<scene>/trial_<id>' with a split in {SPLITS} and a type in {TASK_TYPES}"
            )
        look_at = match["type"] == "look_at_obj_in_light"
        return cls(
            task_id=task_id,
            split=match["split"],
            task_type=match["type"],
            object_target=match["object"],
            mrecep_target="" if match["mrecep"] == "None" else match["mrecep"],
            parent_target="" if look_at else match["third"],
            toggle_target=match["third"] if look_at else "",
            scene=int(match["scene"]),
        )


def task_id_of(relative_path: str) -> str | None:
    """Return the task id of a path under ``json_2.1.1/`` (``<split>/<folder>/<trial>/game.tw-pddl``).

    Returns ``None`` for anything else: other files, and the sliced or movable-receptacle tasks (ALFWorld
    skips them).
    """
    if not relative_path.endswith("/" + GAME_FILE):
        return None
    task_id = relative_path[: -len(GAME_FILE) - 1]
    if "movable" in task_id or "Sliced" in task_id:  # ALFWorld's own filter (AlfredTWEnv.collect_game_files)
        return None
    return task_id if _TASK_ID_RE.fullmatch(task_id) else None
