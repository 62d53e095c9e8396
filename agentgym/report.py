"""``agentgym report``: compare finished runs, and put them next to the papers' numbers.

A run is an output folder of :func:`agentgym.evaluate` (``run.json``, ``episodes.jsonl``, ``summary.json``).
The report has one row per run (success rate and mean score with 95% bootstrap intervals over tasks, mean
steps, tokens, wall time), the published numbers of the run's paper preset beside it, paired differences of
each later run against the first on their common tasks, warnings when the runs' protocol cards differ on what
changes the metric, and optionally a PNG of cumulative success by trial.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agentgym.error import NotARunFolder
from agentgym.runner.folder import EPISODES_FILE, RUN_FILE, SUMMARY_FILE, existing_run, read_json_object
from agentgym.runner.records import read_episodes, summarize

#: What a run.json must hold for a report, with the types.
REPORT_KEYS: dict[str, type] = {"env_id": str, "split": str, "agent": dict, "policy": dict}


@dataclass
class Run:
    """A finished (or partial) run read from its folder.

    Attributes:
        problems: one-line warnings about its files (a line of episodes.jsonl that is not a valid record, an
            unreadable summary.json); what they name was skipped.
    """

    folder: Path
    config: dict[str, Any]
    summary: dict[str, Any]
    records: list[dict[str, Any]]
    problems: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """A short name: the folder's."""
        return self.folder.name


def load_run(folder: str | Path) -> Run:
    """Read a run folder, changing nothing; the summary is recomputed from the records (partial runs report too).

    Raises:
        FileNotFoundError: if the folder holds no run.
        NotARunFolder: its files are not a run's (links, non-regular files, a run.json that is not a run's
            configuration or lacks what the report needs).
    """
    folder = Path(folder)
    config = existing_run(folder)
    if config is None:
        raise FileNotFoundError(f"{folder} holds no run ({RUN_FILE} is missing)")
    wrong = [key for key, kind in REPORT_KEYS.items() if not isinstance(config.get(key), kind)]
    trials = config.get("trials", 1)
    if not isinstance(trials, int) or isinstance(trials, bool) or trials < 1:
        wrong.append("trials")
    if wrong:
        raise NotARunFolder(f"{folder / RUN_FILE} is not a run configuration (no valid {', '.join(wrong)})")
    log = read_episodes(folder / EPISODES_FILE)
    records = list(log.latest().values())
    problems = log.warnings()
    summary = summarize(records, trials=trials)
    summary["wall_time_s"] = None
    try:
        wall_time = read_json_object(folder / SUMMARY_FILE, "a run summary").get("wall_time_s")
    except FileNotFoundError:
        wall_time = None
    except NotARunFolder as e:
        problems.append(f"{e}; wall time not shown")
        wall_time = None
    if isinstance(wall_time, (int, float)) and not isinstance(wall_time, bool):
        summary["wall_time_s"] = wall_time
    summary["input_tokens"], summary["output_tokens"] = _tokens(records)
    return Run(folder, config, summary, records, problems)


def _tokens(records: list[dict[str, Any]]) -> tuple[int | None, int | None]:
    totals = [0, 0]
    seen = False
    for record in records:
        for step in record.get("steps", []):
            usages = step.get("usage") if isinstance(step, dict) else None
            for usage in usages if isinstance(usages, list) else []:
                for i, key in enumerate(("input_tokens", "output_tokens")):
                    count = usage.get(key) if isinstance(usage, dict) else None
                    if isinstance(count, int) and not isinstance(count, bool):
                        totals[i] += count
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
    """One line per run whose protocol card differs from the first run's on a field that changes the metric.

    Also one per run whose prompts (the paper's files, by sha256, or agentgym's own) differ from the first run's.
    """
    from agentgym.protocol import differences, prompt_provenance

    lines = [
        f"{run.label} differs from {runs[0].label} on {', '.join(fields)}: their numbers are not comparable"
        for run in runs[1:]
        if (fields := differences(runs[0].config, run.config))
    ]
    first = prompt_provenance(runs[0].config.get("agent") or {}) if runs else None
    for run in runs[1:]:
        prompts = prompt_provenance(run.config.get("agent") or {})
        if prompts != first:
            lines.append(
                f"{run.label} used other prompts than {runs[0].label} ({_prompts_label(prompts)} vs "
                f"{_prompts_label(first)})"
            )
    return lines


def _prompts_label(prompts: tuple[str, tuple[tuple[str, str], ...]] | None) -> str:
    if prompts is None:
        return "none"
    setting, files = prompts
    return setting if not files else f"{setting}: " + ", ".join(f"{name} {sha[:12]}" for name, sha in files)


def rows(runs: list[Run]) -> list[dict[str, Any]]:
    """One row per run, then one per published number of its preset, then its paired difference to the first."""
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
        preset = _preset(config)
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


def _preset(config: dict[str, Any]) -> Any:
    """The paper preset a run's configuration names, if any."""
    from agentgym.presets import PRESETS

    name = config.get("preset")
    return PRESETS.get(name) if isinstance(name, str) else None


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


def rich_table(table: list[dict[str, Any]], width: int = 200) -> Any:
    """The report for a terminal ``width`` columns wide: one wide table, or one block per run where it would not fit.

    Cells are plain text (a run folder named ``[bold]`` is shown as written, never as markup).
    """
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    cells = [[_cell(row, key, spec) for key, _, spec in COLUMNS] for row in table]
    widths = [max([len(title), *(len(row[i]) for row in cells)]) for i, (_, title, _) in enumerate(COLUMNS)]
    if sum(widths) + 3 * len(widths) + 1 <= width:
        out = Table(*(title for _, title, _ in COLUMNS), title="agentgym report")
        for row, texts in zip(table, cells, strict=True):
            dim = "delta" in row or row.get("paired")
            out.add_row(*(Text(text) for text in texts), style="dim" if dim else None)
        return out
    blocks: list[Any] = [Text("agentgym report", style="italic")]
    for row, texts in zip(table, cells, strict=True):
        values = {key: text for (key, _, _), text in zip(COLUMNS, texts, strict=True) if text}
        block = Table.grid(padding=(0, 2))
        block.add_column(style="bold", no_wrap=True)
        block.add_column(overflow="fold")
        for key, title, _ in COLUMNS:
            if key in values and key != "run":
                block.add_row(Text(title), Text(values[key]))
        heading = Text(row["run"].strip(), style="dim" if "delta" in row or row.get("paired") else "bold")
        blocks += [heading, block]
    return Group(*blocks)


def first_wins(run: Run) -> dict[str, int | None]:
    """For each task, the first trial (0-based) it was won in, or ``None``."""
    wins: dict[str, int | None] = {}
    for record in run.records:
        if record.get("error") is None:
            trial = record["episode"] if record["won"] else None
            known = wins.get(record["task_id"])
            wins[record["task_id"]] = trial if known is None else known if trial is None else min(known, trial)
    return wins


def success_by_trial(run: Run) -> list[tuple[float, tuple[float, float] | None]]:
    """Cumulative success after each trial, with its 95% bootstrap interval over tasks."""
    wins = list(first_wins(run).values())
    curve = []
    for trial in range(int(run.config.get("trials", 1))):
        solved = [float(win is not None and win <= trial) for win in wins]
        curve.append((sum(solved) / len(solved) if solved else 0.0, bootstrap_ci(solved)))
    return curve


def plot_success_by_trial(runs: list[Run], path: str | Path) -> Path:
    """Save a PNG of cumulative success by trial, as the Reflexion paper draws it.

    One line per run with its 95% band (bootstrap over tasks), trials numbered 1, 2, ... on integer ticks, the
    papers' published curves (or single numbers) of each run's preset as dashed references, and the envs and
    splits in the title.

    Raises:
        ImportError: without matplotlib (``pip install 'agentgym[report]'``).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    figure, axes = plt.subplots(figsize=(6.4, 4.2))
    for run in runs:
        curve = success_by_trial(run)
        trials = list(range(1, len(curve) + 1))
        line = axes.plot(trials, [rate for rate, _ in curve], marker="o", label=run.label)[0]
        bands = [ci if ci else (rate, rate) for rate, ci in curve]
        axes.fill_between(trials, [lo for lo, _ in bands], [hi for _, hi in bands], color=line.get_color(), alpha=0.2)
        preset = _preset(run.config)
        for published in preset.published if preset else ():
            if published.metric != "success_rate":
                continue
            label = f"{published.method}, {published.model} (paper)"
            if published.by_trial:
                xs, ys = list(range(1, len(published.by_trial) + 1)), list(published.by_trial)
            else:
                xs, ys = [1 + (published.trial or 0)], [published.value]
            axes.plot(xs, ys, linestyle="--", marker="x", color=line.get_color(), alpha=0.7, label=label)
    settings = sorted({f"{run.config['env_id'].split('/')[-1]} {run.config['split']}" for run in runs})
    axes.set_title(", ".join(settings), fontsize=10)
    axes.set_xlabel("trial")
    axes.set_ylabel("cumulative success")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylim(0, 1)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7)
    figure.tight_layout()
    path = Path(path)
    try:
        figure.savefig(path, dpi=120, format="png")  # exactly there, even without a .png suffix
    finally:
        plt.close(figure)
    return path
