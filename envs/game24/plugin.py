"""Game of 24 as an agentgym plugin: its two env ids and the puzzle file (import-light: declarations only)."""

from __future__ import annotations

from agentgym.data import Dataset, RemoteFile
from agentgym.plugins import Plugin
from agentgym.registry import EnvEntry

PLUGIN = Plugin(
    name="game24",
    envs=(
        # 20 steps: RAFA's max_step.
        EnvEntry("agentgym/Game24-v0", "agentgym.envs.game24.env:Game24Env", 20, "game24"),
        # One action: Tree-of-Thoughts' input-output setting.
        EnvEntry(
            "agentgym/Game24OneShot-v0",
            "agentgym.envs.game24.env:Game24Env",
            1,
            "game24-oneshot",
            kwargs={"one_shot": True},
        ),
    ),
    datasets=(
        Dataset(
            name="game24",
            description="The 1,362 Game-of-24 puzzles ranked by human solve time (Tree-of-Thoughts repository).",
            files=(
                RemoteFile(
                    url="https://raw.githubusercontent.com/princeton-nlp/tree-of-thought-llm/master/src/tot/data/24/24.csv",
                    path="game24/24.csv",
                    sha256="b9f12b3e36d987a3c714c4cef17d89a137d7c59da26532fcfb93b4821d8111b5",
                ),
            ),
        ),
    ),
)
