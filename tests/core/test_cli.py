import json

import pytest
import typer
from typer.testing import CliRunner

from agentgym.cli import app, parse_settings

runner = CliRunner()


@pytest.mark.parametrize("command", [[], ["list"], ["run"], ["eto"], ["data"], ["data", "download"], ["data", "path"]])
def test_every_command_has_help(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output


def test_list_shows_envs_and_splits():
    result = CliRunner(env={"COLUMNS": "250"}).invoke(app, ["list"])
    assert result.exit_code == 0
    assert "agentgym/Game24-v0" in result.output and "test (100)" in result.output


def test_run_writes_records_and_prints_a_summary(tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(
        app,
        ["run", "game24", "--limit", "3", "--workers", "0", "--out", str(out), "--no-progress"],
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    assert "success rate" in result.output and "100.0%" in result.output
    assert json.loads((out / "summary.json").read_text())["episodes"] == 3


def test_run_default_output_folder_is_named_after_the_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["run", "game24", "--limit", "1", "--workers", "0", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "runs" / "game24-v0-default-expert-expert" / "episodes.jsonl").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "chess"], "unknown env 'chess'"),
        (["run", "game24", "--agent", "nope"], "unknown agent 'nope'"),
        (["run", "game24", "--policy", "nope"], "unknown policy 'nope'"),
        (["run", "game24", "--split", "dev"], "unknown split 'dev'"),
        (["run", "game24", "--agent-arg", "delay"], "expected KEY=VALUE"),
        (["run", "game24", "--executor", "nope"], "unknown executor 'nope'"),
        (["data", "download", "nope"], "unknown dataset 'nope'"),
        (["eto", "chess"], "unknown env 'chess'"),
        (["eto", "game24", "--set", "nope=1"], "unknown ETO settings"),
        (["eto", "game24", "--base-model", "/nonexistent"], "does not exist"),
    ],
)
def test_bad_input_gets_a_clear_message_not_a_traceback(args, message, tmp_path):
    result = runner.invoke(
        app, [*args, "--out", str(tmp_path)] if args[0] in ("run", "eto") else args, terminal_width=200
    )
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_parse_settings():
    assert parse_settings(["k=3", "s=text", "j=[1, 2]", "e="]) == {"k": 3, "s": "text", "j": [1, 2], "e": ""}
    with pytest.raises(typer.BadParameter):
        parse_settings(["=3"])


def test_user_text_is_printed_literally_not_as_markup(tmp_path):
    result = runner.invoke(app, ["run", "game24", "--task-id", "[/x]", "--workers", "0", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert result.stderr == "error: unknown task ids for agentgym/Game24-v0: ['[/x]']\n"
    folder = tmp_path / "[bold]x[blink]y"
    assert runner.invoke(
        app, ["run", "game24", "--limit", "1", "--workers", "0", "--no-progress", "--out", str(folder)]
    )
    result = CliRunner(env={"COLUMNS": "400"}).invoke(app, ["report", str(folder)])
    assert result.exit_code == 0, result.output
    assert "[bold]x[blink]y" in result.output
