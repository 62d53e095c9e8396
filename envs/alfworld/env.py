"""``agentgym/ALFWorld-v0``: ALFWorld's text household tasks (alfworld 0.4.2) as a gymnasium env."""

from __future__ import annotations

import importlib.metadata
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from agentgym.core import TextEnv
from agentgym.envs.alfworld.actions import ALFWORLD_ACTIONS
from agentgym.envs.alfworld.dataset import GameStore
from agentgym.envs.alfworld.engines import DEFAULT_ENGINE, ENGINES, SelectedEngine
from agentgym.envs.alfworld.games import SPLITS, GameInfo
from agentgym.envs.alfworld.native import NOTHING_HAPPENS
from agentgym.error import DataNotFound, EnvCrashed
from agentgym.protocol import file_sha256
from agentgym.task import Outcome, Setup, Task
from agentgym.tasks import TaskSet

if TYPE_CHECKING:
    from agentgym.envs.alfworld.engines import Engine

__all__ = ["NOTHING_HAPPENS", "ALFWorldEnv", "ALFWorldTask", "paper_observation"]

_TASK_RE = re.compile(r"Your task is to: (.*)")


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def paper_observation(intro: str) -> str:
    r"""Return the first observation as ReAct, Reflexion and ETO show it to the agent.

    They drop ALFWorld's first paragraph (the ``-= Welcome to TextWorld, ALFRED! =-`` banner) and join the
    rest with single newlines: ``"You are in the middle of a room. ...\nYour task is to: ..."``.
    """
    return "\n".join(intro.split("\n\n")[1:])


class ALFWorldTask(Task):
    """ALFWorld's rules: one episode plays one official game file (see :class:`ALFWorldEnv` for the contract).

    Args:
        data_dir: a folder with ``json_2.1.1/`` (the official layout; ALFWorld's ``$ALFWORLD_DATA`` works) or
            ``<split>.tar.xz`` files; default ``$AGENTGYM_DATA/alfworld``.
        engine: ``"native"`` (default) or ``"textworld"``.
    """

    env_name = "alfworld"

    def __init__(self, *, data_dir: str | os.PathLike | None = None, engine: str = DEFAULT_ENGINE) -> None:
        """Check the engine's name; the data is listed on first use and the engine starts at the first set-up."""
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
        self._store = GameStore(data_dir)
        self._engine = SelectedEngine(engine)
        self._task_id = ""
        self._game: Engine | None = None
        self._game_info: GameInfo | None = None
        self._plan: list[str] | None = None

    def task_set(self) -> TaskSet:
        """The splits whose games are installed (``valid_unseen`` first when present, the default)."""
        splits = {}
        for split in SPLITS:
            try:
                splits[split] = self._store.task_ids(split)
            except DataNotFound:
                continue
        if not splits:
            self._store.task_ids("valid_unseen")  # raises DataNotFound with the instructions
        ids = tuple(task_id for task_ids in splits.values() for task_id in task_ids)
        default = "valid_unseen" if "valid_unseen" in splits else next(iter(splits))
        return TaskSet(ids=ids, splits=splits, default_split=default)

    def setup(self, task_id: str, options: Mapping[str, Any]) -> Setup:
        """Start the game: the first observation as the papers' agents show it, the ``Your task is to:`` text."""
        game_file = self._store.game_file(task_id)
        intro = self._engine.start(task_id, game_file)
        self._task_id = task_id
        self._game = self._engine.current
        self._game_info = GameInfo.parse(task_id)
        self._plan = self._game.walkthrough
        match = _TASK_RE.search(intro)
        return Setup(paper_observation(intro), match.group(1) if match else "")

    def act(self, action: str) -> Outcome:
        """Play one command; ALFWorld's reward is 1 on the step that solves the task."""
        game = self._game
        try:
            feedback, won = game.step(action)
        except Exception as e:
            raise EnvCrashed(f"ALFWorld's engine failed on {action[:80]!r} in {self._task_id}: {e!r}") from e
        invalid = feedback == NOTHING_HAPPENS
        if self._plan and action.strip() == self._plan[0]:
            self._plan.pop(0)
        elif not invalid:  # the agent left the plan: the expert replans when asked
            self._plan = None
        return Outcome(observation=feedback, reward=float(won), done=won, won=won, score=float(won), invalid=invalid)

    def expert(self) -> str | None:
        """Return the next walkthrough command, or a fast-downward plan's first command once off it."""
        if self._plan is None:
            self._plan = self._game.replan()
        return self._plan[0] if self._plan else None

    def admissible_actions(self) -> list[str] | None:
        """ALFWorld's admissible commands (the game computes them on every step anyway)."""
        return self._game.admissible_commands if self._game is not None else None

    def info(self) -> dict[str, Any]:
        """``task_type``: the game's task type (one of the six)."""
        return {"task_type": self._game_info.task_type if self._game_info else None}

    def protocol(self) -> dict[str, Any]:
        """What results depend on: the engine's versions and the game archives' sha256 (or the games' folder)."""
        archives = [self._store.root / f"{split}.tar.xz" for split in SPLITS]
        files = {f"alfworld/{a.name}": file_sha256(a) for a in archives if a.is_file()}
        engine = self._engine.versions()
        if engine["engine"] == "textworld" or engine["textworld_fallback_games"]:
            engine.update({name: _version(name) for name in ("alfworld", "textworld")})
        return {**engine, "data_files": files, "games_dir": None if files else str(self._store.root)}

    def close(self) -> None:
        """Release the game engine (idempotent)."""
        self._engine.close()
        self._game = None


class ALFWorldEnv(TextEnv):
    """ALFWorld (Shridhar et al., 2021), the text version: one episode plays one official game file.

    Splits (task ids ``<split>/<task folder>/<trial>``, each split sorted by id): ``valid_unseen`` (134 games,
    the default: ALFWorld's ``eval_out_of_distribution``, the test set of ReAct, Reflexion, ETO and CoPS),
    ``valid_seen`` (140, ``eval_in_distribution``), ``train`` (3,553) and ``valid_train`` (200).

    Observations and actions are ALFWorld's: the first observation is the room description then
    ``Your task is to: ...`` (the banner line dropped, as the papers' agents do), every later one is the
    game's feedback verbatim, and a command that is not admissible answers ``Nothing happens.``. Reward 1 and
    ``terminated`` on the step that solves the task (textworld's PDDL goal check), else 0. ``info`` adds
    ``task_type`` (one of the six) and ``invalid_action``; ``admissible_actions=True`` lists ALFWorld's
    admissible commands (free: the game computes them on every step anyway).

    ``expert_action()`` replays the game file's stored walkthrough (it wins every game) while the agent follows
    it, and asks fast-downward for an optimal plan from the current state once the agent has left it (that
    needs TextWorld's engine, ``pip install 'agentgym[alfworld-textworld]'``).

    The games are played by a native engine (``engine="native"``, the default: pure Python, no compiled
    planner, the same text, admissible commands and wins as ALFWorld's engine, tens of times faster) or by
    ALFWorld's own engine (``engine="textworld"``: TextWorld's PDDL interpreter with its name demangler).
    Games the native engine does not reproduce exactly are played by TextWorld's, as the protocol card records.

    Args:
        split: the split a seed-only reset draws from (default ``valid_unseen``).
        engine: ``"native"`` (default) or ``"textworld"``.
        admissible_actions: put the admissible commands in ``info["admissible_actions"]``.
        render_mode: ``"ansi"`` returns the last observation from ``render()``.
        data_dir: a folder with ``json_2.1.1/`` (the official layout; ALFWorld's ``$ALFWORLD_DATA`` works) or
            ``<split>.tar.xz`` files; default ``$AGENTGYM_DATA/alfworld``.

    Example:
        >>> import gymnasium, agentgym
        >>> env = gymnasium.make("agentgym/ALFWorld-v0")  # doctest: +SKIP
        >>> obs, info = env.reset(options={"split": "valid_unseen", "index": 0})  # doctest: +SKIP

    Change logs:
        v0: initial version (alfworld 0.4.2, textworld 1.7.0, game files of ``json_2.1.2_tw-pddl.zip``).
    """

    task: ALFWorldTask
    action_grammar = ALFWORLD_ACTIONS

    def __init__(
        self,
        *,
        split: str | None = None,
        admissible_actions: bool = False,
        render_mode: str | None = None,
        data_dir: str | os.PathLike | None = None,
        engine: str = DEFAULT_ENGINE,
    ) -> None:
        """Set up; the data is listed on first use and the game engine starts at the first reset."""
        task = ALFWorldTask(data_dir=data_dir, engine=engine)
        super().__init__(task, split=split, admissible_actions=admissible_actions, render_mode=render_mode)
