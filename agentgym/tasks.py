"""Task lists and splits: which task a ``reset`` option names.

Every env owns a :class:`TaskSet`: the benchmark's canonical full list of task ids and its named splits
(each an ordered list of ids from the full list). :meth:`TaskSet.resolve` turns the reset options that every
agentgym env accepts into one task id.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agentgym.error import TaskNotFound

RESET_OPTION_KEYS = frozenset({"task_id", "split", "index"})


@dataclass(frozen=True)
class TaskSet:
    """A benchmark's task ids in canonical order, and its named splits.

    Attributes:
        ids: every task id, in the benchmark's canonical order (``options={"index": i}`` picks ``ids[i]``).
        splits: split name -> ordered task ids, each drawn from ``ids``.
        default_split: the split a seed-only reset draws from.

    Example:
        >>> tasks = TaskSet(ids=("a", "b", "c"), splits={"test": ("c",), "train": ("a", "b")},
        ...                 default_split="test")
        >>> tasks.resolve({"split": "train", "index": 1}, rng=np.random.default_rng(0))
        'b'
    """

    ids: Sequence[str]
    splits: Mapping[str, Sequence[str]]
    default_split: str
    _positions: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Check that the default split exists and index the ids."""
        if self.default_split not in self.splits:
            raise ValueError(f"default_split {self.default_split!r} is not one of {sorted(self.splits)}")
        object.__setattr__(self, "_positions", {task_id: i for i, task_id in enumerate(self.ids)})

    def split(self, name: str) -> Sequence[str]:
        """Return the ordered task ids of split ``name`` (``"all"`` is the full list)."""
        if name in self.splits:
            return self.splits[name]
        if name == "all":
            return self.ids
        raise TaskNotFound(f"unknown split {name!r}; this env has {[*sorted(self.splits), 'all']}")

    def __contains__(self, task_id: object) -> bool:
        """Return whether ``task_id`` is one of this benchmark's tasks."""
        return task_id in self._positions

    def resolve(self, options: Mapping[str, Any] | None, rng: np.random.Generator) -> str:
        """Return the task id that reset ``options`` name.

        ``{"task_id": id}`` picks by id; ``{"split": name, "index": i}`` picks entry ``i`` of a split;
        ``{"index": i}`` picks entry ``i`` of the full list; ``{"split": name}`` or no option draws a task
        of that split (the default split) from ``rng``. Other option keys are ignored here (envs may take
        their own).

        Raises:
            TaskNotFound: for an unknown id or split, or an index out of range.
        """
        options = options or {}
        if "task_id" in options:
            task_id = str(options["task_id"])
            if task_id not in self._positions:
                close = difflib.get_close_matches(task_id, list(self._positions)[:50_000], n=3)
                hint = f"; did you mean {close}?" if close else ""
                raise TaskNotFound(f"unknown task_id {task_id!r}{hint}")
            return task_id
        if "index" not in options:
            ids = self.split(options.get("split", self.default_split))
            return ids[int(rng.integers(len(ids)))]
        ids = self.split(options["split"]) if "split" in options else self.ids
        index = options["index"]
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TaskNotFound(f"reset option 'index' must be an int, got {index!r}")
        if not -len(ids) <= index < len(ids):
            where = f"split {options['split']!r}" if "split" in options else "the full task list"
            raise TaskNotFound(f"index {index} is out of range for {where} ({len(ids)} tasks)")
        return ids[index]


def task_list_hash(task_ids: Sequence[str]) -> str:
    """Return a short, stable sha256 of an ordered task list (for run records and protocol cards)."""
    return hashlib.sha256("\n".join(task_ids).encode()).hexdigest()[:16]
