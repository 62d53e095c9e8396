"""Trajectory recording: :class:`RecordTrajectory` records any env's episodes and can append them to a JSONL file.

Its records are the runner's (:class:`~agentgym.runner.records.EpisodeRecord`), without the run's fields.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gymnasium

from agentgym.runner.records import EpisodeRecord


class RecordTrajectory(gymnasium.Wrapper[str, str, str, str]):
    """Records every episode of ``env``; ``trajectory`` is the current one, ``episodes`` the finished ones.

    Args:
        env: any agentgym env.
        path: if given, each finished episode is appended to this JSONL file as it ends.
        keep: keep finished episodes in memory (``episodes``).

    Example:
        >>> import gymnasium, agentgym
        >>> env = RecordTrajectory(gymnasium.make("agentgym/Game24-v0"))
        >>> _ = env.reset(options={"task_id": "4 5 6 10"})
        >>> _ = env.step("Answer: (10 - 6) * 5 + 4 = 24")
        >>> env.episodes[0]["won"], env.episodes[0]["num_steps"]
        (True, 1)

    Change logs:
        v0.1.0: initial version.
    """

    def __init__(self, env: gymnasium.Env[str, str], path: str | Path | None = None, *, keep: bool = True) -> None:
        """Wrap ``env``."""
        super().__init__(env)
        self.path = Path(path) if path is not None else None
        self.keep = keep
        self.trajectory: EpisodeRecord | None = None
        self.episodes: list[dict[str, Any]] = []

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict]:
        """Start recording a new episode."""
        observation, info = self.env.reset(seed=seed, options=options)
        self.trajectory = EpisodeRecord.begin(observation, task_id=info.get("task_id"), task=info.get("task", ""))
        return observation, info

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Step and record; a finished episode is saved."""
        observation, reward, terminated, truncated, info = self.env.step(action)
        if self.trajectory is not None:
            self.trajectory.add(action, observation, reward, terminated, truncated, info)
            if terminated or truncated:
                self._save(self.trajectory.to_json())
                self.trajectory = None
        return observation, reward, terminated, truncated, info

    def _save(self, record: dict[str, Any]) -> None:
        if self.keep:
            self.episodes.append(record)
        if self.path is not None:
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
