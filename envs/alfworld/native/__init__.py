"""A native engine for ALFWorld's text games: no TextWorld, no planner (see ``envs/alfworld/README.md``).

Modules: ``pddl`` (reading the domain and problem), ``grammar`` (templates, feedback rules, the text
grammar), ``names`` (ALFWorld's display names), ``game`` (state, admissible commands, effects, text, goal).
"""

from agentgym.envs.alfworld.native.game import NOTHING_HAPPENS, GameData, NativeGame
from agentgym.envs.alfworld.native.pddl import UnsupportedGame

#: Bumped whenever a change could alter what a game shows; the protocol card records it.
ENGINE_VERSION = "1"

__all__ = ["ENGINE_VERSION", "NOTHING_HAPPENS", "GameData", "NativeGame", "UnsupportedGame"]
