"""Where benchmark data lives, and ``agentgym data download``: fetch official files, verify their sha256.

Data is looked for in ``$AGENTGYM_DATA`` when that is set (a folder holding each dataset's files at their
``RemoteFile.path``: ``NAME/FILE``), else in a per-user cache (``$XDG_CACHE_HOME/agentgym/data``,
by default ``~/.cache/agentgym/data``). Nothing is downloaded implicitly: envs raise :class:`DataNotFound`
with the command to run. The datasets themselves are declared by the plugins (:mod:`agentgym.plugins`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from agentgym.error import ChecksumMismatch, DataNotFound, import_optional
from agentgym.registry import Registry, plugin_entries

DATA_ENV_VAR = "AGENTGYM_DATA"


@dataclass(frozen=True)
class RemoteFile:
    """One official file: where to fetch it, where it goes under the data root, and its sha256.

    ``sha256=None`` only for a file whose own checksum is not published and could not be computed here; its
    dataset's ``unpack`` step must then verify the content it installs (and raise :class:`ChecksumMismatch`).
    ``size``, when known, is checked too. A Google Drive file (``url`` from :func:`drive_file`) is fetched with
    ``gdown``.
    """

    url: str
    path: str
    sha256: str | None
    size: int | None = None


@dataclass(frozen=True)
class Dataset:
    """A benchmark's data: its files, an optional step that unpacks them after download, and the extra it needs.

    ``extra`` names the pip extra that installs what downloading needs (``gdown`` for Google Drive files).
    """

    name: str
    description: str
    files: tuple[RemoteFile, ...]
    unpack: Callable[[Path], None] | None = field(default=None, compare=False)
    extra: str | None = None


DRIVE_URL = "https://drive.google.com"
DRIVE_URL_ENV_VAR = "AGENTGYM_DRIVE_URL"  # another host serving /uc?id=ID (a mirror; the tests' local server)
RECORDED_DIGESTS = "SHA256SUMS"


def drive_file(file_id: str, path: str, sha256: str | None = None, size: int | None = None) -> RemoteFile:
    """A file on Google Drive, by id, fetched with ``gdown`` (as the original ``setup.sh`` scripts do)."""
    return RemoteFile(url=f"{DRIVE_URL}/uc?id={file_id}", path=path, sha256=sha256, size=size)


def _read_digests(folder: Path) -> dict[str, str]:
    """The ``sha256  name`` lines of ``folder/SHA256SUMS`` (empty when there is none)."""
    path = folder / RECORDED_DIGESTS
    if not path.is_file():
        return {}
    lines = (line.split(maxsplit=1) for line in path.read_text().splitlines())
    return {name.strip().lstrip("*"): digest for digest, name in (p for p in lines if len(p) == 2)}


def record_digests(files: tuple[RemoteFile, ...], root: Path) -> None:
    """Record the sha256 of each installed file with no pinned digest, or check it against the recorded one.

    A dataset's ``unpack`` step for files whose digests are not published: ``partial(record_digests, files)``.

    Raises:
        ChecksumMismatch: when an installed file differs from the digest recorded at its first download.
    """
    for remote in files:
        target = root / remote.path
        if remote.sha256 is not None or not target.is_file():
            continue
        recorded = _read_digests(target.parent)
        actual = sha256_of(target)
        if target.name not in recorded:
            with (target.parent / RECORDED_DIGESTS).open("a") as f:
                f.write(f"{actual}  {target.name}\n")
        elif recorded[target.name] != actual:
            raise ChecksumMismatch(
                f"{target} has sha256 {actual}, but {recorded[target.name]} was recorded in "
                f"{target.parent / RECORDED_DIGESTS} when it was first downloaded; remove that line to accept it"
            )


#: Every dataset ``agentgym data download`` knows, by name, as the installed plugins declare them.
DATASETS: Registry[Dataset] = Registry("dataset", lambda: plugin_entries("datasets", lambda dataset: dataset.name))


def data_root() -> Path:
    """Return the folder data is read from and downloaded to."""
    configured = os.environ.get(DATA_ENV_VAR)
    if configured:
        return Path(configured).expanduser().resolve()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "agentgym" / "data"


def cache_dir(*parts: str) -> Path:
    """Return (and create) a writable per-user cache folder for derived files (unpacked games, indexes)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    path = Path(base, "agentgym", "cache", *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def find(relative_path: str) -> Path | None:
    """Return the path of a data file under :func:`data_root` if it exists, else ``None``."""
    path = data_root() / relative_path
    return path if path.exists() else None


def require(relative_path: str, dataset: str) -> Path:
    """Return the path of a data file, or raise :class:`DataNotFound` saying how to get it."""
    path = find(relative_path)
    if path is None:
        raise DataNotFound(
            f"{relative_path} was not found under {data_root()}: run `agentgym data download {dataset}` "
            f"(or set {DATA_ENV_VAR} to a folder that has it)"
        )
    return path


def sha256_of(path: Path) -> str:
    """Return the hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(name: str, *, force: bool = False, source: str | Path | None = None) -> list[Path]:
    """Fetch dataset ``name`` into :func:`data_root`, verifying every file's sha256.

    Files already present with the right checksum are kept unless ``force``. A file is written to a
    temporary ``.part`` file beside its target, hashed as it is written, and moved into place only once its
    checksum matches, so an interrupted or corrupted download never leaves a file that looks valid; a ``.part``
    file left by a killed download is removed by the next one. Installed files get the mode a new file gets
    under the umask (``0644`` under ``022``, ``0664`` under ``002``), so a shared data folder stays readable.

    Args:
        name: the dataset.
        force: fetch again files that are present and valid.
        source: a file or folder holding files the user fetched by hand (when the official host cannot be
            reached): they are verified and installed the same way, and nothing is downloaded. In a folder,
            a file is looked for at its data path, then by its name anywhere below; of several files of
            that name, the first that verifies is installed.

    Raises:
        NameNotFound: (a KeyError) for an unknown dataset name.
        ChecksumMismatch: when a file's sha256 differs from the pinned one (nothing of it is installed).
        DataNotFound: when ``source`` lacks a file, or the official host cannot be reached (the message says
            which file to fetch by hand, its checksum, and the ``--from`` command that installs it).
    """
    dataset = DATASETS[name]
    root = data_root()
    written = []
    for remote in dataset.files:
        target = root / remote.path
        present = source is None and target.exists() and not force
        if present and (remote.sha256 is None or sha256_of(target) == remote.sha256):
            written.append(target)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_parts(target)
        with _part_file(target) as (part, part_path):
            _fetch(name, remote, part, None if source is None else Path(source))
            part_path.chmod(0o666 & ~current_umask())
            part_path.replace(target)
        written.append(target)
    if dataset.unpack is not None:
        dataset.unpack(root)
    return written


def current_umask() -> int:
    """The process's umask (read by setting it and setting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def _part_file(target: Path) -> Iterator[tuple[BinaryIO, Path]]:
    """A new ``.TARGET.XXXX.part`` file beside ``target``, locked while open, deleted if the block raises."""
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    path = Path(name)
    with os.fdopen(fd, "w+b") as part:
        fcntl.flock(part, fcntl.LOCK_EX)  # tells the next download this file is not stale
        try:
            yield part, path
        except BaseException:
            path.unlink(missing_ok=True)
            raise


def _remove_stale_parts(target: Path) -> None:
    """Delete ``.part`` files of ``target`` that no running download holds (left by a killed one)."""
    for stale in (*target.parent.glob(f".{target.name}.*.part"), *target.parent.glob("tmp*.part")):
        try:
            with stale.open("rb") as f:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                stale.unlink()
        except (BlockingIOError, FileNotFoundError):  # in use by another download, or already gone
            continue


def _copy_hashing(source: BinaryIO, out: BinaryIO) -> str:
    """Copy ``source`` into ``out`` in chunks, hashing as it goes; return the hex sha256 of what was copied."""
    digest = hashlib.sha256()
    for chunk in iter(lambda: source.read(1 << 20), b""):
        digest.update(chunk)
        out.write(chunk)
    out.flush()
    return digest.hexdigest()


def _local_candidates(source: Path, remote: RemoteFile) -> list[Path]:
    """The files under ``source`` that could be ``remote``: the one at its data path, then those of its name."""
    if source.is_file():
        return [source]
    found = [source / remote.path, *sorted(source.rglob(Path(remote.path).name))]
    return list(dict.fromkeys(p for p in found if p.is_file()))


def _fetch(name: str, remote: RemoteFile, out: BinaryIO, source: Path | None) -> None:
    """Write ``remote``'s content into ``out``, verified: from the user's ``source`` when given, else its URL.

    Raises:
        ChecksumMismatch: the content's sha256 is not the pinned one (from ``source``: no candidate's is).
    """
    if source is None and remote.url.startswith(f"{DRIVE_URL}/"):
        _fetch_drive(name, remote, out)
        return
    filename = Path(remote.path).name
    checksum = f"sha256 {remote.sha256}" if remote.sha256 else "its content is checked after download"
    if source is not None:
        candidates = _local_candidates(source, remote)
        if not candidates or (source.is_file() and len(DATASETS[name].files) > 1 and source.name != filename):
            raise DataNotFound(f"{filename} is not in {source}; fetch it from {remote.url} ({checksum})")
        mismatches = []
        for candidate in candidates:
            out.seek(0)
            out.truncate()
            with candidate.open("rb") as f:
                actual = _copy_hashing(f, out)
            if remote.sha256 is None or actual == remote.sha256:
                return
            mismatches.append(f"{candidate.relative_to(source) if candidate != source else candidate}: {actual}")
        if len(candidates) == 1:
            message = f"{filename} in {source} has sha256 {actual}, expected {remote.sha256}"
        else:
            message = f"no {filename} in {source} has sha256 {remote.sha256} ({'; '.join(mismatches)})"
        raise ChecksumMismatch(f"{message}; it was not installed")
    try:
        with urllib.request.urlopen(remote.url, timeout=60) as response:  # noqa: S310  (pinned URLs)
            actual = _copy_hashing(response, out)
    except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
        raise DataNotFound(
            f"could not fetch {remote.url} ({e}). Fetch that file by hand ({checksum}) and install it with "
            f"`agentgym data download {name} --from PATH` (PATH: the file, or a folder holding {filename})"
        ) from e
    if remote.sha256 is not None and actual != remote.sha256:
        raise ChecksumMismatch(f"{remote.url} has sha256 {actual}, expected {remote.sha256}; it was not installed")


def _fetch_drive(name: str, remote: RemoteFile, out: BinaryIO) -> None:
    """Stream a Google Drive file into ``out`` with ``gdown``; check its size and any recorded digest.

    The host is ``$AGENTGYM_DRIVE_URL`` when set (a mirror serving ``/uc?id=ID``), else Google Drive.

    Raises:
        DataNotFound: when the host cannot be reached or refuses the file (the message gives the ``--from`` way).
        ChecksumMismatch: on a wrong size, or a digest other than the pinned one or the one recorded at the first
            download.
    """
    gdown = import_optional("gdown", DATASETS[name].extra or "all")
    url = os.environ.get(DRIVE_URL_ENV_VAR, DRIVE_URL).rstrip("/") + remote.url[len(DRIVE_URL) :]
    digest = hashlib.sha256()
    try:
        gdown.download(
            url, output=out, quiet=not sys.stderr.isatty(), use_cookies=False, timeout=60, hasher=digest,
            log_messages={"output": f"To: {remote.path} under {data_root()}\n"},
        )  # fmt: skip
    except (gdown.exceptions.DownloadError, OSError, ValueError) as e:  # requests' errors are OSErrors
        raise DataNotFound(
            f"could not fetch {url} ({type(e).__name__}: {e}). Fetch {Path(remote.path).name} by hand and install "
            f"it with `agentgym data download {name} --from PATH` (PATH: the file, or a folder holding it)"
        ) from e
    size = out.tell()
    if remote.size is not None and size != remote.size:
        raise ChecksumMismatch(f"{url} gave {size} bytes, expected {remote.size}; it was not installed")
    if remote.sha256 is not None and digest.hexdigest() != remote.sha256:
        raise ChecksumMismatch(f"{url} has sha256 {digest.hexdigest()}, expected {remote.sha256}; it was not installed")
    recorded = _read_digests(data_root() / Path(remote.path).parent).get(Path(remote.path).name)
    if remote.sha256 is None and recorded is not None and digest.hexdigest() != recorded:
        raise ChecksumMismatch(
            f"{url} has sha256 {digest.hexdigest()}, but {recorded} was recorded at its first download; "
            "it was not installed"
        )
