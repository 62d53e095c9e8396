"""The two ALFWorld game engines behind one interface, and which games the native one hands to TextWorld.

- ``native`` (:data:`DEFAULT_ENGINE`): :mod:`agentgym.envs.alfworld.native`, pure Python, identical text
  (see the README's sweep). Games listed in ``native_fallback.txt`` (games the sweep found to differ) and
  games the native engine refuses (:class:`~agentgym.envs.alfworld.native.UnsupportedGame`) are played by
  TextWorld instead, with a warning; the env's protocol card names them.
- ``textworld``: ALFWorld's own engine (TextWorld's
  ``PddlEnv`` + ``AlfredDemangler``, :mod:`.engine`), the reference; needs ``pip install
  'agentgym[alfworld-textworld]'``.

Both answer ``start(path) -> intro``, ``step(command) -> (feedback, won)``, ``admissible_commands``,
``walkthrough``, ``replan()`` and ``close()``.
"""

from __future__ import annotations

import functools
import warnings
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from agentgym.envs.alfworld.native import ENGINE_VERSION, NativeGame, UnsupportedGame
from agentgym.error import DependencyNotInstalled

ENGINES = ("native", "textworld")
#: The engine an env gets by default: the equivalence sweep (``python -m agentgym.envs.alfworld.equivalence``)
#: found every game of valid_unseen, valid_seen and valid_train identical (envs/alfworld/README.md).
DEFAULT_ENGINE = "native"
TEXTWORLD_EXTRA = "alfworld-textworld"


class Engine(Protocol):
    """What the env needs of a game engine."""

    def start(self, game_file: Path) -> str:
        """Load and reset a game; return its intro."""

    def step(self, command: str) -> tuple[str, bool]:
        """Apply a command; return ``(feedback, won)``."""

    @property
    def admissible_commands(self) -> list[str]:
        """The valid commands now, sorted."""

    @property
    def walkthrough(self) -> list[str]:
        """The game file's walkthrough."""

    def replan(self) -> list[str]:
        """An optimal plan from the current state."""

    def close(self) -> None:
        """Release the engine."""


@functools.cache
def fallback_games() -> frozenset[str]:
    """Task ids the native engine is known not to reproduce exactly (played by TextWorld)."""
    text = resources.files("agentgym.envs.alfworld").joinpath("native_fallback.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def textworld_engine() -> Any:
    """A new TextWorld engine (:class:`.engine.AlfredGame`), or :class:`DependencyNotInstalled`."""
    try:
        from agentgym.envs.alfworld.engine import AlfredGame
    except ImportError as e:
        raise DependencyNotInstalled("alfworld (TextWorld's engine)", TEXTWORLD_EXTRA) from e
    return AlfredGame()


class NativeEngine:
    """The native engine, remembering each game file's parse (a few hundred KB) for the next start."""

    CACHE_SIZE = 8

    def __init__(self) -> None:
        """Start with no game."""
        self._game: NativeGame | None = None
        self._file: Path | None = None
        self._history: list[str] = []

    def start(self, game_file: Path) -> str:
        """Load (or reuse) a game and return its intro."""
        self._game = NativeGame(_game_data(str(game_file)))
        self._file = game_file
        self._history = []
        return self._game.reset()

    def step(self, command: str) -> tuple[str, bool]:
        """Apply a command; return ``(feedback, won)``."""
        game = self._require()
        self._history.append(command)
        return game.step(command), game.won

    @property
    def admissible_commands(self) -> list[str]:
        """The valid commands now, sorted."""
        return self._require().admissible_commands

    @property
    def walkthrough(self) -> list[str]:
        """The game file's walkthrough."""
        return list(self._require().data.walkthrough)

    def replan(self) -> list[str]:
        """An optimal plan from the current state, from fast-downward (TextWorld's engine replays the episode).

        The native engine has no planner: ALFWorld's plans come from fast-downward, whose choice among equally
        short plans only fast-downward reproduces.
        """
        reference = textworld_engine()
        try:
            reference.start(self._file)
            for command in self._history:
                reference.step(command)
            return reference.replan()
        finally:
            reference.close()

    def close(self) -> None:
        """Forget the current game."""
        self._game = None

    def _require(self) -> NativeGame:
        if self._game is None:
            raise RuntimeError("no game started")
        return self._game


@functools.lru_cache(maxsize=NativeEngine.CACHE_SIZE)
def _game_data(path: str) -> Any:
    return NativeGame.load(path).data


class SelectedEngine:
    """The engine an env asked for, handing the native engine's fallback games to TextWorld (with a warning).

    Args:
        name: ``"native"`` or ``"textworld"``.
    """

    def __init__(self, name: str) -> None:
        """Create nothing yet: engines start on first use."""
        if name not in ENGINES:
            raise ValueError(f"unknown ALFWorld engine {name!r}; expected one of {ENGINES}")
        self.name = name
        self._native: NativeEngine | None = None
        self._textworld: Any = None
        self.current: Engine | None = None
        #: Task ids this env played with TextWorld although the native engine was asked for.
        self.fell_back: list[str] = []

    def start(self, task_id: str, game_file: Path) -> str:
        """Start a game on the right engine; return its intro."""
        if self.name == "native" and task_id not in fallback_games():
            if self._native is None:
                self._native = NativeEngine()
            try:
                self.current = self._native
                return self._native.start(game_file)
            except UnsupportedGame as e:
                reason = f"the native engine cannot play it ({e})"
        else:
            reason = "it is listed in native_fallback.txt"
        if self.name == "native":
            warnings.warn(f"ALFWorld game {task_id} is played by TextWorld's engine: {reason}", stacklevel=3)
            if task_id not in self.fell_back:
                self.fell_back.append(task_id)
        if self._textworld is None:
            self._textworld = textworld_engine()
        self.current = self._textworld
        return self._textworld.start(game_file)

    def versions(self) -> dict[str, Any]:
        """The engine's name and version, and the games handed to TextWorld, for the protocol card."""
        if self.name == "textworld":
            return {"engine": "textworld"}
        return {
            "engine": "native",
            "engine_version": ENGINE_VERSION,
            "textworld_fallback_games": sorted(fallback_games() | set(self.fell_back)),
        }

    def close(self) -> None:
        """Release both engines (idempotent)."""
        if self._textworld is not None:
            self._textworld.close()
            self._textworld = None
        if self._native is not None:
            self._native.close()
            self._native = None
        self.current = None
