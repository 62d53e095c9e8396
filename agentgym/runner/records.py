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
import logging
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from traceback import format_exception
from typing import Any

from agentgym.error import NotARunFolder, OutputError, RunConfigMismatch
from agentgym.files import JsonLine, scan_jsonl
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

logger = logging.getLogger(__name__)

#: Fields of run.json that must agree for a folder to be resumed (others, like ``workers``, may change).
RESUME_KEYS = (
    *("env_id", "env_kwargs", "split", "task_ids_hash", "agent", "policy", "max_steps", "seed"),
    "episodes_per_task",
)

#: How many bad lines of one file get a warning of their own (the rest are counted in one more line).
WARNED_LINES = 5

_NUMBER = (int, float)
#: The fields every record has, and those of a played (not errored) record, with their types.
_RECORD_FIELDS: dict[str, tuple[type, ...]] = {"task_id": (str,), "episode": (int,)}
_PLAYED_FIELDS: dict[str, tuple[type, ...]] = {
    "won": (bool,),
    "score": _NUMBER,
    "return": _NUMBER,
    "num_steps": (int,),
    "steps": (list,),
    "first_observation": (str,),
    "final_observation": (str,),
}


#: A step's keys, in the order they are written; the first four are always there.
_STEP_KEYS = ("observation", "action", "reward", "score", "response", "usage", "answered_by_agent", "ended_by_agent")


@dataclass
class StepRecord:
    """One step of an episode record.

    Attributes:
        observation: what the action was chosen from.
        action: the action taken.
        reward: the env's reward for it.
        score: the env's score after it.
        response: the policy's raw output the action came from (LLM agents).
        usage: token counts and latency of the policy calls made for the step.
        answered_by_agent: the agent answered the action itself (the env did not see it).
        ended_by_agent: the agent ended the episode with this step (a paper's stop rule).
        extra: keys a newer or older writer added, kept as they are.

    An optional field that is ``None`` (or an empty list or dict) is not written.
    """

    observation: str
    action: str
    reward: float = 0.0
    score: float = 0.0
    response: str | None = None
    usage: list[dict[str, Any]] | None = None
    answered_by_agent: bool | None = None
    ended_by_agent: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The step as the JSON object a run writes."""
        values = {key: getattr(self, key) for key in _STEP_KEYS}
        data = {key: value for key, value in values.items() if key in _STEP_KEYS[:4] or value not in (None, [], {})}
        return {**data, **self.extra}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StepRecord:
        """The step of a record's JSON object (values are kept exactly as read)."""
        known = {key: data[key] for key in _STEP_KEYS if key in data}
        return cls(**known, extra={key: value for key, value in data.items() if key not in _STEP_KEYS})


#: An episode record's keys (JSON names), in the order a played episode's record is written...
_PLAYED_KEYS = (
    *("env_id", "episode", "seed", "task_id", "task", "won", "score", "return", "num_steps", "terminated"),
    *("truncated", "first_observation", "final_observation", "steps", "agent", "policy", "timing", "worker"),
    *("attempts", "error", "memory", "after_episode_error", "traceback"),
)
#: ...and the order of an episode that ended in an error (the keys it lacks are not written).
_ERROR_KEYS = (
    *("env_id", "task_id", "episode", "seed", "won", "score", "return", "num_steps", "steps", "agent", "policy"),
    *("attempts", "error", "traceback", "memory", "after_episode_error"),
    *("task", "terminated", "truncated", "first_observation", "final_observation", "timing", "worker"),
)
#: Where a JSON key and the attribute differ (``return`` is a Python keyword).
_ATTRIBUTE = {"return": "total_reward"}
#: The fields that have a value even when the JSON object lacks them.
_DEFAULTS = {"won": False, "score": 0.0, "return": 0.0}


@dataclass
class EpisodeRecord:
    """One episode as a run records it: one line of ``episodes.jsonl``.

    :meth:`begin` starts one and :meth:`add` records each step (the runner does, and
    :class:`~agentgym.wrappers.RecordTrajectory`); :meth:`failed` is the record of an episode that ended in an
    error. :meth:`to_json` and :meth:`from_json` convert to and from the JSON object of ``episodes.jsonl``:
    ``from_json(data).to_json() == data``, key order included, for every record a run writes, so old runs are
    read, resumed and reported unchanged.

    Attributes:
        first_observation: the observation after ``reset``; ``final_observation``: the last one.
        task_id: the task played; ``task``: its text.
        steps: the steps, each with the observation its action was chosen from.
        won, score: the benchmark's verdict after the last step; ``total_reward`` (JSON ``return``): the rewards' sum.
        terminated, truncated: how the episode ended (the env ended it; a step cap or the agent did).
        env_id, episode, seed: the run's env, the episode's index within its task and its reset seed.
        agent, policy: their configurations.
        timing: ``wall_s``, ``env_s`` and ``agent_s`` of the episode; ``worker``: where its env ran.
        attempts: tries it took (a crashed env worker makes the runner play the episode again).
        error, traceback: why an episode ended in an error (``None``: it was played to its end).
        memory: what a failed trial passes to the next (a reflection); ``after_episode_error``: the agent's
            ``after_episode`` raised this instead.
        extra: keys a newer or older writer added, kept as they are.

    A field that is ``None`` is not written, except ``task_id`` and, in a run's records (those with ``attempts``),
    ``error``.
    """

    first_observation: str | None = None
    task_id: str | None = None
    task: str | None = None
    steps: list[StepRecord] = field(default_factory=list)
    final_observation: str | None = None
    won: bool = False
    score: float = 0.0
    total_reward: float = 0.0
    terminated: bool | None = None
    truncated: bool | None = None
    env_id: str | None = None
    episode: int | None = None
    seed: int | None = None
    agent: dict[str, Any] | None = None
    policy: dict[str, Any] | None = None
    timing: dict[str, float] | None = None
    worker: str | None = None
    attempts: int | None = None
    error: str | None = None
    traceback: str | None = None
    memory: str | None = None
    after_episode_error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def begin(cls, first_observation: str, *, task_id: str | None, task: str = "", **run: Any) -> EpisodeRecord:
        """A record of an episode that just started (``run``: its run fields, ``env_id``, ``episode``, ...)."""
        return cls(first_observation, task_id, task, [], first_observation, terminated=False, truncated=False, **run)

    @classmethod
    def failed(cls, error: BaseException, **fields: Any) -> EpisodeRecord:
        """The record of an episode that ended in ``error`` (with the worker's traceback when it has one)."""
        remote = getattr(error, "remote_traceback", None)
        text = remote or "".join(format_exception(error))
        return cls(**fields, error=f"{type(error).__name__}: {error}", traceback=text)

    def add(
        self,
        action: str,
        observation: str,
        reward: float,
        terminated: bool,
        truncated: bool,
        info: dict[str, Any],
        **extra: Any,
    ) -> None:
        """Record one step: ``action``, taken from the current final observation, led to ``observation``.

        ``extra``: the step's optional fields (``response``, ``usage``, ``answered_by_agent``, ``ended_by_agent``).
        """
        step = StepRecord(self.final_observation or "", action, float(reward), float(info.get("score", 0.0)), **extra)
        self.steps.append(step)
        self.final_observation = observation
        self.total_reward += float(reward)
        self.won = bool(info.get("won", self.won))
        self.score = float(info.get("score", self.score))
        self.terminated, self.truncated = bool(terminated), bool(truncated)

    @property
    def num_steps(self) -> int:
        """How many steps the episode took."""
        return len(self.steps)

    def to_json(self) -> dict[str, Any]:
        """The record as the JSON object a run writes (one line of ``episodes.jsonl``)."""
        always = {"task_id", "error"} if self.attempts is not None else {"task_id"}
        data: dict[str, Any] = {}
        for key in _PLAYED_KEYS if self.error is None else _ERROR_KEYS:
            value = self._json_value(key)
            if value is not None or key in always:
                data[key] = value
        return {**data, **self.extra}

    def _json_value(self, key: str) -> Any:
        if key == "steps":
            return [step.to_json() for step in self.steps]
        if key == "num_steps":
            return len(self.steps)
        return getattr(self, _ATTRIBUTE.get(key, key))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EpisodeRecord:
        """The record of a JSON object read from ``episodes.jsonl`` (values are kept exactly as read).

        Raises:
            TypeError: a step is not a JSON object (:func:`record_problem` checks a whole record first).
        """
        names = {_ATTRIBUTE.get(key, key): key for key in _PLAYED_KEYS if key not in ("steps", "num_steps")}
        fields = {name: data.get(key, _DEFAULTS.get(key)) for name, key in names.items()}
        steps = [StepRecord.from_json(step) for step in data.get("steps") or ()]
        extra = {key: value for key, value in data.items() if key not in _PLAYED_KEYS}
        return cls(**fields, steps=steps, extra=extra)


def episode_key(record: dict[str, Any]) -> tuple[str, int]:
    """The identity of an episode within a run: ``(task_id, episode index)``."""
    return record["task_id"], record["episode"]


def record_problem(record: Any) -> str | None:
    """Why a parsed line is not a usable episode record (``None`` if it is one)."""
    if not isinstance(record, dict):
        return f"a JSON {type(record).__name__}, not an object"
    error = record.get("error")
    if error is not None and not isinstance(error, str):
        return "its error is not a string"
    if record.get("memory") is not None and not isinstance(record["memory"], str):
        return "its memory is not a string"  # what a failed trial passes to the next one
    fields = _RECORD_FIELDS if error is not None else {**_RECORD_FIELDS, **_PLAYED_FIELDS}
    missing = [key for key in fields if key not in record]
    if missing:
        return f"no {', '.join(missing)}"
    wrong = [
        key
        for key, types in fields.items()
        if not isinstance(record[key], types) or (isinstance(record[key], bool) and bool not in types)
    ]
    if wrong:
        return f"wrong type of {', '.join(wrong)}"
    whole = (
        isinstance(s, dict) and isinstance(s.get("observation"), str) and isinstance(s.get("action"), str)
        for s in record.get("steps", ())
    )
    return None if error is not None or all(whole) else "a step without its observation and action"


def _parse(line: JsonLine) -> tuple[dict[str, Any] | None, str | None]:
    """A line's record, or ``None`` and why it is not one."""
    if line.problem is not None:
        return None, line.problem
    problem = record_problem(line.value)
    return (None, problem) if problem else (line.value, None)


@dataclass
class EpisodeLog:
    """What an episodes file holds, read without changing it.

    Attributes:
        path: the file.
        records: its valid records, in file order.
        bad_lines: ``(line number, why)`` of the lines that are not valid records (a torn last line excluded).
        size: its size in bytes when read.
        tail: the offset of a last line without its newline (a run killed mid-write), else ``None``.
        tail_record: that last line, when it is nevertheless a whole valid record.
    """

    path: Path
    records: list[dict[str, Any]] = field(default_factory=list)
    bad_lines: list[tuple[int, str]] = field(default_factory=list)
    size: int = 0
    tail: int | None = None
    tail_record: dict[str, Any] | None = None

    def warnings(self) -> list[str]:
        """One line per bad line (the first few; then one line counting the rest)."""
        lines = [
            f"{self.path} line {number}: not a valid episode record ({why}); skipped, its episode counts as not played"
            for number, why in self.bad_lines[:WARNED_LINES]
        ]
        rest = len(self.bad_lines) - WARNED_LINES
        if rest > 0:
            lines.append(f"{self.path}: {rest} more lines are not valid episode records; skipped")
        return lines

    def latest(self) -> dict[tuple[str, int], dict[str, Any]]:
        """Each episode's last record (the tail record too, if it is whole)."""
        records = [*self.records, self.tail_record] if self.tail_record else self.records
        return {episode_key(record): record for record in records}


def read_episodes(path: Path) -> EpisodeLog:
    """Read an episodes file line by line, changing nothing.

    Raises:
        NotARunFolder: the file is a link or not a regular file, or cannot be read.
    """
    log = EpisodeLog(Path(path))
    try:
        fd = open_record(log.path, os.O_RDONLY)
    except FileNotFoundError:
        return log
    except OSError as e:
        raise NotARunFolder(f"cannot read {path}: {e.strerror or e}") from e
    with os.fdopen(fd, "rb") as f:
        for line in scan_jsonl(f):
            record, why = _parse(line)
            if not line.complete:
                log.tail, log.tail_record = line.offset, record
            elif record is None:
                log.bad_lines.append((line.number, why or ""))
            else:
                log.records.append(record)
        log.size = f.tell()
    return log


def read_records(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the valid records of an episodes file (see :func:`read_episodes`)."""
    yield from read_episodes(path).records


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
            for warning in self.log.warnings():
                logger.warning("%s", warning)
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


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarize(
    records: Iterable[dict[str, Any]], *, trials: int = 1, wall_time_s: float | None = None
) -> dict[str, Any]:
    """Aggregate episode records: success rate, mean score and steps, errors, throughput.

    With ``trials > 1`` (sequential attempts per task), ``success_rate`` and ``mean_score`` are per task:
    won in any trial, and the best score over its trials; ``success_by_trial[t]`` is the fraction of tasks
    won within trials ``0..t`` (the cumulative success of multi-trial agents).
    """
    records = list(records)
    played = [r for r in records if r.get("error") is None]
    count = len(played)
    summary: dict[str, Any] = {
        "episodes": count,
        "errors": len(records) - count,
        "success_rate": _mean([float(r["won"]) for r in played]),
        "mean_score": _mean([float(r["score"]) for r in played]),
        "mean_steps": _mean([float(r["num_steps"]) for r in played]),
        "mean_return": _mean([float(r["return"]) for r in played]),
    }
    if trials > 1:
        by_task: dict[str, list[dict[str, Any]]] = {}
        for record in played:
            by_task.setdefault(record["task_id"], []).append(record)
        first_win = [min((r["episode"] for r in rs if r["won"]), default=None) for rs in by_task.values()]
        summary["tasks"] = len(by_task)
        summary["success_rate"] = _mean([float(w is not None) for w in first_win])
        summary["mean_score"] = _mean([max(float(r["score"]) for r in rs) for rs in by_task.values()])
        summary["success_by_trial"] = [
            _mean([float(w is not None and w <= t) for w in first_win]) for t in range(trials)
        ]
    if wall_time_s is not None:
        summary["wall_time_s"] = round(wall_time_s, 3)
        summary["episodes_per_s"] = round(count / wall_time_s, 4) if wall_time_s > 0 else None
    return summary
