"""ALFWorld as an agentgym plugin: its env id, the release of its games and its packages (import-light)."""

from __future__ import annotations

from pathlib import Path

from agentgym.data import Dataset, RemoteFile
from agentgym.plugins import Plugin
from agentgym.registry import EnvEntry


def _unpack(root: Path) -> None:
    from agentgym.envs.alfworld.dataset import unpack_release  # stdlib-only module: no extra needed

    unpack_release(root)


PLUGIN = Plugin(
    name="alfworld",
    envs=(
        # 50 steps: ReAct's and Reflexion's ALFWorld budget. textworld's global memo cache grows ~0.5 MB per
        # distinct game (envs/alfworld/README.md): 500 train episodes keep a worker at ~340 MB in the first half
        # of the split, ~690 MB in the second (benchmarks/soak.py); the 1 GB cap catches the planner's peaks.
        EnvEntry(
            "agentgym/ALFWorld-v0",
            "agentgym.envs.alfworld.env:ALFWorldEnv",
            50,
            "alfworld",
            extra="alfworld",
            worker_episodes=500,
            worker_memory_mb=1024,
        ),
    ),
    datasets=(
        Dataset(
            name="alfworld",
            description="ALFWorld's text games (json_2.1.1 layout, game.tw-pddl files), the release that "
            "alfworld 0.4.2's `alfworld-download` fetches; each split is checked against pinned digests.",
            files=(
                RemoteFile(
                    url="https://github.com/alfworld/alfworld/releases/download/0.4.0/json_2.1.2_tw-pddl.zip",
                    path="alfworld/json_2.1.2_tw-pddl.zip",
                    sha256=None,  # the zip's own sha256 is not published; unpack checks each split's game files
                ),
            ),
            unpack=_unpack,
        ),
    ),
    packages=("alfworld", "textworld"),
)
