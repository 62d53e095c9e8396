"""Few-shot demonstrations built from the envs' own experts (never copied from other repositories).

For each group of tasks that a run needs (ALFWorld: a task type; other envs: one group), the expert plays
tasks of the training split until it has won a few; the shortest wins become the demonstrations, each step
given a short thought (:func:`agentgym.baselines.prompts.demo_thought`). Results are cached on disk, so the
expert plays once per machine.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import agentgym
from agentgym.agent import RunSetup
from agentgym.baselines.prompts import demo_thought, task_group
from agentgym.data import cache_dir
from agentgym.files import atomic_write
from agentgym.runner.worker import EnvConfig
from agentgym.wrappers.truncate import truncate_text

#: Observations in demonstrations are cut to this many characters (WebShop pages are long).
MAX_DEMO_OBSERVATION = 1200


@dataclass(frozen=True)
class Demonstration:
    """One expert episode: the first observation, then ``(thought, action, observation)`` per step."""

    task_id: str
    first_observation: str
    steps: tuple[tuple[str, str, str], ...]

    def as_text(self) -> str:
        """The episode in the ReAct transcript format the agents answer in."""
        lines = [f"Observation: {self.first_observation}"]
        for thought, action, observation in self.steps:
            lines += [f"Thought: {thought}", f"Action: {action}", f"Observation: {observation}"]
        return "\n".join(lines)


def demonstrations(
    setup: RunSetup, groups: Iterable[str | None], *, shots: int, split: str = "train"
) -> dict[str | None, list[Demonstration]]:
    """Return ``shots`` expert demonstrations for each group (fewer if the expert wins fewer tasks).

    Demonstrations come from ``split`` (the training split); if the env has no such split, from the tasks
    of its full list that the run does not play.
    """
    wanted = sorted(set(groups), key=str)
    key = json.dumps([setup.env_id, setup.env_kwargs, split, shots, [str(g) for g in wanted], agentgym.__version__])
    path = cache_dir("demos") / f"{hashlib.sha256(key.encode()).hexdigest()[:20]}.json"
    if path.exists():
        cached = json.loads(path.read_text())
        return {None if group == "null" else group: [_from_json(d) for d in demos] for group, demos in cached.items()}
    built = _play_experts(setup, wanted, shots=shots, split=split)
    atomic_write(path, json.dumps({str(g) if g else "null": [asdict(d) for d in ds] for g, ds in built.items()}))
    return built


def _from_json(data: dict[str, Any]) -> Demonstration:
    return Demonstration(data["task_id"], data["first_observation"], tuple(tuple(s) for s in data["steps"]))


def _play_experts(
    setup: RunSetup, groups: list[str | None], *, shots: int, split: str
) -> dict[str | None, list[Demonstration]]:
    env = EnvConfig(setup.env_id, setup.env_kwargs).make()
    try:
        tasks = env.unwrapped.tasks
        pool = tasks.split(split) if split in tasks.splits else [t for t in tasks.ids if t not in setup.task_ids]
        found: dict[str | None, list[Demonstration]] = {}
        for group in groups:
            candidates = [t for t in pool if group is None or task_group(setup.env_name, t) == group]
            wins: list[Demonstration] = []
            for task_id in candidates[: shots * 4]:
                demo = _expert_episode(env, setup.env_name, task_id)
                if demo is not None:
                    wins.append(demo)
                if len(wins) >= shots * 2:
                    break
            found[group] = sorted(wins, key=lambda d: len(d.as_text()))[:shots]
        return found
    finally:
        env.close()


def _expert_episode(env: Any, env_name: str, task_id: str) -> Demonstration | None:
    """Play the expert on one task; the demonstration if it won, else ``None``."""
    observation, info = env.reset(options={"task_id": task_id})
    first, steps = observation, []
    terminated = truncated = False
    while not (terminated or truncated):
        action = env.unwrapped.expert_action()
        if action is None:
            return None
        thought = demo_thought(env_name, observation, action)
        observation, _, terminated, truncated, info = env.step(action)
        steps.append((thought, action, truncate_text(observation, MAX_DEMO_OBSERVATION)))
    if not info["won"]:
        return None
    return Demonstration(task_id, truncate_text(first, MAX_DEMO_OBSERVATION), tuple(steps))
