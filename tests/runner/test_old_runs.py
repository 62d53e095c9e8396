"""Runs written before policy requests lost their oracle still resume and report.

``old_runs/`` holds two run folders written by ``agentgym run`` at commit 7a0a83c (the last one whose policy
requests carried the env's expert), with their records as that version wrote them: a finished run of the
default expert agent and policy, and a ReAct run on the expert policy stopped after its first episode.
"""

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

import agentgym
from agentgym.cli import app

OLD_RUNS = Path(__file__).parent / "old_runs"


def old_run(name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(OLD_RUNS / name, tmp_path / name))


def cli(*arguments: str):
    return CliRunner().invoke(app, list(arguments), terminal_width=200)


def test_a_finished_expert_run_reports_and_resumes_without_playing_again(tmp_path, shared_data):
    out = old_run("expert-run", tmp_path)
    records = (out / "episodes.jsonl").read_bytes()
    assert json.loads((out / "run.json").read_text())["policy"] == {"backend": "expert"}
    report = cli("report", str(out))
    assert report.exit_code == 0 and "100.0%" in report.output
    result = agentgym.evaluate("game24", split="test", limit=3, workers=0, out=out, progress=False)
    assert result.summary["episodes"] == 3 and result.summary["success_rate"] == 1.0
    assert (out / "episodes.jsonl").read_bytes() == records  # nothing played again
    again = cli(
        "run", "game24", "--split", "test", "--limit", "3", "--workers", "0", "--out", str(out), "--no-progress"
    )
    assert again.exit_code == 0 and (out / "episodes.jsonl").read_bytes() == records


def test_an_interrupted_react_run_on_the_expert_policy_resumes(tmp_path, shared_data, isolated_cache):
    """The resumed run's agent card (demonstration tasks, prompt hash) is the old one: the demonstrations agree."""
    out = old_run("react-expert-run", tmp_path)
    first = (out / "episodes.jsonl").read_text()
    arguments = ["run", "game24", "--agent", "react", "--policy", "expert", "--split", "test", "--limit", "2"]
    result = cli(*arguments, "--workers", "0", "--out", str(out), "--no-progress")
    assert result.exit_code == 0, result.output
    text = (out / "episodes.jsonl").read_text()
    assert text.startswith(first)
    records = [json.loads(line) for line in text.splitlines()]
    assert [r["task_id"] for r in records] == ["4 5 6 10", "1 2 4 7"] and all(r["won"] for r in records)
    assert records[1]["agent"] == records[0]["agent"] and records[1]["policy"] == {"backend": "expert"}
    report = cli("report", str(out))
    assert report.exit_code == 0 and "100.0%" in report.output
