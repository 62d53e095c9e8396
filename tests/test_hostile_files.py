"""Hostile files: every file the tools read, given hostile contents and shapes, through the real CLI.

Each records file of a run folder (``run.json``, ``summary.json``, ``episodes.jsonl``, the lock ``run.lock``)
is replaced by garbage, invalid UTF-8, nothing, a huge line, deep nesting, JSON of the wrong type, a record
missing keys, or takes a hostile shape: a folder, a symbolic link to a file outside the folder, a hard link to
one, a FIFO. Then ``agentgym report`` reads the folder, and ``agentgym run`` resumes in it. Each time: a
one-line message or warning, the documented exit code, no traceback, and no byte of a file outside the folder
changed (nor, when the command refuses, of the folder).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentgym.cli import app
from agentgym.runner import evaluate

RUN_ARGS = ["run", "game24", "--limit", "3", "--workers", "0", "--no-progress"]
FILES = ("run.json", "summary.json", "episodes.jsonl", "run.lock")

CONTENTS: dict[str, bytes] = {
    "garbage": b"\x00\x01 garbage {{{ ]]",
    "invalid-utf8": b'{"task_id": "\xff\xfe", "episode": 0}',
    "empty": b"",
    "huge-line": b'{"x": "' + b"A" * 20_000_000 + b'"}',
    "deep-nesting": b"[" * 200_000 + b"]" * 200_000,
    "huge-integer": b'{"task_id": "x", "episode": ' + b"9" * 5000 + b', "wall_time_s": ' + b"9" * 5000 + b"}",
    "json-list": b"[1, 2, 3]",
    "json-string": b'"a run"',
    "json-null": b"null",
    "wrong-types": b'{"env_id": 5, "split": [], "agent": "x", "policy": null, "task_id": 7, "episode": "0",'
    b' "won": "yes", "score": "1", "return": 0, "num_steps": 1.5, "steps": {}, "error": null}',
    "missing-keys": b'{"seed": 1}',
}
SHAPES = ("folder", "symlink", "hardlink", "fifo")


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A finished run of 3 Game of 24 episodes (the expert)."""
    out = tmp_path_factory.mktemp("template") / "run"
    result = evaluate("game24", limit=3, workers=0, out=out, progress=False)
    assert result.summary["episodes"] == 3
    return out


@pytest.fixture
def run_folder(template, tmp_path) -> Path:
    out = tmp_path / "run"
    shutil.copytree(template, out)
    (out / "run.lock").write_text("")  # as a killed run leaves it
    return out


@pytest.fixture
def foreign(tmp_path) -> Path:
    """A file outside the run folder that a hostile link points at (it looks like a run's records)."""
    path = tmp_path / "foreign.txt"
    path.write_bytes(b'{"task_id": "not yours", "episode": 0}\n{"torn')
    return path


def snapshot(*paths: Path) -> dict[str, str]:
    """sha256 of every file under ``paths`` (FIFOs and links by their names only; a run's own lock file left out)."""
    digests = {}
    for root in paths:
        for path in [root, *root.rglob("*")] if root.is_dir() else [root]:
            if path.name == "run.lock" and path.is_file() and not path.is_symlink() and path.stat().st_nlink == 1:
                continue
            if path.is_symlink() or (path.exists() and not path.is_file()):
                digests[str(path)] = "special"
            elif path.is_file():
                digests[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def put_content(folder: Path, name: str, content: bytes) -> None:
    """Replace a records file by ``content``; in episodes.jsonl, put it as a line between whole records."""
    path = folder / name
    if name == "episodes.jsonl":
        lines = path.read_bytes().splitlines(keepends=True)
        content = lines[0] + content.replace(b"\n", b" ") + b"\n" + b"".join(lines[1:])
    path.write_bytes(content)


def put_shape(folder: Path, name: str, shape: str, foreign: Path) -> None:
    path = folder / name
    path.unlink()
    if shape == "folder":
        path.mkdir()
        (path / "inside").write_text("x")
    elif shape == "symlink":
        path.symlink_to(foreign)
    elif shape == "hardlink":
        os.link(foreign, path)
    else:
        os.mkfifo(path)


def invoke(args: list[str]) -> tuple[int, str]:
    """Run the CLI in this process; a traceback (an exception escaping the command) fails the test."""
    result = CliRunner(env={"COLUMNS": "4000"}).invoke(app, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{args}: exception escaped the CLI") from result.exception
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def lines_with(output: str, prefix: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(prefix)]


# What each command does with a hostile content, per file: ("error", exit 2) refuses, ("warning", 0) goes on.
REPORT_ON_CONTENT = {"run.json": "error", "summary.json": "warning", "episodes.jsonl": "warning", "run.lock": None}
RESUME_ON_CONTENT = {"run.json": "error", "summary.json": None, "episodes.jsonl": "warning", "run.lock": None}


@pytest.mark.parametrize("content", CONTENTS)
@pytest.mark.parametrize("name", FILES)
def test_report_on_hostile_contents(run_folder, name, content, tmp_path):
    put_content(run_folder, name, CONTENTS[content])
    before = snapshot(run_folder)
    code, output = invoke(["report", str(run_folder), "--json", str(tmp_path / "report.json")])
    assert snapshot(run_folder) == before  # reading changes nothing
    if REPORT_ON_CONTENT[name] == "error":
        assert code == 2, output
        assert lines_with(output, "error:") == [output.strip()] and str(run_folder) in output
        return
    assert code == 0, output
    warnings = lines_with(output, "warning:")
    if name == "episodes.jsonl" and content != "empty":
        assert len(warnings) == 1 and "episodes.jsonl line 2:" in warnings[0] and "skipped" in warnings[0]
    elif name == "summary.json" and content not in ("missing-keys", "wrong-types"):  # not a JSON object
        assert len(warnings) == 1 and "summary.json" in warnings[0] and "wall time not shown" in warnings[0]
    else:
        assert warnings == [], output
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["rows"][0]["episodes"] == 3 and saved["warnings"] == [w.removeprefix("warning: ") for w in warnings]


@pytest.mark.parametrize("content", CONTENTS)
@pytest.mark.parametrize("name", FILES)
def test_resume_on_hostile_contents(run_folder, name, content, caplog):
    put_content(run_folder, name, CONTENTS[content])
    before = snapshot(run_folder)
    code, output = invoke([*RUN_ARGS, "--out", str(run_folder)])
    expected = RESUME_ON_CONTENT[name]
    if expected == "error":
        assert code == 2, output
        assert lines_with(output, "error:") == [output.strip()] and str(run_folder) in output
        assert snapshot(run_folder) == before
        return
    assert code == 0, output
    assert not (run_folder / "run.lock").exists()  # released
    summary = json.loads((run_folder / "summary.json").read_text())
    assert summary["episodes"] == 3 and summary["errors"] == 0
    records = [line for line in (run_folder / "episodes.jsonl").read_bytes().splitlines() if line.strip()]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and "episodes.jsonl" in r.message]
    if name == "episodes.jsonl" and content != "empty":
        # the hostile line is kept where it was (never rewritten), skipped with a warning; nothing is replayed
        assert len(records) == 4 and records[1] == CONTENTS[content].replace(b"\n", b" ")
        assert len(warnings) == 1 and "line 2:" in warnings[0], warnings
    else:
        assert len(records) == 3 and warnings == []


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("command", ["report", "resume", "overwrite"])
def test_hostile_shapes_are_refused_and_nothing_outside_changes(run_folder, foreign, name, shape, command):
    put_shape(run_folder, name, shape, foreign)
    outside = snapshot(foreign)
    before = snapshot(run_folder)
    args = {
        "report": ["report", str(run_folder)],
        "resume": [*RUN_ARGS, "--out", str(run_folder)],
        "overwrite": [*RUN_ARGS, "--out", str(run_folder), "--overwrite"],
    }[command]
    code, output = invoke(args)
    assert snapshot(foreign) == outside  # a file outside the folder is never written
    if command == "overwrite" and shape != "folder":
        # --overwrite removes the previous run's files (and a lock file no run made): a link is removed, not followed
        assert code == 0, output
        assert not (run_folder / name).is_symlink() and (run_folder / "run.json").is_file()
        assert json.loads((run_folder / "summary.json").read_text())["episodes"] == 3
        return
    if command == "report" and shape == "hardlink" and name != "run.json":
        assert code == 0, output  # reading a hard-linked file changes nothing; its lines are checked as any
        return
    if command == "resume" and shape == "hardlink" and name == "summary.json":
        assert code == 0, output  # replaced by a rename: the other name keeps the old bytes
        return
    assert code == 2, output
    [message] = output.strip().splitlines()
    assert message.startswith("error:") and name in message, output
    assert snapshot(run_folder) == before


def test_a_folder_holding_records_but_no_run_is_left_alone(tmp_path, foreign):
    out = tmp_path / "notes"
    out.mkdir()
    shutil.copy(foreign, out / "episodes.jsonl")  # ends with a torn line, which a resume would cut off
    before = snapshot(out)
    for args in (["report", str(out)], [*RUN_ARGS, "--out", str(out)]):
        code, output = invoke(args)
        assert code == 2 and output.count("\n") == 1, output
        assert snapshot(out) == before


@pytest.mark.parametrize(
    "make", [lambda p: p.write_text("a file"), lambda p: p.symlink_to(p.parent / "missing"), os.mkfifo]
)
def test_an_output_path_that_is_not_a_folder(tmp_path, make: Callable[[Path], None]):
    out = tmp_path / "out"
    make(out)
    before = snapshot(tmp_path)
    for args in (["report", str(out)], [*RUN_ARGS, "--out", str(out)]):
        code, output = invoke(args)
        assert code == 2 and output.count("\n") == 1, output
        assert "is not a folder" in output or "holds no run" in output  # a dangling link names nothing to read
    assert snapshot(tmp_path) == before


def test_a_lock_file_of_garbage_does_not_block(run_folder):
    (run_folder / "run.lock").write_bytes(b"\xff" * 10_000)  # no process holds it
    code, output = invoke([*RUN_ARGS, "--out", str(run_folder)])
    assert code == 0, output
    assert not (run_folder / "run.lock").exists()


@pytest.mark.parametrize("option", ["--markdown", "--json", "--png"])
def test_report_outputs_that_cannot_be_written(template, tmp_path, option):
    if option == "--png":
        pytest.importorskip("matplotlib")
    (tmp_path / "folder").mkdir()
    code, output = invoke(["report", str(template), option, str(tmp_path / "folder")])
    assert code == 1 and lines_with(output, "error:") == [f"error: cannot write {tmp_path / 'folder'}: Is a directory"]
    assert os.listdir(tmp_path / "folder") == [] and sorted(os.listdir(tmp_path)) == ["folder"]
