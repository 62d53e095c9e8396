"""Few-shot demonstrations built from the envs' own experts (never copied from other repositories).

For each group of tasks that a run needs (ALFWorld: a task type; other envs: one group), the expert plays
tasks of the training split through the runner (:func:`agentgym.aevaluate` with the ``expert`` agent, in memory:
no output folder, no progress bar) until it has won a few; the shortest wins become the demonstrations, each
step given a short thought (:func:`agentgym.baselines.prompts.demo_thought`). Results are cached on disk, so the
expert plays once per machine.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import gymnasium

import agentgym
from agentgym.agent import RunSetup
from agentgym.baselines.prompts import demo_thought, task_group
from agentgym.data import cache_dir
from agentgym.files import atomic_write
from agentgym.wrappers.truncate import truncate_text

#: Observations in demonstrations are cut to this many characters (WebShop pages are long).
MAX_DEMO_OBSERVATION = 1200
#: Each group's expert plays at most ``CANDIDATES_PER_SHOT * shots`` tasks, stopping at ``WINS_PER_SHOT * shots``
#: wins.
CANDIDATES_PER_SHOT, WINS_PER_SHOT = 4, 2


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


async def demonstrations(
    setup: RunSetup, groups: Iterable[str | None], *, shots: int, split: str = "train"
) -> dict[str | None, list[Demonstration]]:
    """Return ``shots`` expert demonstrations for each group (fewer if the expert wins fewer tasks).

    Demonstrations come from ``split`` (the training split); if the env has no such split, from the tasks
    of its full list that the run does not play. A coroutine: agents build demonstrations in their
    :meth:`~agentgym.agent.Agent.factory`, which runs in the runner's event loop. An error the env raises
    while the expert plays is raised here (the run that needs the demonstrations stops).
    """
    wanted = sorted(set(groups), key=str)
    key = json.dumps([setup.env_id, setup.env_kwargs, split, shots, [str(g) for g in wanted], agentgym.__version__])
    path = cache_dir("demos") / f"{hashlib.sha256(key.encode()).hexdigest()[:20]}.json"
    if path.exists():
        cached = json.loads(path.read_text())
        return {None if group == "null" else group: [_from_json(d) for d in demos] for group, demos in cached.items()}
    built = await _play_experts(setup, wanted, shots=shots, split=split)
    atomic_write(path, json.dumps({str(g) if g else "null": [asdict(d) for d in ds] for g, ds in built.items()}))
    return built


def _from_json(data: dict[str, Any]) -> Demonstration:
    return Demonstration(data["task_id"], data["first_observation"], tuple(tuple(s) for s in data["steps"]))


async def play_episodes(setup: RunSetup, task_ids: Sequence[str], **settings: Any) -> list[dict[str, Any]]:
    """The records of the expert's episodes on ``task_ids``, played by the runner in this process and event loop.

    Nothing is written (no output folder, so no lock) and no progress bar is shown; an error is raised, not
    recorded. ``settings`` are further :func:`agentgym.aevaluate` arguments: another ``agent`` (a class),
    ``agent_kwargs``, ``max_steps``.
    """
    settings = {"agent": "expert", "policy": "expert", **settings}
    result = await agentgym.aevaluate(
        setup.env_id,
        task_ids=list(task_ids),
        env_kwargs=dict(setup.env_kwargs),
        workers=0,
        out=None,
        progress=False,
        debug=True,
        **settings,
    )
    return result.records


async def _play_experts(
    setup: RunSetup, groups: list[str | None], *, shots: int, split: str
) -> dict[str | None, list[Demonstration]]:
    """Each group's shortest ``shots`` wins among its first wins, its candidates played in order."""
    pool = _task_pool(setup, split)
    candidates = {g: [t for t in pool if g is None or task_group(setup.env_name, t) == g] for g in groups}
    candidates = {g: ids[: shots * CANDIDATES_PER_SHOT] for g, ids in candidates.items()}
    wins: dict[str | None, list[Demonstration]] = {g: [] for g in groups}
    played = dict.fromkeys(groups, 0)
    while True:  # each round plays, per group, as many tasks as it still needs wins: the expert usually wins all
        batch = {g: candidates[g][played[g] : played[g] + shots * WINS_PER_SHOT - len(wins[g])] for g in groups}
        todo = [t for ids in batch.values() for t in ids]
        if not todo:
            break
        records = {r["task_id"]: r for r in await play_episodes(setup, todo)}
        for group, ids in batch.items():
            played[group] += len(ids)
            wins[group] += [d for t in ids if (d := demonstration(setup.env_name, records[t])) is not None]
    return {g: sorted(ds, key=lambda d: len(d.as_text()))[:shots] for g, ds in wins.items()}


def _task_pool(setup: RunSetup, split: str) -> list[str]:
    """The tasks of ``split``, or if the env has none, those of its full list that the run does not play."""
    env = gymnasium.make(setup.env_id, **setup.env_kwargs)
    try:
        tasks = env.unwrapped.tasks
        return list(tasks.split(split)) if split in tasks.splits else [t for t in tasks.ids if t not in setup.task_ids]
    finally:
        env.close()


def demonstration(env_name: str, record: dict[str, Any]) -> Demonstration | None:
    """The demonstration an expert episode's record makes if the expert won it, else ``None``."""
    if not record["won"]:
        return None
    steps = record["steps"]
    after = [step["observation"] for step in steps[1:]] + [record["final_observation"]]
    return Demonstration(
        record["task_id"],
        truncate_text(record["first_observation"], MAX_DEMO_OBSERVATION),
        tuple(
            (
                demo_thought(env_name, step["observation"], step["action"]),
                step["action"],
                truncate_text(o, MAX_DEMO_OBSERVATION),
            )
            for step, o in zip(steps, after, strict=True)
        ),
    )
