"""A run's output folder, opened safely.

Its records files (``run.json``, ``episodes.jsonl``, ``summary.json`` and the lock ``run.lock``) are opened only
as regular files of this folder: never through a symbolic link, never a folder, FIFO or device, and never written
when another name (a hard link) shares them. So nothing outside the folder is read as a record or modified. A
folder is inspected read-only first; it is written to only once it is known to hold this run or nothing.

One run at a time: :class:`FolderLock` takes an exclusive ``flock`` on ``run.lock`` and writes the holder's
process id and host into it, so a second run with the same folder stops at once, naming the first. The kernel
drops the lock when its process dies, so a killed run's leftover lock file blocks nothing.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import stat
import time
from pathlib import Path
from typing import Any

from agentgym.error import NotARunFolder, OutputError, OutputFolderUnavailable, RunLocked
from agentgym.files import atomic_write

EPISODES_FILE = "episodes.jsonl"
RUN_FILE = "run.json"
SUMMARY_FILE = "summary.json"
LOCK_FILE = "run.lock"

#: Beyond this size, run.json or summary.json is not something agentgym wrote (a few kB in practice).
MAX_JSON_BYTES = 16 * 2**20

_KINDS = (
    (stat.S_ISREG, "a file"),
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "a special file")


def _refuse(path: Path, what: str) -> NotARunFolder:
    return NotARunFolder(f"{path} is {what}; agentgym reads and writes only regular files in a run folder")


def lstat_record(path: Path) -> os.stat_result | None:
    """The ``lstat`` of a records file, or ``None`` if there is none.

    Raises:
        NotARunFolder: it is a link, a folder or any other non-regular file.
    """
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise NotARunFolder(f"cannot read {path}: {e.strerror or e}") from e
    if not stat.S_ISREG(info.st_mode):
        raise _refuse(path, _kind(info.st_mode))
    return info


def open_record(path: Path, flags: int, *, writing: bool = False) -> int:
    """Open a records file as a file descriptor: a regular file reached without following links.

    Args:
        path: the file.
        flags: ``os.O_*`` flags (``O_NOFOLLOW``, ``O_NONBLOCK`` and ``O_CLOEXEC`` are added).
        writing: the caller will modify the file: it must have no other name (hard link) either.

    Raises:
        NotARunFolder: a link, a non-regular file, or (when writing) a file with other names.
        FileNotFoundError: it does not exist (and ``flags`` lack ``O_CREAT``).
        OSError: any other failure (permissions, a read-only file system).
    """
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise _refuse(path, "a symbolic link") from e
        if e.errno == errno.EISDIR:
            raise _refuse(path, "a folder") from e
        raise
    info = os.fstat(fd)
    problem = None if stat.S_ISREG(info.st_mode) else _kind(info.st_mode)
    if problem is None and writing and info.st_nlink > 1:
        problem = "a file with other names (hard links)"
    if problem is not None:
        os.close(fd)
        raise _refuse(path, problem)
    return fd


def read_json_object(path: Path, what: str) -> dict[str, Any]:
    """Read a small JSON object from a records file (``what`` names it in errors).

    Raises:
        NotARunFolder: not a regular file, too large, not UTF-8, not JSON, or not a JSON object.
        FileNotFoundError: it does not exist.
    """
    try:
        fd = open_record(path, os.O_RDONLY)
    except FileNotFoundError:
        raise
    except OSError as e:
        raise NotARunFolder(f"cannot read {path}: {e.strerror or e}") from e
    with os.fdopen(fd, "rb") as f:
        raw = f.read(MAX_JSON_BYTES + 1)
    try:
        if len(raw) > MAX_JSON_BYTES:
            raise ValueError(f"over {MAX_JSON_BYTES // 2**20} MB")
        value = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise NotARunFolder(f"{path} is not {what} (invalid UTF-8)") from None
    except json.JSONDecodeError as e:
        raise NotARunFolder(f"{path} is not {what} (invalid JSON: {e.msg}, column {e.colno})") from None
    except ValueError as e:  # too large, or an integer of thousands of digits
        raise NotARunFolder(f"{path} is not {what} ({str(e).split(':')[0]})") from None
    except RecursionError:
        raise NotARunFolder(f"{path} is not {what} (JSON nested too deeply)") from None
    if not isinstance(value, dict):
        raise NotARunFolder(f"{path} is not {what} (a JSON {type(value).__name__}, not an object)")
    return value


def existing_run(folder: Path) -> dict[str, Any] | None:
    """The configuration (``run.json``) of the run ``folder`` holds, or ``None`` if it holds none. Read-only.

    Raises:
        NotARunFolder: ``folder`` is not a folder; a records file in it is a link or not a regular file;
            it holds records but no ``run.json``; or ``run.json`` is not a JSON object.
    """
    try:
        info = folder.stat()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise NotARunFolder(f"cannot read the output folder {folder}: {e.strerror or e}") from e
    if not stat.S_ISDIR(info.st_mode):
        raise NotARunFolder(f"{folder} is not a folder ({_kind(info.st_mode)})")
    found = {name: lstat_record(folder / name) for name in (RUN_FILE, EPISODES_FILE, SUMMARY_FILE, LOCK_FILE)}
    if found[RUN_FILE] is None:
        strays = [name for name in (EPISODES_FILE, SUMMARY_FILE) if found[name] is not None]
        if strays:
            raise NotARunFolder(f"{folder} holds {' and '.join(strays)} but no {RUN_FILE}: it is not an agentgym run")
        return None
    return read_json_object(folder / RUN_FILE, "a run configuration")


def create_folder(folder: Path) -> None:
    """Create ``folder`` (and its parents) if missing.

    Raises:
        OutputFolderUnavailable: it cannot be created (permissions, a read-only file system, a file in the way).
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError as e:
        raise NotARunFolder(f"{folder} is not a folder") from e
    except OSError as e:
        raise OutputFolderUnavailable(f"cannot create the output folder {folder}: {e.strerror or e}") from e


def replace_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a new temporary file in the same folder, then rename it over ``path``.

    A failed write leaves ``path`` untouched; what ``path`` named before (even a link) is replaced, never written.

    Raises:
        OutputError: the folder is read-only or full.
    """
    try:
        atomic_write(path, text)
    except OSError as e:
        raise OutputError(f"cannot write {path}: {e.strerror or e}") from e


def check_unlocked(folder: Path) -> None:
    """Raise :class:`RunLocked` if a live process holds ``folder``'s lock; changes nothing (the lock is only tested).

    A ``run.lock`` that no run made (a link, a FIFO) is left to :class:`FolderLock` and ``--overwrite``.

    Raises:
        RunLocked: another process is running in ``folder`` (the message names its process id and host).
    """
    try:
        fd = open_record(folder / LOCK_FILE, os.O_RDONLY)
    except (OSError, NotARunFolder):
        return  # no lock, or none that a run holds: opening the folder says why if it matters
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_holder(fd)
        raise RunLocked(folder, holder.get("pid"), holder.get("host")) from None
    finally:
        os.close(fd)


class FolderLock:
    """An exclusive lock on a run folder for this process (``flock`` on ``run.lock``), released by :meth:`release`.

    Raises:
        RunLocked: another live process holds it; the message names its process id and host.
        OutputFolderUnavailable: the lock file cannot be created (a read-only folder).
        NotARunFolder: ``run.lock`` is a link or not a regular file.
    """

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_FILE
        while True:
            try:
                fd = open_record(self.path, os.O_RDWR | os.O_CREAT, writing=True)
            except OSError as e:
                raise OutputFolderUnavailable(f"cannot write to the output folder {folder}: {e.strerror or e}") from e
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                raise RunLocked(folder, holder.get("pid"), holder.get("host")) from None
            if _still_named(fd, self.path):
                break
            os.close(fd)  # its holder removed it between our open and our lock: take the new one
        self.fd: int | None = fd
        holder_line = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()})
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, holder_line.encode() + b"\n", 0)
        except OSError as e:  # a full disk
            self.release()
            raise OutputFolderUnavailable(f"cannot write to the output folder {folder}: {e.strerror or e}") from e

    def release(self) -> None:
        """Remove the lock file and release the lock (idempotent)."""
        if self.fd is None:
            return
        if _still_named(self.fd, self.path):
            with contextlib.suppress(OSError):
                self.path.unlink()  # while still locked: whoever opened it retries on a fresh file
        os.close(self.fd)  # closing releases the flock
        self.fd = None


def _still_named(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file open as ``fd``."""
    try:
        named = path.lstat()
    except OSError:
        return False
    opened = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


def _read_holder(fd: int) -> dict[str, Any]:
    """The ``{"pid", "host"}`` a lock holder wrote, or ``{}`` if it has not yet (or wrote something else)."""
    try:
        value = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}
