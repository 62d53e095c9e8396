"""A run's output folder: its configuration, its episode records, its summary; reopening it resumes the run.

Files: ``run.json`` (the configuration), ``episodes.jsonl`` (one record per finished episode, appended as it
finishes) and ``summary.json``. Episodes that have a record are not played again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentgym.error import RunConfigMismatch

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
        self.folder.mkdir(parents=True, exist_ok=True)
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
        run_file.write_text(json.dumps(self.config, indent=2, default=str))
        for record in read_records(episodes):
            self.records[episode_key(record)] = record

    def done(self, key: tuple[str, int]) -> bool:
        """Whether the episode has a record without an error."""
        record = self.records.get(key)
        return record is not None and record.get("error") is None

    def add(self, record: dict[str, Any]) -> None:
        """Append a record (one JSON line, flushed at once) and remember it."""
        line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
        with (self.folder / EPISODES_FILE).open("a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
        self.records[episode_key(record)] = record

    def write_summary(self, summary: dict[str, Any]) -> Path:
        """Write ``summary.json`` and return its path."""
        path = self.folder / SUMMARY_FILE
        path.write_text(json.dumps(summary, indent=2))
        return path


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
