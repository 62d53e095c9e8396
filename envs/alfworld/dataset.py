"""Where ALFWorld's game files are: the official folder layout, or one ``<split>.tar.xz`` per split.

Looked up, per split, in the ALFWorld data folder (``$AGENTGYM_DATA/alfworld`` by default, or the ``data_dir``
an env is made with):

1. ``json_2.1.1/<split>/<task>/<trial>/game.tw-pddl``: the official layout, as ``agentgym data download
   alfworld`` or ALFWorld's own ``alfworld-download`` (``$ALFWORLD_DATA``) leave it; extra files such as
   ``traj_data.json`` are ignored.
2. ``<split>.tar.xz``: the same files, compressed. Listing a split reads only the archive's member names (and
   remembers them in the cache); the first game loaded from a split unpacks that split, and only that one,
   into :func:`agentgym.data.cache_dir`, once: under a file lock, into a temporary folder that is renamed into
   place only after its files match :data:`SPLIT_DIGESTS`, so concurrent workers neither race nor see half a
   split.

:data:`SPLIT_DIGESTS` pins each split's content. A split digest is the sha256 of the ``sha256sum``-style
manifest of its game files, which this shell pipeline reproduces from inside ``json_2.1.1``::

    find valid_unseen -name game.tw-pddl | LC_ALL=C sort | xargs sha256sum | sha256sum
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from agentgym.data import cache_dir, current_umask, data_root
from agentgym.envs.alfworld.games import GAME_FILE, SPLITS, task_id_of
from agentgym.error import ChecksumMismatch, DataNotFound
from agentgym.files import atomic_write

JSON_DIR = "json_2.1.1"

#: The split digests (see the module docstring) of the official ``json_2.1.2_tw-pddl.zip`` game files,
#: computed here from the project's copies of those files.
SPLIT_DIGESTS = {
    "train": "ee760906a175326135ec138a921f28f6c58ddf690611f7638676da1409014fcd",
    "valid_seen": "2f0135d66ccefa654c5dba2148ceda1264b5ce23a8acc8aca165fcec05259a69",
    "valid_unseen": "0ecd5b0bb801227149f754cb74af68e870634e0a203f9e91c52c98f5c601c025",
    "valid_train": "8a040e7dab1c809e77d57c6a09fe8ef9c957b13b0831c5c2b47b7e737dac0579",
}


class SplitDigest:
    """Accumulates a split digest from ``(relative path, file sha256)`` pairs given in any order."""

    def __init__(self) -> None:
        """Start empty."""
        self._lines: list[tuple[str, str]] = []

    def add(self, relative_path: str, data: bytes) -> None:
        """Add one game file's path (relative to ``json_2.1.1``) and content."""
        self.add_sha256(relative_path, hashlib.sha256(data).hexdigest())

    def add_sha256(self, relative_path: str, sha256: str) -> None:
        """Add one game file's path (relative to ``json_2.1.1``) and the hex sha256 of its content."""
        self._lines.append((relative_path, sha256))

    def hexdigest(self) -> str:
        """Return the split digest of the files added so far."""
        # Paths are ASCII, so str order is LC_ALL=C byte order.
        manifest = "".join(f"{digest}  {path}\n" for path, digest in sorted(self._lines))
        return hashlib.sha256(manifest.encode()).hexdigest()


class GameStore:
    """The game files of every split under one ALFWorld data folder.

    Args:
        root: a folder holding ``json_2.1.1/`` and/or ``<split>.tar.xz`` files, or a ``json_2.1.1`` folder
            itself; ``None`` for ``$AGENTGYM_DATA/alfworld`` (see :func:`agentgym.data.data_root`).
    """

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        """Remember where to look; nothing is read until a split is listed."""
        self.root = Path(root).expanduser().resolve() if root is not None else data_root() / "alfworld"
        looks_like_json_dir = self.root.name == JSON_DIR or any((self.root / s).is_dir() for s in SPLITS)
        self._json_dir = self.root if looks_like_json_dir else self.root / JSON_DIR
        self._ids: dict[str, tuple[str, ...]] = {}
        self._split_dirs: dict[str, Path] = {}

    def task_ids(self, split: str) -> tuple[str, ...]:
        """Return the task ids of ``split`` in the stable order: sorted by task id (so by type, then trial).

        Raises:
            DataNotFound: when the split is in neither form.
        """
        if split not in self._ids:
            in_folder = (self._json_dir / split).is_dir()
            ids = self._list_folder(split) if in_folder else self._list_archive(split)
            self._ids[split] = tuple(sorted(ids))
        return self._ids[split]

    def game_file(self, task_id: str) -> Path:
        """Return the path of a task's ``game.tw-pddl``, unpacking its split first if it is archived."""
        split = task_id.split("/", 1)[0]
        if split not in self._split_dirs:
            if (self._json_dir / split).is_dir():
                self._split_dirs[split] = self._json_dir
            else:
                self._split_dirs[split] = _unpack_split(self._archive(split), split)
        path = self._split_dirs[split] / task_id / GAME_FILE
        if not path.is_file():
            raise DataNotFound(f"{path} is missing: the ALFWorld data under {self.root} is incomplete")
        return path

    def _list_folder(self, split: str) -> list[str]:
        ids = []
        for path in (self._json_dir / split).glob(f"*/*/{GAME_FILE}"):
            task_id = task_id_of(path.relative_to(self._json_dir).as_posix())
            if task_id is not None:
                ids.append(task_id)
        return ids

    def _archive(self, split: str) -> Path:
        archive = self.root / f"{split}.tar.xz"
        if not archive.is_file():
            raise DataNotFound(
                f"ALFWorld split {split!r} was found neither as {self._json_dir / split} nor as {archive}: "
                f"run `agentgym data download alfworld` (or set AGENTGYM_DATA to a folder with alfworld/)"
            )
        return archive

    def _list_archive(self, split: str) -> list[str]:
        archive = self._archive(split)
        listing = cache_dir("alfworld") / f"{split}-{_file_key(archive)}.ids"
        if listing.is_file():
            return listing.read_text().split()
        with tarfile.open(archive, "r:xz") as tar:
            ids = [task_id for name in tar.getnames() if (task_id := _member_task_id(name, split))]
        atomic_write(listing, "".join(f"{task_id}\n" for task_id in ids).encode())
        return ids


def _member_task_id(name: str, split: str) -> str | None:
    """Return the task id of an archive member of ``split`` named ``json_2.1.1/<split>/.../game.tw-pddl``."""
    prefix = f"{JSON_DIR}/{split}/"
    if not name.startswith(prefix):
        return None
    return task_id_of(name[len(JSON_DIR) + 1 :])


def _file_key(path: Path) -> str:
    """Return a short content key of a file (the first 16 hex digits of its sha256)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _unpack_split(archive: Path, split: str) -> Path:
    """Unpack a split's game files from ``archive`` into the cache (once); return its ``json_2.1.1`` dir."""
    cache = cache_dir("alfworld")
    final = cache / f"{split}-{_file_key(archive)}"
    if final.is_dir():
        return final
    with _locked(cache / f"{final.name}.lock"):
        if final.is_dir():  # another process finished it while we waited
            return final
        staging = Path(tempfile.mkdtemp(dir=cache, prefix=f".{final.name}."))
        try:
            digest = SplitDigest()
            with tarfile.open(archive, "r:xz") as tar:
                for member in tar:
                    task_id = _member_task_id(member.name, split) if member.isfile() else None
                    if task_id is None:
                        continue
                    with tar.extractfile(member) as content:  # type: ignore[union-attr]  # isfile() checked
                        # The target path is rebuilt from the validated task id, never taken from the archive.
                        digest.add_sha256(f"{task_id}/{GAME_FILE}", _write_game(staging, task_id, content))
            _check_digest(split, digest, str(archive))
            staging.rename(final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return final


def _write_game(json_dir: Path, task_id: str, content: IO[bytes]) -> str:
    """Stream an archive member into its task's game file (never whole in memory); return its hex sha256."""
    target = json_dir / task_id / GAME_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with target.open("wb") as out:
        for chunk in iter(lambda: content.read(1 << 20), b""):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def _check_digest(split: str, digest: SplitDigest, source: str) -> None:
    actual = digest.hexdigest()
    if actual != SPLIT_DIGESTS[split]:
        raise ChecksumMismatch(
            f"the {split} game files in {source} have split digest {actual}, expected {SPLIT_DIGESTS[split]} "
            f"(the official json_2.1.2_tw-pddl release); the split was not installed"
        )


@contextlib.contextmanager
def _deleted_if_bad(path: Path) -> Iterator[None]:
    try:
        yield
    except (ChecksumMismatch, zipfile.BadZipFile):
        path.unlink(missing_ok=True)
        raise


def unpack_release(root: Path, zip_name: str = "json_2.1.2_tw-pddl.zip") -> None:
    """Install the official release zip's game files as ``<root>/alfworld/json_2.1.1`` (``agentgym data``).

    Only ``game.tw-pddl`` files of the four splits are taken, each streamed from the zip to its file (hashed on
    the way, never whole in memory); each split must match :data:`SPLIT_DIGESTS`,
    else nothing is installed and the zip is deleted (its own checksum is not pinned, so a bad download
    must not look complete to the next ``agentgym data download``).

    Raises:
        ChecksumMismatch: when a split's files differ from the pinned ones.
    """
    folder = root / "alfworld"
    staging = Path(tempfile.mkdtemp(dir=folder, prefix=f".{JSON_DIR}."))
    try:
        digests = {split: SplitDigest() for split in SPLITS}
        with _deleted_if_bad(folder / zip_name), zipfile.ZipFile(folder / zip_name) as archive:
            for name in archive.namelist():
                relative = name.split(f"{JSON_DIR}/", 1)[-1] if f"{JSON_DIR}/" in name else ""
                task_id = task_id_of(relative)
                if task_id is None:
                    continue
                with archive.open(name) as content:
                    digests[task_id.split("/", 1)[0]].add_sha256(relative, _write_game(staging, task_id, content))
            for split, digest in digests.items():
                _check_digest(split, digest, zip_name)
        staging.chmod(0o777 & ~current_umask())  # mkdtemp's 0700 would hide the games from a shared data folder
        target = folder / JSON_DIR
        if target.exists():
            old = Path(tempfile.mkdtemp(dir=folder, prefix=f".{JSON_DIR}.old."))
            target.rename(old / JSON_DIR)
            shutil.rmtree(old)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
