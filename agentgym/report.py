"""``agentgym report``: compare finished runs, and put them next to the papers' numbers.

A run is an output folder of :func:`agentgym.evaluate` (``run.json``, ``episodes.jsonl``, ``summary.json``).
The report has one row per run (success rate and mean score with 95% bootstrap intervals over tasks, mean
steps, tokens, wall time), the published numbers of the run's paper preset beside it, paired differences of
each later run against the first on their common tasks, warnings when the runs' protocol cards differ on what
changes the metric, and optionally a PNG of cumulative success by trial.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agentgym.runner.records import EPISODES_FILE, RUN_FILE, SUMMARY_FILE, summarize


@dataclass
class Run:
    """A finished (or partial) run read from its folder."""

    folder: Path
    config: dict[str, Any]
    summary: dict[str, Any]
    records: list[dict[str, Any]]

    @property
    def label(self) -> str:
        """A short name: the folder's."""
        return self.folder.name


def load_run(folder: str | Path) -> Run:
    """Read a run folder; the summary is recomputed from the records (so partial runs report correctly).

    Raises:
        FileNotFoundError: if the folder holds no run.
    """
    folder = Path(folder)
    if not (folder / RUN_FILE).exists():
        raise FileNotFoundError(f"{folder} holds no run ({RUN_FILE} is missing)")
    config = json.loads((folder / RUN_FILE).read_text())
    latest: dict[tuple[str, int], dict[str, Any]] = {}
    episodes = folder / EPISODES_FILE
    if episodes.exists():
        for line in episodes.read_text(encoding="utf-8").splitlines():
            if line.strip():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:  # the last line of a killed run
                    continue
                latest[record["task_id"], record["episode"]] = record
    records = list(latest.values())
    summary = summarize(records, trials=config.get("trials", 1))
    saved = folder / SUMMARY_FILE
    if saved.exists():
        summary["wall_time_s"] = json.loads(saved.read_text()).get("wall_time_s")
    summary["input_tokens"], summary["output_tokens"] = _tokens(records)
    return Run(folder, config, summary, records)


def _tokens(records: list[dict[str, Any]]) -> tuple[int | None, int | None]:
    totals = [0, 0]
    seen = False
    for record in records:
        for step in record.get("steps", []):
            for usage in step.get("usage", []):
                for i, key in enumerate(("input_tokens", "output_tokens")):
                    if usage.get(key) is not None:
                        totals[i] += usage[key]
                        seen = True
    return (totals[0], totals[1]) if seen else (None, None)


def per_task(run: Run, metric: str) -> dict[str, float]:
    """Each task's value of ``metric`` (``"won"`` or ``"score"``).

    That is its mean over the task's episodes; with trials, won in any trial / the best score.
    """
    values: dict[str, list[float]] = {}
    for record in run.records:
        if record.get("error") is None:
            values.setdefault(record["task_id"], []).append(float(record[metric]))
    combine = max if run.config.get("trials", 1) > 1 else (lambda xs: sum(xs) / len(xs))
    return {task: combine(xs) for task, xs in values.items()}


def bootstrap_ci(values: list[float], *, resamples: int = 2000, seed: int = 0) -> tuple[float, float] | None:
    """A 95% percentile-bootstrap interval of the mean (``None`` for no values)."""
    if not values:
        return None
    data = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, len(data), size=(resamples, len(data)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def paired(baseline: Run, other: Run, metric: str) -> dict[str, Any]:
    """``other - baseline`` on the tasks both ran: mean difference, its 95% interval, and the task count."""
    first, second = per_task(baseline, metric), per_task(other, metric)
    common = sorted(set(first) & set(second))
    differences = [second[t] - first[t] for t in common]
    mean = sum(differences) / len(differences) if differences else None
    return {"tasks": len(common), "difference": mean, "ci": bootstrap_ci(differences)}


def warnings(runs: list[Run]) -> list[str]:
    """One line per run whose protocol card differs from the first run's on a field that changes the metric."""
    from agentgym.protocol import differences

    return [
        f"{run.label} differs from {runs[0].label} on {', '.join(fields)}: their numbers are not comparable"
        for run in runs[1:]
        if (fields := differences(runs[0].config, run.config))
    ]


def rows(runs: list[Run]) -> list[dict[str, Any]]:
    """One row per run, then one per published number of its preset, then its paired difference to the first."""
    from agentgym.baselines.presets import PRESETS

    table = []
    for index, run in enumerate(runs):
        summary, config = run.summary, run.config
        table.append(
            {
                "run": run.label,
                "env": config["env_id"].split("/")[-1],
                "split": config["split"],
                "agent": config["agent"].get("name"),
                "policy": _policy_name(config["policy"]),
                "episodes": summary["episodes"],
                "success_rate": summary["success_rate"],
                "success_ci": bootstrap_ci(list(per_task(run, "won").values())),
                "mean_score": summary["mean_score"],
                "score_ci": bootstrap_ci(list(per_task(run, "score").values())),
                "mean_steps": summary["mean_steps"],
                "output_tokens": summary["output_tokens"],
                "wall_time_s": summary.get("wall_time_s"),
                "success_by_trial": summary.get("success_by_trial"),
            }
        )
        preset = PRESETS.get(config.get("preset") or "")
        for published in preset.published if preset else ():
            ours = summary[published.metric]
            if published.trial is not None:
                by_trial = summary.get("success_by_trial") or []
                ours = by_trial[published.trial] if published.trial < len(by_trial) else None
            table.append(
                {
                    "run": f"  paper: {published.method}" + (f" (trial {published.trial})" if published.trial else ""),
                    "policy": published.model,
                    published.metric: published.value,
                    "delta": None if ours is None else ours - published.value,
                    "source": published.source,
                }
            )
        if index > 0:
            won, score = paired(runs[0], run, "won"), paired(runs[0], run, "score")
            table.append(
                {
                    "run": f"  vs {runs[0].label} ({won['tasks']} common tasks)",
                    "success_rate": won["difference"],
                    "success_ci": won["ci"],
                    "mean_score": score["difference"],
                    "score_ci": score["ci"],
                    "paired": True,
                }
            )
    return table


def _policy_name(policy: dict[str, Any]) -> str:
    model = policy.get("model") or policy.get("model_path")
    return f"{policy.get('backend')}:{model}" if model else str(policy.get("backend"))


COLUMNS = (
    ("run", "run", "{}"),
    ("env", "env", "{}"),
    ("split", "split", "{}"),
    ("agent", "agent", "{}"),
    ("policy", "policy", "{}"),
    ("episodes", "episodes", "{}"),
    ("success_rate", "success", "{:.1%}"),
    ("success_ci", "95% CI", "[{0:.1%}, {1:.1%}]"),
    ("mean_score", "score", "{:.3f}"),
    ("score_ci", "95% CI ", "[{0:.3f}, {1:.3f}]"),
    ("mean_steps", "steps", "{:.1f}"),
    ("output_tokens", "out tokens", "{:,}"),
    ("wall_time_s", "wall s", "{:.0f}"),
    ("delta", "ours - paper", "{:+.1%}"),
)


def _cell(row: dict[str, Any], key: str, spec: str) -> str:
    value = row.get(key)
    if value is None:
        return ""
    if row.get("paired") and key == "success_rate":
        spec = "{:+.1%}"
    return spec.format(*value) if isinstance(value, (tuple, list)) else spec.format(value)


def markdown(table: list[dict[str, Any]]) -> str:
    """The report as a Markdown table."""
    lines = ["| " + " | ".join(title for _, title, _ in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_cell(row, key, spec) for key, _, spec in COLUMNS) + " |" for row in table]
    return "\n".join(lines) + "\n"


def rich_table(table: list[dict[str, Any]]) -> Any:
    """The report as a rich table."""
    from rich.table import Table
    from rich.text import Text

    out = Table(*(title for _, title, _ in COLUMNS), title="agentgym report")
    for row in table:
        dim = "delta" in row or row.get("paired")
        cells = (Text(_cell(row, key, spec)) for key, _, spec in COLUMNS)  # run names are folder names: no markup
        out.add_row(*cells, style="dim" if dim else None)
    return out


def plot_success_by_trial(runs: list[Run], path: str | Path) -> Path:
    """Save a PNG of cumulative success by trial (one line per run, the papers' curves dashed).

    Raises:
        ImportError: without matplotlib (``pip install 'agentgym[report]'``).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from agentgym.baselines.presets import PRESETS

    figure, axes = plt.subplots(figsize=(6, 4))
    for run in runs:
        curve = run.summary.get("success_by_trial") or [run.summary["success_rate"] or 0.0]
        axes.plot(range(len(curve)), curve, marker="o", label=run.label)
        preset = PRESETS.get(run.config.get("preset") or "")
        for published in preset.published if preset else ():
            if published.by_trial:
                label = f"{published.method}, {published.model} (paper)"
                axes.plot(range(len(published.by_trial)), published.by_trial, linestyle="--", label=label)
    axes.set_xlabel("trial")
    axes.set_ylabel("cumulative success")
    axes.set_ylim(0, 1)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7)
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
