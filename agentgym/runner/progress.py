"""The run's progress bar (rich), with the live success rate; it does nothing when disabled."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ProgressBar:
    """Counts finished episodes out of ``total``; ``done`` of them were finished before (a resumed run).

    Args:
        total: the run's episodes.
        done: those already finished.
        results: every record so far, by episode (read for the success rate; the run keeps it up to date).
        enabled: draw the bar (``False``: every method does nothing).
    """

    def __init__(self, total: int, done: int, results: Mapping[Any, dict[str, Any]], *, enabled: bool) -> None:
        """Set the bar up; it is drawn between ``__enter__`` and ``__exit__``."""
        self.enabled = enabled
        self.results = results
        if enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("success {task.fields[success]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
            )
            self.task = self.progress.add_task("episodes", total=total, completed=done, success=self._rate())

    def _rate(self) -> str:
        played = [r for r in self.results.values() if r.get("error") is None]
        return f"{sum(r['won'] for r in played) / len(played):.1%}" if played else "-"

    def update(self, advance: int = 1) -> None:
        """Count ``advance`` more episodes as finished (or not needed: a task won before its last trial)."""
        if self.enabled and advance:
            self.progress.update(self.task, advance=advance, success=self._rate())

    def __enter__(self) -> ProgressBar:
        """Start drawing."""
        if self.enabled:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop drawing."""
        if self.enabled:
            self.progress.stop()
