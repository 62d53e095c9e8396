"""Episode records: their types, their checks, reading them without side effects, and their summary.

:class:`EpisodeRecord` (with its :class:`StepRecord` steps) is one line of a run's ``episodes.jsonl``, to and
from JSON byte for byte. :func:`read_episodes` reads such a file and changes nothing: a line that is not a valid
record is listed with its number and why (:func:`record_problem`), and a torn last line is noted for the
:class:`~agentgym.runner.store.EpisodeStore` that resumes the folder to repair. :func:`summarize` aggregates records.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from traceback import format_exception
from typing import Any

from agentgym.error import NotARunFolder
from agentgym.files import JsonLine, scan_jsonl
from agentgym.runner.folder import open_record

logger = logging.getLogger(__name__)

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

    def log_warnings(self) -> None:
        """Log :meth:`warnings` (a resumed run tells its user which lines it will play again)."""
        for warning in self.warnings():
            logger.warning("%s", warning)

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
