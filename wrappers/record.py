"""Trajectory recording: the :class:`Trajectory` record and the :class:`RecordTrajectory` wrapper.

:class:`Trajectory` is one episode's steps, as the runner writes them; :class:`RecordTrajectory` records any
env's episodes and can append them to a JSONL file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium


@dataclass
class Trajectory:
    """One episode: the first observation, then ``(observation, action, reward, ...)`` per step.

    Each step's ``observation`` is the one the action was chosen from; ``final_observation`` is the last.
    """

    first_observation: str
    task_id: str | None = None
    task: str = ""
    steps: list[dict[str, Any]] = field(default_factory=list)
    final_observation: str = ""
    won: bool = False
    score: float = 0.0
    total_reward: float = 0.0
    terminated: bool = False
    truncated: bool = False

    def __post_init__(self) -> None:
        """The final observation starts as the first."""
        self.final_observation = self.final_observation or self.first_observation

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
        """Record one step: ``action`` taken from the current final observation led to ``observation``."""
        step = {"observation": self.final_observation, "action": action, "reward": float(reward)}
        step["score"] = float(info.get("score", 0.0))
        step.update({k: v for k, v in extra.items() if v not in (None, [], {})})
        self.steps.append(step)
        self.final_observation = observation
        self.total_reward += float(reward)
        self.won = bool(info.get("won", self.won))
        self.score = float(info.get("score", self.score))
        self.terminated, self.truncated = bool(terminated), bool(truncated)

    def to_record(self) -> dict[str, Any]:
        """The episode as a JSON-ready dict (the runner adds run and timing fields)."""
        return {
            "task_id": self.task_id,
            "task": self.task,
            "won": self.won,
            "score": self.score,
            "return": self.total_reward,
            "num_steps": len(self.steps),
            "terminated": self.terminated,
            "truncated": self.truncated,
            "first_observation": self.first_observation,
            "final_observation": self.final_observation,
            "steps": self.steps,
        }


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
        self.trajectory: Trajectory | None = None
        self.episodes: list[dict[str, Any]] = []

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict]:
        """Start recording a new episode."""
        observation, info = self.env.reset(seed=seed, options=options)
        self.trajectory = Trajectory(observation, task_id=info.get("task_id"), task=info.get("task", ""))
        return observation, info

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Step and record; a finished episode is saved."""
        observation, reward, terminated, truncated, info = self.env.step(action)
        if self.trajectory is not None:
            self.trajectory.add(action, observation, reward, terminated, truncated, info)
            if terminated or truncated:
                self._save(self.trajectory.to_record())
                self.trajectory = None
        return observation, reward, terminated, truncated, info

    def _save(self, record: dict[str, Any]) -> None:
        if self.keep:
            self.episodes.append(record)
        if self.path is not None:
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
