"""The hostile-input corpus of the command line: every command and option of ``agentgym`` gets bad values.

Each case must end with a non-zero exit status, exactly one line on stderr (``error: ...``), no traceback, and
no file created, changed or removed anywhere in the test's world (its working folder, the files and folders it
passes, the data folder; folders left behind with no file in them do not count). The options are read from the typer app itself: a new option without cases here
fails :func:`test_every_command_and_option_has_hostile_cases`. Bad values are refused before any env or model
loads, so the whole corpus runs in seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from agentgym.cli import app
from agentgym.runner import evaluate

#: Strings that are no integers (every integer option shares one parser: the full list goes to --limit).
ALL_NOT_INTEGERS = ["nan", "inf", "-inf", "1e3", "1.5", "abc", "", "½", "٣", "0x10", "💥", "[bold]1[/bold]", "[/x]"]
NOT_INTEGERS = ["nan", "-inf", "1.5", "", "[/x]"]
#: What every text option gets.
GARBAGE_TEXT = ["", "[/x]", "[bold]x[/bold]", "💥\u202e", "nope"]

RUN = ["game24", "--limit", "1", "--max-steps", "1", "--workers", "0", "--no-progress", "--out", "{out}"]
RUN_DIRECT = [*RUN, "--agent", "direct", "--policy", "random"]
RUN_REACT = [*RUN, "--agent", "react", "--policy", "random"]
RUN_OPENAI = [*RUN, "--agent", "direct", "--policy", "openai:m@http://127.0.0.1:9"]
ETO = ["game24", "--out", "{out}"]
SGLANG = ["--backend", "sglang", "--model", "{dir}"]


def _values(base: list[str], option: str, values: list[str]) -> list[list[str]]:
    return [[*base, option, value] for value in values]


def _flag(base: list[str], option: str) -> list[list[str]]:
    return [[*base, f"{option}=1"], [*base, f"{option}=[/x]"]]


#: command path -> parameter name -> argument lists (after the command path) that must be refused.
CORPUS: dict[tuple[str, ...], dict[str, list[list[str]]]] = {
    ("list",): {"": [["extra"], ["--nope"]]},
    ("presets",): {"": [["extra"], ["[/x]"]]},
    ("data", "path"): {"": [["extra"]]},
    ("run",): {
        "env": [[env, "--out", "{out}"] for env in [*GARBAGE_TEXT, "CartPole", "../game24", "{file}"]] + [[]],
        "preset": _values(RUN, "--preset", GARBAGE_TEXT),
        "agent": _values(RUN, "--agent", [*GARBAGE_TEXT, "os:system", "agentgym.cli:app", "nope:Nope"]),
        "policy": _values(
            [*RUN, "--agent", "direct"],
            "--policy",
            [
                *GARBAGE_TEXT,
                "openai:m@127.0.0.1:9",
                "openai:m@HTTP//127.0.0.1:9",
                "openai:m@http://user:pw@127.0.0.1:9",
                "openai:m@ftp://127.0.0.1:9",
                "openai:m@http://127.0.0.1:99999",
                "openai:m@",
                "openai:@http://127.0.0.1:9",
                "openai:m",
                "sglang:m@127.0.0.1:9",
                "ray:0:embedded",
                "ray:-1:embedded",
                "ray:x:embedded",
                "ray:2:expert",
                "embedded:/nonexistent/model.gguf",
            ],
        ),
        "split": _values(RUN, "--split", GARBAGE_TEXT),
        "task_id": _values(RUN, "--task-id", [*GARBAGE_TEXT, "0\n1"]),
        "limit": _values(RUN, "--limit", ["0", "-1", *ALL_NOT_INTEGERS]),
        "episodes_per_task": [
            *_values(RUN, "--episodes-per-task", ["0", "-1", "100001", *NOT_INTEGERS]),
            [*RUN, "--episodes-per-task", "2", "--trials", "2"],
        ],
        "trials": _values(RUN, "--trials", ["0", "-1", "100001", *NOT_INTEGERS]),
        "workers": _values(RUN, "--workers", ["-1", "4097", "1000000000", *NOT_INTEGERS]),
        "executor": _values(RUN, "--executor", GARBAGE_TEXT),
        "address": _values(RUN, "--address", ["", "garbage", "[/x]", "10.0.0.1:6379"]),
        "max_steps": _values(RUN, "--max-steps", ["-1", "0", "100001", *NOT_INTEGERS]),
        "out": _values(RUN, "--out", ["", " ", "{file}", "{link}"]),
        "overwrite": _flag(RUN, "--overwrite"),
        "seed": _values(RUN, "--seed", ["-1", str(2**64), *NOT_INTEGERS]),
        "agent_arg": _values(RUN, "--agent-arg", ["x", "=1", "nope=1"])
        + _values(
            RUN_REACT,
            "--agent-arg",
            [
                "temperature=NaN",
                "temperature=Infinity",
                "temperature=-1",
                'temperature="hot"',
                "max_tokens=0",
                "max_tokens=1.5",
                "shots=-1",
                "shots=1000000000",
                'history="all"',
                "max_observation_chars=0",
                "resample_repeats=-1",
                "rewrites=[1]",
            ],
        ),
        "policy_arg": _values(RUN_DIRECT, "--policy-arg", ["x", "=1", "nope=1", "seed=NaN", "seed=-1", 'seed="7"'])
        + _values(
            RUN_OPENAI,
            "--policy-arg",
            [
                "concurrency=0",
                "concurrency=NaN",
                "concurrency=1e9",
                "timeout_s=NaN",
                "timeout_s=-Infinity",
                "timeout_s=0",
                "retry_timeout_s=Infinity",
                "retry_timeout_s=-1",
                "max_retries=-1",
                "max_retries=0.5",
                "extra_body=3",
                "api_key_env=3",
            ],
        ),
        "env_arg": _values(RUN, "--env-arg", ["x", "=1", "nope=1", "max_episode_steps=-1"])
        + _values(["sciworld", *RUN[1:]], "--env-arg", ["timeout_s=NaN", "step_limit=0", "jvm_heap_mb=-1"]),
        "progress": _flag(RUN, "--progress"),
        "debug": _flag(RUN, "--debug"),
    },
    ("eto",): {
        "env": [[env, "--out", "{out}"] for env in GARBAGE_TEXT],
        "out": [["game24"], ["game24", "--out", ""], ["game24", "--out", " "]],
        "base_model": _values(ETO, "--base-model", ["", "/nonexistent", "[/x]", "{dir}"]),
        "iterations": _values(ETO, "--iterations", ["0", "-1", "101", *NOT_INTEGERS]),
        "limit": _values(ETO, "--limit", ["0", "-1", *NOT_INTEGERS]),
        "max_steps": _values(ETO, "--max-steps", ["0", "-1", "100001", *NOT_INTEGERS]),
        "workers": _values(ETO, "--workers", ["-1", "4097", *NOT_INTEGERS]),
        "lora": _flag(ETO, "--lora"),
        "set_": _values(
            ETO,
            "--set",
            [
                "x",
                "=1",
                "nope=1",
                "dpo_beta=NaN",
                "dpo_beta=[1]",
                'dpo_lr="fast"',
                "sft_lr=-1",
                "sft_epochs=0",
                "lora_dropout=2",
                "seed=-1",
                "max_length=0",
                'agent_settings={"temperature": NaN}',
            ],
        ),
        "progress": _flag(ETO, "--progress"),
    },
    ("report",): {
        "runs": [[], ["/nonexistent"], ["{file}"], ["{dir}"], ["{dangling}"], ["[bold]x[/bold]"], [" "]],
        "markdown": _values(["{run}"], "--markdown", ["", "{dir}", "{missing}/r.md"]),
        "json_out": _values(["{run}"], "--json", ["", "{dir}", "{missing}/r.json"]),
        "png": _values(["{run}"], "--png", ["", "{dir}", "{missing}/r.png"]),
    },
    ("data", "download"): {
        "name": [[name] for name in [*GARBAGE_TEXT, "../prompts", "prompts/.."]] + [[]],
        "force": _flag(["prompts"], "--force"),
        "source": _values(["prompts"], "--from", ["", "{file}", "{dir}", "{link}", "{dangling}", "/nonexistent"]),
    },
    ("serve", "webshop"): {
        "host": _values([], "--host", ["", " ", "a b", "\x00"]),
        "port": _values([], "--port", ["0", "-1", "65536", *NOT_INTEGERS]),
        "catalog": _values([], "--catalog", GARBAGE_TEXT),
        "goals": _values([], "--goals", GARBAGE_TEXT),
    },
    ("serve", "policy"): {
        "backend": _values([], "--backend", GARBAGE_TEXT),
        "model": _values(["--backend", "sglang"], "--model", ["", "/nonexistent", "[/x]"])
        + _values(["--backend", "llamacpp"], "--model", ["/nonexistent.gguf"]),
        "host": _values(SGLANG, "--host", ["", " ", "a b"]),
        "port": _values(SGLANG, "--port", ["0", "-1", "65536", *NOT_INTEGERS]),
        "dp_size": _values(SGLANG, "--dp-size", ["0", "-1", "1025", *NOT_INTEGERS]),
        "router": _flag(SGLANG, "--router"),
    },
}


def _commands() -> dict[tuple[str, ...], set[str]]:
    """Every leaf command of the app, with its parameter names (``""`` for a command without any)."""
    found: dict[tuple[str, ...], set[str]] = {}

    def walk(command, path: tuple[str, ...]) -> None:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                walk(sub, (*path, name))
        else:
            found[path] = {p.name for p in command.params} or {""}

    walk(typer.main.get_command(app), ())
    return found


def test_every_command_and_option_has_hostile_cases():
    commands = _commands()
    assert set(commands) == set(CORPUS), "commands without hostile cases (or cases for removed ones)"
    for path, params in commands.items():
        assert set(CORPUS[path]) == params, f"agentgym {' '.join(path)}: options without hostile cases"
        assert all(CORPUS[path][name] for name in params)


CASES = [
    pytest.param(path, args, id=f"{' '.join(path)}|{name}|{' '.join(args)[-60:]!r}")
    for path, by_param in CORPUS.items()
    for name, cases in by_param.items()
    for args in cases
]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    """The files and folders the cases name: a garbage file, an empty folder, links, a finished run."""
    root = tmp_path_factory.mktemp("world")
    (root / "cwd").mkdir()
    (root / "data").mkdir()
    (root / "dir").mkdir()
    (root / "file").write_bytes(b"garbage\x00\xff\n[bold]x[/bold]")
    (root / "link").symlink_to(root / "file")
    (root / "dangling").symlink_to(root / "nowhere")
    evaluate("game24", limit=1, workers=0, out=root / "run", progress=False)
    return root


def _snapshot(root: Path) -> dict[str, tuple[int, int, str]]:
    """Every file, link and folder holding a file under ``root`` with its mode, size and (for links) target."""
    state = {}
    for path in [root, *root.rglob("*")]:
        if path.is_dir() and not path.is_symlink() and not any(p.is_file() or p.is_symlink() for p in path.rglob("*")):
            continue  # a folder with no file in it
        info = path.lstat()
        target = os.readlink(path) if path.is_symlink() else ""
        state[str(path.relative_to(root))] = (info.st_mode, info.st_size, target)
    return state


@pytest.fixture
def deadline():
    """Fail a case that does not end within 60 s (a server that started serving, a run that started playing)."""

    def expire(*_: object) -> None:
        raise TimeoutError("the command did not stop within 60 s: a hostile value was accepted")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize(("path", "args"), CASES)
def test_hostile_values_are_refused_in_one_line(path, args, world, monkeypatch, deadline):
    names = {
        "out": world / "out",
        "file": world / "file",
        "dir": world / "dir",
        "link": world / "link",
        "dangling": world / "dangling",
        "run": world / "run",
        "missing": world / "missing",
        "world": world,
    }
    argv = [*path, *(_filled(arg, names) for arg in args)]
    monkeypatch.chdir(world / "cwd")
    if path == ("data", "download"):
        monkeypatch.setenv("AGENTGYM_DATA", str(world / "data"))
    before = _snapshot(world)
    result = CliRunner().invoke(app, argv)
    assert result.exit_code != 0, f"accepted: agentgym {argv}\n{result.output}"
    assert isinstance(result.exception, SystemExit), f"{result.exception!r}"
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert _snapshot(world) == before, "the command changed files"


def _filled(arg: str, names: dict[str, Path]) -> str:
    for name, path in names.items():
        arg = arg.replace("{" + name + "}", str(path))
    return arg


@pytest.mark.parametrize("value", ["nan", "0"])
def test_the_installed_command_prints_the_same_one_line(value, tmp_path):
    """The real entry point (not the test runner) prints a click error and a setting error the same way."""
    command = [sys.executable, "-m", "agentgym.cli", "run", "game24", "--limit", value, "--out", str(tmp_path / "o")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ")
    assert "'--limit'" in done.stderr if value == "nan" else "limit must be an integer >= 1, got 0" in done.stderr
    assert not (tmp_path / "o").exists()
