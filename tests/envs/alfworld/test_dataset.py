"""Finding, listing, unpacking and verifying the game files (no simulator needed)."""

import collections
import hashlib
import io
import multiprocessing
import shutil
import tarfile
import tracemalloc
import zipfile

import pytest

from agentgym import data
from agentgym.envs.alfworld import dataset
from agentgym.envs.alfworld.dataset import SPLIT_DIGESTS, GameStore, SplitDigest, unpack_release
from agentgym.envs.alfworld.games import SPLIT_SIZES, GameInfo
from agentgym.error import ChecksumMismatch, DataNotFound


def test_split_sizes_and_stable_order(archives, isolated_cache):
    store = GameStore(archives)
    for split in SPLITS_WITHOUT_TRAIN_UNPACK:
        ids = store.task_ids(split)
        assert len(ids) == SPLIT_SIZES[split] and list(ids) == sorted(ids)
        assert all(GameInfo.parse(task_id).split == split for task_id in ids)
    # Listing train reads the archive's member names only: nothing is unpacked.
    assert len(store.task_ids("train")) == 3553
    assert not [p for p in (isolated_cache / "agentgym" / "cache" / "alfworld").iterdir() if p.is_dir()]
    types = collections.Counter(GameInfo.parse(t).task_type for t in store.task_ids("valid_unseen"))
    assert types == {
        "pick_and_place_simple": 24,
        "look_at_obj_in_light": 18,
        "pick_clean_then_place_in_recep": 31,
        "pick_heat_then_place_in_recep": 23,
        "pick_cool_then_place_in_recep": 21,
        "pick_two_obj_and_place": 17,
    }


SPLITS_WITHOUT_TRAIN_UNPACK = ("valid_seen", "valid_unseen", "valid_train")


def test_a_split_unpacks_once_and_only_that_split(archives, isolated_cache):
    store = GameStore(archives)
    first = store.task_ids("valid_unseen")[0]
    path = store.game_file(first)
    assert path.is_file() and path.name == "game.tw-pddl"
    unpacked = [p.name for p in (isolated_cache / "agentgym" / "cache" / "alfworld").iterdir() if p.is_dir()]
    assert len(unpacked) == 1 and unpacked[0].startswith("valid_unseen-")
    mtime = path.stat().st_mtime_ns
    assert GameStore(archives).game_file(first).stat().st_mtime_ns == mtime  # a new store reuses it


def _unpack_in_child(archive_dir, queue):
    queue.put(str(GameStore(archive_dir).game_file(GameStore(archive_dir).task_ids("valid_seen")[0])))


def test_concurrent_first_loads_unpack_once(archives, isolated_cache):
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    children = [ctx.Process(target=_unpack_in_child, args=(archives, queue)) for _ in range(3)]
    for child in children:
        child.start()
    for child in children:
        child.join(120)
    paths = {queue.get(timeout=5) for _ in children}
    assert all(child.exitcode == 0 for child in children) and len(paths) == 1
    cache = isolated_cache / "agentgym" / "cache" / "alfworld"
    assert [p.name for p in cache.iterdir() if p.is_dir() and p.name.startswith(".")] == []


def test_a_tampered_archive_is_refused_and_nothing_installed(archives, isolated_cache, tmp_path):
    tampered = tmp_path / "bad" / "valid_unseen.tar.xz"
    tampered.parent.mkdir()
    source_path = archives / "valid_unseen.tar.xz"
    with tarfile.open(source_path, "r:xz") as source, tarfile.open(tampered, "w:xz") as out:
        for member in source:
            content = source.extractfile(member).read() if member.isfile() else None
            if content is not None and member.name.endswith("game.tw-pddl") and "Mug" in member.name:
                content += b" "  # still valid JSON, but not the official file
                member.size = len(content)
            out.addfile(member, io.BytesIO(content) if content is not None else None)
    store = GameStore(tampered.parent)
    with pytest.raises(ChecksumMismatch, match="split digest"):
        store.game_file(store.task_ids("valid_unseen")[0])
    cache = isolated_cache / "agentgym" / "cache" / "alfworld"
    assert not [p for p in cache.iterdir() if p.is_dir()]


def test_the_official_folder_layout_is_read_with_alfworlds_filter(archives, isolated_cache, tmp_path):
    store = GameStore(archives)
    ids = store.task_ids("valid_unseen")
    source = store.game_file(ids[0]).parents[3]  # the unpacked json_2.1.1
    official = tmp_path / "alfworld_data" / "json_2.1.1"
    shutil.copytree(source / "valid_unseen", official / "valid_unseen")
    (official / "valid_unseen" / ids[0].split("/", 1)[1] / "traj_data.json").write_text("{}")
    sliced = official / "valid_unseen" / "pick_and_place_simple-AppleSliced-None-Fridge-1" / "trial_T1"
    sliced.mkdir(parents=True)
    (sliced / "game.tw-pddl").write_text("{}")
    for root in (official.parent, official):  # the data folder or json_2.1.1 itself
        folder_store = GameStore(root)
        assert folder_store.task_ids("valid_unseen") == ids
        assert folder_store.game_file(ids[5]) == official / ids[5] / "game.tw-pddl"
        with pytest.raises(DataNotFound, match="agentgym data download alfworld"):
            folder_store.task_ids("valid_seen")


def test_split_digest_matches_the_sha256sum_pipeline():
    digest = SplitDigest()
    digest.add("valid_unseen/b/trial_T2/game.tw-pddl", b"2")
    digest.add("valid_unseen/a/trial_T1/game.tw-pddl", b"1")
    manifest = "".join(
        f"{hashlib.sha256(content).hexdigest()}  valid_unseen/{name}/game.tw-pddl\n"
        for name, content in (("a/trial_T1", b"1"), ("b/trial_T2", b"2"))
    )
    assert digest.hexdigest() == hashlib.sha256(manifest.encode()).hexdigest()
    assert set(SPLIT_DIGESTS) == set(SPLIT_SIZES)


def test_a_release_zip_missing_splits_is_refused(archives, isolated_cache, tmp_path):
    store = GameStore(archives)
    root = tmp_path / "data"
    (root / "alfworld").mkdir(parents=True)
    with zipfile.ZipFile(root / "alfworld" / "json_2.1.2_tw-pddl.zip", "w") as zipped:
        for task_id in store.task_ids("valid_unseen"):
            zipped.write(store.game_file(task_id), f"json_2.1.1/{task_id}/game.tw-pddl")
    with pytest.raises(ChecksumMismatch, match="the train game files"):
        unpack_release(root)
    assert list((root / "alfworld").iterdir()) == []  # the unverifiable zip is gone too


def test_the_download_entry_points_at_alfworlds_release():
    [remote] = data.DATASETS["alfworld"].files
    assert remote.url.endswith("/alfworld/alfworld/releases/download/0.4.0/json_2.1.2_tw-pddl.zip")
    assert remote.sha256 is None and data.DATASETS["alfworld"].unpack is not None
    assert dataset.JSON_DIR == "json_2.1.1"


def test_missing_data_says_how_to_get_it(tmp_path):
    with pytest.raises(DataNotFound, match="agentgym data download alfworld"):
        GameStore(tmp_path).task_ids("valid_unseen")


def test_download_refuses_a_release_that_is_not_the_official_one(archives, isolated_cache, release_server):
    store = GameStore(archives)
    with zipfile.ZipFile(release_server, "w") as zipped:
        for task_id in store.task_ids("valid_seen"):
            zipped.write(store.game_file(task_id), f"json_2.1.1/{task_id}/game.tw-pddl")
    with pytest.raises(ChecksumMismatch, match="the train game files"):
        data.download("alfworld")
    assert list((data.data_root() / "alfworld").iterdir()) == []
    release_server.write_bytes(b"<html>rate limited</html>")
    with pytest.raises(zipfile.BadZipFile):
        data.download("alfworld")
    assert list((data.data_root() / "alfworld").iterdir()) == []


def test_the_release_zip_is_streamed_not_read_whole(tmp_path):
    """A 64 MB game file in the zip (deflated to a few kB) is unpacked without holding it in memory."""
    root = tmp_path / "data"
    (root / "alfworld").mkdir(parents=True)
    task_id = "valid_seen/pick_and_place_simple-Apple-None-Fridge-1/trial_T0"
    release = root / "alfworld" / "json_2.1.2_tw-pddl.zip"
    with (
        zipfile.ZipFile(release, "w", zipfile.ZIP_DEFLATED) as zipped,
        zipped.open(f"json_2.1.1/{task_id}/game.tw-pddl", "w") as member,
    ):
        for _ in range(64):
            member.write(b"\0" * (1 << 20))
    tracemalloc.start()
    try:
        with pytest.raises(ChecksumMismatch, match="the train game files"):  # not the official release
            unpack_release(root)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, f"{peak / 2**20:.0f} MB held at once"
    assert list((root / "alfworld").iterdir()) == []
