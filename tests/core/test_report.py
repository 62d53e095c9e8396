import json

import pytest
from typer.testing import CliRunner

import agentgym
from agentgym import report
from agentgym.baselines.presets import PRESETS
from agentgym.cli import app
from agentgym.presets import preset_arguments
from tests.baselines.test_every_env import ENV_IDS, first_task
from tests.support.agents import LearnsFromMemory


def test_presets_are_well_formed():
    import gymnasium

    for preset in PRESETS.values():
        assert preset.env_id in gymnasium.registry
        assert preset.trials >= 1 and preset.max_steps >= 1
        for published in preset.published:
            assert 0 <= published.value <= 1 and published.metric in ("success_rate", "mean_score")
            assert published.trial is None or published.trial < preset.trials
            assert len(published.by_trial) in (0, preset.trials)


def test_report_puts_runs_next_to_the_paper(tmp_path, shared_data):
    arguments = preset_arguments("tot-game24") | {"agent": "expert", "agent_kwargs": {}, "limit": 4}
    agentgym.evaluate(policy="expert", out=tmp_path / "tot", workers=0, progress=False, **arguments)
    agentgym.evaluate(
        "game24", LearnsFromMemory, limit=4, trials=3, max_steps=4, workers=0, out=tmp_path / "trials", progress=False
    )
    runs = [report.load_run(tmp_path / "tot"), report.load_run(tmp_path / "trials")]
    table = report.rows(runs)
    papers = ["ToT (b=5), any of 5 outputs", "ToT (b=5) rerun, any of 5 outputs", "ToT (b=5) rerun, first output"]
    assert [row["run"] for row in table] == [
        "tot",
        *(f"  paper: {p}" for p in papers),
        "trials",
        "  vs tot (4 common tasks)",
    ]
    assert table[0]["success_rate"] == 1.0 and table[0]["episodes"] == 4
    assert abs(table[1]["delta"] - (1.0 - 0.74)) < 1e-9 and table[1]["source"].startswith("ToT paper")
    assert abs(table[3]["delta"] - (1.0 - 0.62)) < 1e-9 and table[3]["mean_score"] == 0.62  # first output: score
    assert table[4]["success_by_trial"] == [0.0, 1.0, 1.0]
    text = report.markdown(table)
    assert "| tot | Game24OneShot-v0 | test | expert | expert | 4 | 100.0% |" in text and "+26.0%" in text
    png = report.plot_success_by_trial(runs, tmp_path / "curve.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_recomputes_a_partial_run(tmp_path, shared_data):
    agentgym.evaluate("game24", limit=3, workers=0, out=tmp_path, progress=False)
    lines = (tmp_path / "episodes.jsonl").read_text().splitlines()
    (tmp_path / "episodes.jsonl").write_text("\n".join(lines[:2]) + "\n" + lines[2][:30])  # killed mid-write
    run = report.load_run(tmp_path)
    assert run.summary["episodes"] == 2 and run.summary["success_rate"] == 1.0


def test_report_command(tmp_path, shared_data):
    agentgym.evaluate("game24", limit=2, workers=0, out=tmp_path / "a", progress=False)
    result = CliRunner().invoke(
        app,
        [
            "report",
            str(tmp_path / "a"),
            "--markdown",
            str(tmp_path / "r.md"),
            "--json",
            str(tmp_path / "r.json"),
            "--png",
            str(tmp_path / "r.png"),
        ],
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r.json").read_text())["rows"][0]["episodes"] == 2
    assert (tmp_path / "r.md").read_text().startswith("| run |") and (tmp_path / "r.png").exists()
    missing = CliRunner().invoke(app, ["report", str(tmp_path / "nothing")])
    assert missing.exit_code == 2 and "holds no run" in missing.output


def test_run_with_a_preset(tmp_path, shared_data):
    result = CliRunner().invoke(
        app,
        [
            "run",
            "--preset",
            "tot-game24",
            "--agent",
            "expert",
            "--limit",
            "2",
            "--workers",
            "0",
            "--out",
            str(tmp_path),
            "--no-progress",
        ],
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "run.json").read_text())
    assert config["preset"] == "tot-game24" and config["env_id"] == "agentgym/Game24OneShot-v0"
    assert config["max_steps"] == 1 and config["agent"]["name"] == "expert"
    listing = CliRunner(env={"COLUMNS": "250"}).invoke(app, ["presets"])
    assert "reflexion-alfworld" in listing.output and "97.0%" in listing.output
    bad = CliRunner().invoke(app, ["run", "--preset", "nope"])
    assert bad.exit_code == 2 and "unknown preset" in bad.output


def test_bootstrap_intervals_and_paired_differences_on_known_runs(tmp_path, shared_data):
    from agentgym.policies import RandomPolicy

    tasks = agentgym.envs.game24.puzzles.load_puzzles().task_ids[900:910]
    agentgym.evaluate("game24", task_ids=tasks, workers=0, out=tmp_path / "expert", progress=False)
    agentgym.evaluate(
        "game24",
        "direct",
        RandomPolicy(0),
        task_ids=tasks[:6],
        max_steps=2,
        workers=0,
        out=tmp_path / "random",
        progress=False,
    )
    expert, rand = report.load_run(tmp_path / "expert"), report.load_run(tmp_path / "random")
    assert report.bootstrap_ci([1.0] * 10) == (1.0, 1.0)
    low, high = report.bootstrap_ci([0.0, 1.0] * 50)
    assert 0.39 < low < 0.5 < high < 0.61
    difference = report.paired(expert, rand, "won")
    assert difference["tasks"] == 6 and difference["difference"] == -1.0 and difference["ci"] == (-1.0, -1.0)
    table = report.rows([expert, rand])
    assert table[0]["success_ci"] == (1.0, 1.0) and table[-1]["run"] == "  vs expert (6 common tasks)"
    assert report.warnings([expert, rand]) == [
        "random differs from expert on task_ids_hash, max_steps: their numbers are not comparable"
    ]
    assert "-100.0%" in report.markdown(table)


def test_cards_record_what_the_metric_depends_on(tmp_path, shared_data):
    agentgym.evaluate("game24", limit=2, workers=0, out=tmp_path, progress=False)
    card = json.loads((tmp_path / "run.json").read_text())
    assert card["env_protocol"]["puzzle_source"] == "tot-24.csv"
    assert card["env_protocol"]["data_files"]["game24/24.csv"].startswith("b9f12b3e")
    assert card["env_version"] == 0 and len(card["task_ids_hash"]) == 16
    assert card["packages"]["gymnasium"] and card["python"] and card["agentgym_version"]


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_each_envs_card_names_its_data(env_id, tmp_path, shared_data):
    task = first_task(env_id)
    agentgym.evaluate(env_id, task_ids=[task], workers=0, out=tmp_path, progress=False)
    card = json.loads((tmp_path / "run.json").read_text())
    assert card["env_id"] == env_id and card["task_ids_hash"] and card["max_steps"] >= 1
    files = card["env_protocol"]["data_files"]
    assert files and all(len(digest) == 64 for digest in files.values()), card["env_protocol"]


def _trial_runs(tmp_path):
    agentgym.evaluate(
        "game24", LearnsFromMemory, limit=4, trials=3, max_steps=4, workers=0, out=tmp_path / "trials", progress=False
    )
    arguments = preset_arguments("tot-game24") | {"agent": "expert", "agent_kwargs": {}, "limit": 4}
    agentgym.evaluate(policy="expert", out=tmp_path / "[bold]tot", workers=0, progress=False, **arguments)
    return [report.load_run(tmp_path / "trials"), report.load_run(tmp_path / "[bold]tot")]


def test_success_by_trial_has_a_band_per_trial(tmp_path, shared_data):
    trials, one_shot = _trial_runs(tmp_path)
    wins = report.first_wins(trials)
    assert sorted(wins.values()) == [1, 1, 1, 1]  # LearnsFromMemory wins from its second trial on
    curve = report.success_by_trial(trials)
    assert [rate for rate, _ in curve] == [0.0, 1.0, 1.0] == trials.summary["success_by_trial"]
    assert curve[0][1] == (0.0, 0.0) and curve[1][1] == (1.0, 1.0)
    assert report.success_by_trial(one_shot) == [(1.0, (1.0, 1.0))]


def test_plot_draws_integer_trials_bands_and_the_papers_reference(tmp_path, shared_data, monkeypatch):
    import matplotlib.pyplot as plt

    runs = _trial_runs(tmp_path)
    saved = {}
    monkeypatch.setattr(plt, "close", lambda figure: saved.setdefault("figure", figure))
    png = report.plot_success_by_trial(runs, tmp_path / "curve.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    axes = saved["figure"].axes[0]
    assert axes.get_title() == "Game24-v0 test, Game24OneShot-v0 test"
    assert all(float(t).is_integer() for t in axes.get_xticks())
    lines = {line.get_label(): line for line in axes.get_lines()}
    assert list(lines["trials"].get_xdata()) == [1, 2, 3]
    assert list(lines["ToT (b=5), any of 5 outputs, GPT-4 (paper)"].get_ydata()) == [0.74]
    assert list(lines["ToT (b=5) rerun, any of 5 outputs, GPT-4 (paper)"].get_ydata()) == [0.69]
    assert len(axes.collections) == 2  # one 95% band per run


def test_terminal_report_is_readable_at_80_columns(tmp_path, shared_data):
    from rich.console import Console

    runs = _trial_runs(tmp_path)
    table = report.rows(runs)
    narrow = Console(width=80, record=True)
    narrow.print(report.rich_table(table, width=80))
    text = narrow.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    for row in table:  # every value is shown whole: nothing is cut to fit
        for key, _, spec in report.COLUMNS:
            value = report._cell(row, key, spec)
            assert value.strip() in text, (key, value)
    assert "[bold]tot" in text  # a folder name is printed as written, not as markup
    wide = Console(width=250, record=True)
    wide.print(report.rich_table(table, width=250))
    wide_text = wide.export_text()
    assert "ours - paper" in wide_text and "[bold]tot" in wide_text


def test_report_warns_when_prompts_differ(tmp_path, shared_data):
    for name in ("a", "b", "c"):
        agentgym.evaluate("game24", limit=1, workers=0, out=tmp_path / name, progress=False)
    sources = [{"file": "tot/game24.py", "url": "https://example.org/x", "sha256": "ab" * 32}]
    for name, card in (("b", {"prompts": "paper", "prompt_files": sources}), ("c", {"prompts": "agentgym"})):
        config = json.loads((tmp_path / name / "run.json").read_text())
        config["agent"].update(card)
        (tmp_path / name / "run.json").write_text(json.dumps(config))
    runs = [report.load_run(tmp_path / name) for name in ("a", "b", "c")]
    assert report.warnings(runs) == [f"b used other prompts than a (paper: tot/game24.py {'ab' * 6} vs agentgym)"]
    assert report.warnings([runs[1], runs[0]]) == [
        f"a used other prompts than b (agentgym vs paper: tot/game24.py {'ab' * 6})"
    ]
