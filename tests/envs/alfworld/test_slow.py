"""Slow checks: the expert on every evaluation game, the train split, the release zip, memory growth."""

import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import gymnasium
import pytest

from agentgym import data
from agentgym.envs.alfworld.dataset import GameStore
from agentgym.envs.alfworld.games import SPLIT_SIZES, SPLITS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def env():
    pytest.importorskip("alfworld")
    import agentgym  # noqa: F401

    env = gymnasium.make("agentgym/ALFWorld-v0")
    yield env
    env.close()


def expert_wins(env, task_id):
    _, info = env.reset(options={"task_id": task_id})
    terminated = truncated = False
    while not (terminated or truncated):
        action = env.unwrapped.expert_action()
        if action is None:
            break
        _, _, terminated, truncated, info = env.step(action)
    return info["won"]


@pytest.mark.parametrize("split", ["valid_unseen", "valid_seen"])
def test_expert_wins_every_evaluation_game(env, split):
    ids = env.unwrapped.tasks.split(split)
    lost = [task_id for task_id in ids if not expert_wins(env, task_id)]
    assert len(ids) == SPLIT_SIZES[split] and lost == []


def test_train_split_unpacks_and_plays(env):
    ids = env.unwrapped.tasks.split("train")
    assert len(ids) == 3553
    lost = [task_id for task_id in ids[::250] if not expert_wins(env, task_id)]
    assert lost == []


def test_download_installs_every_split_of_the_release(archives, release_server):
    store = GameStore(archives)
    with zipfile.ZipFile(release_server, "w", zipfile.ZIP_DEFLATED) as zipped:
        for split in SPLITS:
            for task_id in store.task_ids(split):
                zipped.write(store.game_file(task_id), f"json_2.1.1/{task_id}/game.tw-pddl")
            zipped.writestr(f"json_2.1.1/{split}/README.txt", "not a game")
    previous = os.umask(0o002)  # a data folder shared by a group
    try:
        data.download("alfworld")
    finally:
        os.umask(previous)
    installed = GameStore(data.data_root() / "alfworld")
    for split in SPLITS:
        assert installed.task_ids(split) == store.task_ids(split)
    games = data.data_root() / "alfworld" / "json_2.1.1"
    assert stat.S_IMODE(games.stat().st_mode) == 0o775  # not mkdtemp's 0700
    assert stat.S_IMODE(installed.game_file(store.task_ids("train")[0]).stat().st_mode) == 0o664


MEMORY_PROBE = """
import sys
from benchmarks.alfworld_memory import play, rss_mb, slope
from agentgym.envs.alfworld.env import ALFWorldEnv
env = ALFWorldEnv(split="valid_seen", engine="textworld")
ids = env.tasks.split("valid_seen")[:60]
play(env, ids[0])
points = []
for i, task_id in enumerate(ids, start=1):
    play(env, task_id)
    points.append((i, rss_mb()))
before = rss_mb()
for _ in range(20):
    play(env, ids[-1])
print(slope(points[10:]), rss_mb() - before)
"""


def test_memory_grows_about_half_a_megabyte_per_distinct_game(env):
    """The figure behind ALFWorld's worker recycling (registry): growth per new game, none per replay."""
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE],
        cwd=Path(__file__).resolve().parents[3],  # the checkout root, for benchmarks/
        capture_output=True,
        text=True,
        check=True,
        timeout=1500,
    )
    per_game, replay_growth = map(float, out.stdout.split())
    assert 0.1 < per_game < 1.5, per_game
    assert replay_growth < 5, replay_growth
