"""A run's output folder: its configuration, its episode records, its summary; reopening it resumes the run.

Files: ``run.json`` (the configuration), ``episodes.jsonl`` (one record per finished episode, appended as it
finishes) and ``summary.json``. Episodes that have a record are not played again. A write that fails (a full
disk) raises :class:`~agentgym.error.OutputError` and leaves every file as it was: a half-written record is cut
off again, and ``run.json``/``summary.json`` are replaced atomically.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentgym.error import OutputError, RunConfigMismatch

EPISODES_FILE = "episodes.jsonl"
RUN_FILE = "run.json"
SUMMARY_FILE = "summary.json"

#: Fields of run.json that must agree for a folder to be resumed (others, like ``workers``, may change).
RESUME_KEYS = (
    *("env_id", "env_kwargs", "split", "task_ids_hash", "agent", "policy", "max_steps", "seed"),
    "episodes_per_task",
)


def episode_key(record: dict[str, Any]) -> tuple[str, int]:
    """The identity of an episode within a run: ``(task_id, episode index)``."""
    return record["task_id"], record["episode"]


@dataclass
class EpisodeStore:
    """Appends episode records to ``folder/episodes.jsonl`` and knows which episodes are done.

    Args:
        folder: the run's output folder (created if missing).
        config: the run's configuration; written to ``run.json``, or checked against an existing one.
        overwrite: start afresh even if the folder holds another run.
    """

    folder: Path
    config: dict[str, Any]
    overwrite: bool = False
    records: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        """Open the folder: write or check ``run.json`` and load finished records."""
        self.folder = Path(self.folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OutputError(f"cannot create the output folder {self.folder}: {e.strerror or e}") from e
        run_file, episodes = self.folder / RUN_FILE, self.folder / EPISODES_FILE
        if self.overwrite:
            for name in (RUN_FILE, EPISODES_FILE, SUMMARY_FILE):
                (self.folder / name).unlink(missing_ok=True)
        if run_file.exists():
            previous = json.loads(run_file.read_text())
            changed = [k for k in RESUME_KEYS if previous.get(k) != self.config.get(k)]
            if changed:
                raise RunConfigMismatch(
                    f"{self.folder} holds a run with different {', '.join(changed)}; "
                    "use another output folder, or --overwrite to replace it"
                )
        _replace(run_file, json.dumps(self.config, indent=2, default=str))
        for record in read_records(episodes):
            self.records[episode_key(record)] = record

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
            with path.open("ab", buffering=0) as f:
                end = f.seek(0, os.SEEK_END)
                try:
                    view = memoryview(line)
                    while view:
                        view = view[f.write(view) :]
                except OSError:
                    with contextlib.suppress(OSError):
                        f.truncate(end)
                    raise
        except OSError as e:
            raise OutputError(f"cannot write the episode record to {path}: {e.strerror or e}") from e
        self.records[episode_key(record)] = record

    def write_summary(self, summary: dict[str, Any]) -> Path:
        """Write ``summary.json`` (atomically) and return its path.

        Raises:
            OutputError: it could not be written; a previous summary stays as it was.
        """
        path = self.folder / SUMMARY_FILE
        _replace(path, json.dumps(summary, indent=2))
        return path


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, so that a failed write leaves ``path`` untouched."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise OutputError(f"cannot write {path}: {e.strerror or e}") from e


def read_records(path: Path) -> Iterable[dict[str, Any]]:
    """Yield the complete records of an episodes file, cutting off a line a killed run left half-written."""
    if not path.exists():
        return
    raw = path.read_bytes()
    end = raw.rfind(b"\n") + 1
    if end < len(raw):  # the last line was being written when the run died
        with path.open("r+b") as f:
            f.truncate(end)
    for line in raw[:end].decode("utf-8").splitlines():
        if line.strip():
            yield json.loads(line)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarize(
    records: Iterable[dict[str, Any]], *, trials: int = 1, wall_time_s: float | None = None
) -> dict[str, Any]:
    """Aggregate episode records: success rate, mean score and steps, errors, throughput.

    With ``trials > 1`` (sequential attempts per task), ``success_rate`` and ``mean_score`` are per task:
    won in any trial, and the best score over its trials; ``success_by_trial[t]`` is the fraction of tasks
    won within trials ``0..t`` (Reflexion's cumulative success).
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
