"""A run's output folder: its configuration, its episode records, its summary; reopening it resumes the run.

Files: ``run.json`` (the configuration), ``episodes.jsonl`` (one record per finished episode, appended as it
finishes), ``summary.json``, and ``run.lock`` while a run holds the folder. Episodes that have a record are not
played again. Reading records changes nothing; only a run that holds the folder's lock and whose configuration
matches repairs the file (a last line a killed run left half-written is cut off). A line in the middle that is not
a valid record is skipped with a warning naming the file and line, and its episode counts as not played. A
write that fails (a full disk) raises :class:`~agentgym.error.OutputError` and leaves every file as it was: a
half-written record is cut off again, and ``run.json``/``summary.json`` are replaced atomically.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from pathlib import Path
from typing import Any

from agentgym.error import NotARunFolder, OutputError, RunConfigMismatch
from agentgym.runner.folder import (
    EPISODES_FILE,
    LOCK_FILE,
    RUN_FILE,
    SUMMARY_FILE,
    FolderLock,
    check_unlocked,
    create_folder,
    existing_run,
    lstat_record,
    open_record,
    replace_file,
)
from agentgym.runner.records import EpisodeLog, episode_key, read_episodes

#: Fields of run.json that must agree for a folder to be resumed (others, like ``workers``, may change).
RESUME_KEYS = (
    *("env_id", "env_kwargs", "split", "task_ids_hash", "agent", "policy", "max_steps", "seed"),
    "episodes_per_task",
)


class EpisodeStore:
    """A run's output folder: read on creation (changing nothing), then :meth:`open` ed for one run.

    Args:
        folder: the run's output folder.
        overwrite: start afresh even if the folder holds another run (its records are not read).

    Raises:
        NotARunFolder: the folder or a records file in it is not what a run writes (see
            :func:`~agentgym.runner.folder.existing_run`).
    """

    def __init__(self, folder: str | Path, *, overwrite: bool = False) -> None:
        self.folder = Path(folder)
        self.overwrite = overwrite
        try:
            self.previous = None if overwrite else existing_run(self.folder)
        except NotARunFolder as e:
            if not self.folder.is_dir():
                raise
            raise NotARunFolder(f"{e}; use another output folder, or --overwrite to replace it") from e
        self.log = EpisodeLog(self.folder / EPISODES_FILE)
        if self.previous is not None:
            self.log = read_episodes(self.log.path)
            self.log.log_warnings()
        self.records: dict[tuple[str, int], dict[str, Any]] = self.log.latest()
        self._lock: FolderLock | None = None

    def open(self, config: dict[str, Any]) -> None:
        """Claim the folder for a run of ``config``: check it, lock it, repair a torn last line, write ``run.json``.

        Nothing is written before the folder is known to hold a run of ``config`` or none.

        Raises:
            RunConfigMismatch: it holds a run of another configuration (and ``overwrite`` is off).
            RunLocked: another process is running in it.
            OutputFolderUnavailable: it cannot be written (read-only).
            OutputError: ``run.json`` cannot be written.
        """
        if not self.overwrite:
            self._check(config, self.previous)
        create_folder(self.folder)
        if self.overwrite:
            self._remove_false_lock()
        self._lock = FolderLock(self.folder)
        try:
            if self.overwrite:
                self._clear()
            else:
                self._check(config, existing_run(self.folder))  # under the lock now: nobody changes it any more
                self._reread_if_changed()
            self._prepare_episodes_file()
            replace_file(self.folder / RUN_FILE, json.dumps(config, indent=2, default=str))
        except BaseException:
            self.close()
            raise

    def check(self, config: dict[str, Any], *, agent_name: str | None = None) -> None:
        """Refuse a folder that holds a run of another configuration; changes nothing (:meth:`open` checks again).

        With ``agent_name``, ``config`` need not have its ``agent`` yet: only the agent's name is compared (an
        agent's settings are known once its class has prepared the run, which may take long: demonstrations).

        Raises:
            RunConfigMismatch: it holds such a run (and ``overwrite`` is off).
            RunLocked: another process is running in it.
        """
        if not self.overwrite:
            self._check(config, self.previous, agent_name=agent_name)
        check_unlocked(self.folder)

    def _check(self, config: dict[str, Any], previous: dict[str, Any] | None, *, agent_name: str | None = None) -> None:
        if previous is None:
            return
        previous_agent = previous.get("agent")
        same_agent = isinstance(previous_agent, dict) and previous_agent.get("name") == agent_name

        def differs(key: str) -> bool:
            return not same_agent if key == "agent" and agent_name else previous.get(key) != config.get(key)

        changed = [key for key in RESUME_KEYS if differs(key)]
        if changed:
            raise RunConfigMismatch(
                f"{self.folder} holds a run with different {', '.join(changed)}; "
                "use another output folder, or --overwrite to replace it"
            )

    def _clear(self) -> None:
        """Remove the previous run's files (a link is removed, never followed; a folder is refused first)."""
        paths = [self.folder / name for name in (RUN_FILE, EPISODES_FILE, SUMMARY_FILE)]
        folders = [path for path in paths if path.is_dir() and not path.is_symlink()]
        if folders:
            raise NotARunFolder(f"{folders[0]} is a folder; --overwrite replaces files only")
        for path in paths:
            try:
                path.unlink(missing_ok=True)
            except OSError as e:
                raise OutputError(f"cannot remove {path}: {e.strerror or e}") from e
        self.log = EpisodeLog(self.folder / EPISODES_FILE)
        self.records = {}

    def _remove_false_lock(self) -> None:
        """Remove a ``run.lock`` that no run made (a link, a FIFO, a file with other names): only its name goes."""
        path = self.folder / LOCK_FILE
        try:
            info = path.lstat()
            if not stat.S_ISDIR(info.st_mode) and (not stat.S_ISREG(info.st_mode) or info.st_nlink > 1):
                path.unlink()
        except FileNotFoundError:
            return
        except OSError as e:
            raise OutputError(f"cannot remove {path}: {e.strerror or e}") from e

    def _reread_if_changed(self) -> None:
        """Read the records again if another run appended to them between our first read and our lock."""
        info = lstat_record(self.log.path)
        if (info.st_size if info else 0) != self.log.size:
            self.log = read_episodes(self.log.path)
            self.records = self.log.latest()

    def _prepare_episodes_file(self) -> None:
        """Check that records can be appended (a file of this folder only) and end a torn last line.

        A torn last line that is a whole record gets its newline; a partial one is cut off.
        """
        try:
            fd = open_record(self.log.path, os.O_WRONLY, writing=True)
        except FileNotFoundError:
            return
        except OSError as e:
            raise OutputError(f"cannot write to {self.log.path}: {e.strerror or e}") from e
        try:
            if self.log.tail_record is not None:
                os.pwrite(fd, b"\n", self.log.size)
            elif self.log.tail is not None:
                os.ftruncate(fd, self.log.tail)
        except OSError as e:
            raise OutputError(f"cannot repair the last line of {self.log.path}: {e.strerror or e}") from e
        finally:
            os.close(fd)
        self.log.tail = self.log.tail_record = None

    def close(self) -> None:
        """Release the folder (idempotent)."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def done(self, key: tuple[str, int]) -> bool:
        """Whether the episode has a record without an error."""
        record = self.records.get(key)
        return record is not None and record.get("error") is None

    def add(self, record: dict[str, Any]) -> None:
        """Append a record (one JSON line, written at once) and remember it.

        Raises:
            OutputError: the line could not be written; the file is cut back to its previous end.
        """
        try:
            line = (json.dumps(record, ensure_ascii=False, default=str) + "\n").encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (an LLM's "\ud800" escape, say): \u escapes keep it
            line = (json.dumps(record, default=str) + "\n").encode("ascii")
        path = self.folder / EPISODES_FILE
        try:
            fd = open_record(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, writing=True)
        except OSError as e:
            raise OutputError(f"cannot write the episode record to {path}: {e.strerror or e}") from e
        end = None
        try:
            end = os.lseek(fd, 0, os.SEEK_END)
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view) :]
        except OSError as e:
            if end is not None:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, end)
            raise OutputError(f"cannot write the episode record to {path}: {e.strerror or e}") from e
        finally:
            os.close(fd)
        self.records[episode_key(record)] = record

    def write_summary(self, summary: dict[str, Any]) -> Path:
        """Write ``summary.json`` (atomically) and return its path.

        Raises:
            OutputError: it could not be written; a previous summary stays as it was.
        """
        path = self.folder / SUMMARY_FILE
        replace_file(path, json.dumps(summary, indent=2))
        return path
