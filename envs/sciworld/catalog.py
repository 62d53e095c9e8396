"""ScienceWorld's tasks, variations and splits: the official ones, ETO's and AgentGym's.

A task id is ``"<task-name>-<variation>"`` (``boil-21``). The full list holds every variation of the 30 tasks
in the simulator's task order (``tasks.json``: 1-1 boil, 1-2 melt, ..., 10-2
mendelian-genetics-unknown-plant), variations ascending. Splits:

- ``train`` / ``dev`` / ``test``: the simulator's own train/dev/test variations of all 30 tasks (3,592 /
  1,796 / 1,819), flattened in task order. They come from ``official_variations.json``, which
  :func:`query_official_tasks` reads out of the simulator (``scienceworld`` 1.2.3); a test checks it.
- ``eto_seen`` (194), ``eto_unseen`` (211), ``eto_train`` (1,483): ETO's ``dev_indices.json``,
  ``test_indices.json`` and ``train_indices.json`` (24 tasks; the paper's "seen" test set is its dev list,
  "unseen" its test list), read from ``sciworld/eto/`` under the data root, in the files' order.
- ``agentgym`` (4,639): AgentGym's flat item list, all variations of the 23 tasks its server keeps, so that
  index ``i`` is AgentGym's ``sciworld_<i>``. Built here from the official manifest; a test checks it
  against ``sciworld/agentgym_games_index.json``.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from agentgym import data

MANIFEST = Path(__file__).with_name("official_variations.json")

#: ETO's per-task step limits (Song et al. 2024, "Trial and Error"; github.com/Yifan-Song793/ETO @9cd8087,
#: ``eval_agent/data/sciworld/max_steps.json``), keyed by the simulator's task names. ETO counts every agent
#: turn, valid or not, and stops the episode when the count reaches the limit.
ETO_MAX_STEPS: dict[str, int] = {
    "boil": 100,
    "change-the-state-of-matter-of": 80,
    "freeze": 80,
    "melt": 80,
    "measure-melting-point-known-substance": 120,
    "use-thermometer": 30,
    "power-component": 20,
    "power-component-renewable-vs-nonrenewable-energy": 30,
    "test-conductivity": 30,
    "test-conductivity-of-unknown-substances": 30,
    "find-animal": 15,
    "find-living-thing": 15,
    "find-non-living-thing": 15,
    "find-plant": 15,
    "grow-fruit": 60,
    "grow-plant": 30,
    "chemistry-mix": 60,
    "chemistry-mix-paint-secondary-color": 15,
    "chemistry-mix-paint-tertiary-color": 30,
    "lifespan-longest-lived": 10,
    "lifespan-longest-lived-then-shortest-lived": 12,
    "lifespan-shortest-lived": 10,
    "identify-life-stages-1": 30,
    "identify-life-stages-2": 30,
}
#: The limit of the 6 tasks ETO leaves out: ETO's ``envStepLimit`` (the simulator-level cap it sets), which
#: is also the registered ``max_episode_steps``.
OTHER_TASKS_MAX_STEPS = 200
#: Topic ids AgentGym's ``agentenv-sciworld`` server leaves out of its item list (grow plant/fruit, the
#: inclined planes, Mendelian genetics).
AGENTGYM_EXCLUDED = frozenset({"5-1", "5-2", "9-1", "9-2", "9-3", "10-1", "10-2"})
#: ETO's split files (under ``sciworld/eto/`` in the data root) per agentgym split name.
ETO_SPLIT_FILES = {
    "eto_train": "train_indices.json",
    "eto_seen": "dev_indices.json",
    "eto_unseen": "test_indices.json",
}


@dataclass(frozen=True)
class OfficialTask:
    """One ScienceWorld task and its official variation split.

    Attributes:
        name: the simulator's task name (``boil``).
        topic_id: its id in ``tasks.json`` (``1-1``).
        variations: how many variations it has (ids ``0 .. variations - 1``).
        train: the official train variation ids (likewise ``dev``, ``test``).
    """

    name: str
    topic_id: str
    variations: int
    train: tuple[int, ...]
    dev: tuple[int, ...]
    test: tuple[int, ...]

    def ids(self, variations: Sequence[int] | None = None) -> list[str]:
        """Task ids of ``variations`` (all by default)."""
        return [task_id(self.name, v) for v in (range(self.variations) if variations is None else variations)]


def task_id(task_name: str, variation: int) -> str:
    """``"<task-name>-<variation>"``."""
    return f"{task_name}-{variation}"


def parse_task_id(task_id_: str) -> tuple[str, int]:
    """Split ``"boil-21"`` into ``("boil", 21)``."""
    name, _, variation = task_id_.rpartition("-")
    return name, int(variation)


def _expand(spans: list[list[int]]) -> tuple[int, ...]:
    return tuple(v for start, stop in spans for v in range(start, stop))


def _spans(ids: Sequence[int]) -> list[list[int]]:
    """Compress sorted ids into ``[start, stop)`` runs (the official splits are one run per task)."""
    spans: list[list[int]] = []
    for v in ids:
        if spans and spans[-1][1] == v:
            spans[-1][1] = v + 1
        else:
            spans.append([v, v + 1])
    return spans


@functools.cache
def official_tasks() -> tuple[OfficialTask, ...]:
    """The 30 tasks in the simulator's order, with their official splits (from the bundled manifest)."""
    entries = json.loads(MANIFEST.read_text())["tasks"]
    return tuple(
        OfficialTask(
            name=e["name"],
            topic_id=e["topic_id"],
            variations=e["variations"],
            train=_expand(e["train"]),
            dev=_expand(e["dev"]),
            test=_expand(e["test"]),
        )
        for e in entries
    )


def query_official_tasks(simulator: object) -> list[dict]:
    """Read every task's variations and splits out of a live simulator, as the manifest stores them.

    Args:
        simulator: a :class:`~agentgym.envs.sciworld.simulator.Simulator` (it loads each task once).
    """
    from scienceworld.constants import ID2TASK

    names = simulator.task_names()  # type: ignore[attr-defined]
    entries = []
    for topic_id, name in ID2TASK.items():
        if name not in names:
            raise ValueError(f"tasks.json names {name!r}, which the simulator does not know")
        simulator.load(name, 0, "")  # type: ignore[attr-defined]
        train, dev, test = simulator.split_variations()  # type: ignore[attr-defined]
        entries.append(
            {
                "name": name,
                "topic_id": topic_id,
                "variations": simulator.max_variations(name),  # type: ignore[attr-defined]
                "train": _spans(sorted(train)),
                "dev": _spans(sorted(dev)),
                "test": _spans(sorted(test)),
            }
        )
    return entries


def eto_task_name(name: str) -> str:
    """Map ETO's task names (``task-10-measure-melting-point-(known-substance)``) to the simulator's."""
    name = re.sub(r"^task-\d+[ab]?-", "", name).replace("(", "").replace(")", "")
    return name.replace("mendellian", "mendelian")


def eto_split(split: str) -> list[str]:
    """Task ids of ETO split ``eto_train``, ``eto_seen`` or ``eto_unseen``, in its file's order.

    Raises:
        DataNotFound: when ETO's split file is not under the data root.
    """
    path = data.require(f"sciworld/eto/{ETO_SPLIT_FILES[split]}", "sciworld")
    return [task_id(eto_task_name(name), int(variation)) for name, variation in json.loads(path.read_text())]


def agentgym_split() -> list[str]:
    """AgentGym's flat ScienceWorld item list: ``ids[i]`` is its ``sciworld_<i>``."""
    return [tid for task in official_tasks() if task.topic_id not in AGENTGYM_EXCLUDED for tid in task.ids()]


def max_steps_for(task_name: str) -> int:
    """ETO's step limit for a task (:data:`OTHER_TASKS_MAX_STEPS` for the 6 tasks ETO leaves out)."""
    return ETO_MAX_STEPS.get(task_name, OTHER_TASKS_MAX_STEPS)


class Splits(Mapping[str, Sequence[str]]):
    """Split name -> task ids, where some splits are read only when first asked for (they need data files).

    Membership (``in``) and iteration do not load anything, so listing an env's splits works without the
    data; reading a lazy split whose file is missing raises :class:`~agentgym.error.DataNotFound`.
    """

    def __init__(self, ready: dict[str, Sequence[str]], lazy: dict[str, Callable[[], Sequence[str]]]) -> None:
        """Hold the ``ready`` splits and the loaders of the ``lazy`` ones."""
        self._ready = dict(ready)
        self._lazy = dict(lazy)

    def __getitem__(self, name: str) -> Sequence[str]:
        if name not in self._ready:
            if name not in self._lazy:
                raise KeyError(name)
            self._ready[name] = tuple(self._lazy[name]())
        return self._ready[name]

    def __contains__(self, name: object) -> bool:
        return name in self._ready or name in self._lazy

    def __iter__(self) -> Iterator[str]:
        yield from self._ready
        yield from (name for name in self._lazy if name not in self._ready)

    def __len__(self) -> int:
        return len(self._ready.keys() | self._lazy.keys())


def write_manifest() -> None:
    """Rewrite ``official_variations.json`` from the installed simulator (after upgrading it)."""
    from importlib.metadata import version

    from agentgym.envs.sciworld.jvm import acquire, release
    from agentgym.envs.sciworld.simulator import Simulator

    jvm = acquire(heap_mb=None, shared=False)
    try:
        simulator = Simulator(jvm)
        tasks = query_official_tasks(simulator)
    finally:
        release(jvm)
    rows = ",\n".join("  " + json.dumps(task) for task in tasks)
    MANIFEST.write_text(f'{{"source": "scienceworld {version("scienceworld")}",\n "tasks": [\n{rows}\n]}}\n')


if __name__ == "__main__":
    write_manifest()
