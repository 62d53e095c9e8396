"""Plugins: the core names no benchmark or baseline, a third-party plugin works end to end, one NameNotFound."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

import agentgym
from agentgym import data, plugins
from agentgym.agent import resolve_agent
from agentgym.cli import app
from agentgym.error import Error, NameNotFound
from agentgym.policies import make_policy
from agentgym.presets import preset
from agentgym.registry import ENVS, Registry, resolve_env_id
from agentgym.runner.ray_executor import actor_resources

CORE = Path(agentgym.__file__).parent
BENCHMARK_NAMES = re.compile(r"alfworld|webshop|sciworld|scienceworld|game24|game of 24|baselines", re.IGNORECASE)
BASELINE_AGENTS = {"react", "reflexion", "tot", "rafa", "cops", "eto"}


def _core_files() -> list[Path]:
    return [p for p in CORE.rglob("*") if p.suffix in (".py", ".md", ".txt", ".rst") and "__pycache__" not in p.parts]


def test_the_core_names_no_benchmark_and_no_baseline():
    hits = [
        f"{path.relative_to(CORE.parent)}:{number}: {line.strip()}"
        for path in _core_files()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if BENCHMARK_NAMES.search(line)
    ]
    assert not hits, "benchmark or baseline names in the core:\n" + "\n".join(hits)


def test_the_core_code_names_no_baseline_agent():
    """No string of the core's code (docstrings aside) is a baseline agent's name or starts with one."""
    hits = []
    for path in (p for p in _core_files() if p.suffix == ".py"):
        tree = ast.parse(path.read_text())
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                words = re.split(r"[-_:.\s]", node.value.lower())
                if words[0] in BASELINE_AGENTS:
                    hits.append(f"{path.relative_to(CORE.parent)}:{node.lineno}: {node.value!r}")
    assert not hits, "baseline agent names in the core's code:\n" + "\n".join(hits)


def test_the_bundled_plugins_are_collected():
    names = [plugin.name for plugin in plugins.collect()]
    assert names == ["alfworld", "baselines", "game24", "sciworld", "webshop"] and plugins.failures() == ()
    assert set(ENVS) >= {"agentgym/Game24-v0", "agentgym/ALFWorld-v0", "agentgym/WebShopBrowser-v0"}
    assert {"react", "reflexion-webshop", "expert", "direct"} <= set(resolve_agent.__globals__["AGENTS"])


def test_ray_actors_reserve_the_memory_of_the_env_rows():
    assert actor_resources("agentgym/ScienceWorld-v0") == (1.0, 768)
    assert actor_resources("agentgym/WebShopBrowser-v0") == (1.0, 1024)
    assert actor_resources("agentgym/ALFWorld-v0") == (1.0, 1024)
    assert actor_resources("agentgym/Game24-v0") == (1.0, None)


@pytest.mark.parametrize(
    ("lookup", "kind", "suggestion"),
    [
        (lambda: resolve_env_id("gam24"), "env", "game24"),
        (lambda: resolve_agent("raect"), "agent", "react"),
        (lambda: make_policy("embeded"), "policy", "embedded"),
        (lambda: preset("tot-gam24"), "preset", "tot-game24"),
        (lambda: data.download("promts"), "dataset", "prompts"),
    ],
)
def test_every_unknown_name_raises_name_not_found_with_suggestions(lookup, kind, suggestion):
    with pytest.raises(NameNotFound) as caught:
        lookup()
    error = caught.value
    assert isinstance(error, KeyError) and isinstance(error, Error)
    assert error.kind == kind and error.suggestions[0] == suggestion
    assert str(error).startswith(f"unknown {kind} ") and f"did you mean {suggestion!r}" in str(error)
    assert "\n" not in str(error)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "gam24"], "unknown env 'gam24'; did you mean 'game24'?"),
        (["run", "game24", "--agent", "raect"], "unknown agent 'raect'; did you mean 'react'"),
        (["run", "game24", "--agent", "direct", "--policy", "rnadom"], "did you mean 'random'?"),
        (["run", "--preset", "tot-gam24"], "unknown preset 'tot-gam24'; did you mean 'tot-game24'"),
        (["data", "download", "promts"], "unknown dataset 'promts'; did you mean 'prompts'?"),
    ],
)
def test_the_command_line_suggests_names(args, message, tmp_path):
    argv = [*args, "--out", str(tmp_path / "out")] if args[0] == "run" else args
    result = CliRunner().invoke(app, argv, terminal_width=300)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")


def test_registry_loads_lazy_entries_once_and_can_be_changed():
    registry = Registry("codec", {"json": "json:dumps"}, lazy=True)
    assert registry["json"] is json.dumps and registry["json"] is json.dumps
    registry["other"] = str
    assert sorted(registry) == ["json", "other"] and len(registry) == 2
    del registry["other"]
    with pytest.raises(NameNotFound, match=r"unknown codec 'jsno'; did you mean 'json'\? known: json"):
        registry["jsno"]


TOY_ENV = '''
from agentgym.core import TextEnv
from agentgym.task import Outcome, Setup, Task
from agentgym.tasks import TaskSet


class CountTask(Task):
    """Say the number after the one shown."""

    env_name = "toy-count"

    def __init__(self):
        self._number = None

    def task_set(self):
        ids = tuple(str(n) for n in range(5))
        return TaskSet(ids=ids, splits={"test": ids[:3], "train": ids[3:]}, default_split="test")

    def setup(self, task_id, options):
        self._number = int(task_id)
        instruction = f"Say the number after {task_id}."
        return Setup(instruction, instruction)

    def act(self, action):
        won = action.strip() == str(self._number + 1)
        return Outcome("Right." if won else "Wrong.", reward=float(won), done=True, won=won, score=float(won))

    def expert(self):
        return str(self._number + 1)


class CountEnv(TextEnv):
    """The toy task in the generic env."""

    def __init__(self, **settings):
        super().__init__(CountTask(), **settings)
'''

TOY_PLUGIN = """
from agentgym.data import Dataset, RemoteFile
from agentgym.plugins import Plugin
from agentgym.registry import EnvEntry

PLUGIN = Plugin(
    name="toy",
    envs=(EnvEntry("toybench/Count-v0", "toy_bench.env:CountEnv", 3, "toy-count"),),
    datasets=(Dataset("toy-numbers", "numbers", (RemoteFile("https://example.invalid/n.txt", "toy/n.txt", None),)),),
    agents={"toy-expert": "agentgym.agent:ExpertAgent"},
)
"""


def _distribution(root: Path, name: str, entry_points: str, modules: dict[str, str]) -> Path:
    """A throwaway installed distribution: ``NAME-1.0.dist-info`` (metadata, entry points) and its modules."""
    info = root / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[agentgym.plugins]\n{entry_points}\n")
    for module, source in modules.items():
        path = root / module
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    return root


@pytest.fixture
def toy_plugin(tmp_path, monkeypatch):
    """The toy distribution on sys.path (and PYTHONPATH, for subprocesses), its plugin collected."""
    root = _distribution(
        tmp_path / "site",
        "toy_bench",
        "toy = toy_bench.plugin",
        {"toy_bench/__init__.py": "", "toy_bench/env.py": TOY_ENV, "toy_bench/plugin.py": TOY_PLUGIN},
    )
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])))
    plugins.refresh()
    yield root
    monkeypatch.undo()
    plugins.refresh()


def test_a_third_party_plugin_works_through_gymnasium_and_evaluate(toy_plugin, tmp_path):
    import gymnasium

    assert "toy" in [plugin.name for plugin in plugins.collect()]
    env = gymnasium.make("toybench/Count-v0")
    observation, info = env.reset(options={"task_id": "2"})
    assert observation == "Say the number after 2." and info["env_name"] == "toy-count"
    assert env.step(env.unwrapped.expert_action())[1] == 1.0
    result = agentgym.evaluate("toy-count", agent="toy-expert", workers=0, progress=False, out=tmp_path / "run")
    assert result.summary["episodes"] == 3 and result.summary["success_rate"] == 1.0
    assert resolve_env_id("toybench/Count-v0") == "toybench/Count-v0"
    assert "toy-numbers" in data.DATASETS


def test_a_third_party_plugin_works_through_the_command_line(toy_plugin, tmp_path):
    """The installed command in a fresh process: the env is listed and played by worker processes."""
    out = tmp_path / "run"
    command = [sys.executable, "-m", "agentgym.cli"]
    listed = subprocess.run([*command, "list"], capture_output=True, text=True, timeout=120, check=True, env=os.environ)
    assert "toybench/Count-v0" in listed.stdout and "toy-count" in listed.stdout
    played = subprocess.run(
        [*command, "run", "toy-count", "--workers", "2", "--no-progress", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert played.returncode == 0, played.stderr
    assert json.loads((out / "summary.json").read_text())["success_rate"] == 1.0
    records = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    assert sorted(r["task_id"] for r in records) == ["0", "1", "2"] and all(
        r["worker"] != "in-process" for r in records
    )


def test_a_plugin_that_fails_to_import_is_named_in_one_line(tmp_path, monkeypatch):
    root = _distribution(
        tmp_path / "site",
        "broken_bench",
        "broken = broken_bench.plugin",
        {"broken_bench/plugin.py": "import nowhere\n"},
    )
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, "-m", "agentgym.cli", "run", "broken-env", "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert done.returncode == 2
    warning, error = done.stderr.splitlines()
    assert warning == (
        "plugin 'broken' (broken_bench.plugin) failed to load: ModuleNotFoundError: No module named 'nowhere'"
    )
    assert error.startswith("error: ") and "unknown env 'broken-env'" in error and warning in error
    works = subprocess.run(
        [sys.executable, "-c", "import agentgym, gymnasium; gymnasium.make('agentgym/Game24-v0')"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert works.returncode == 0 and works.stderr.count("\n") == 1, works.stderr


def test_two_plugins_declaring_one_name_is_an_error():
    with pytest.raises(Error, match="agent 'x' is declared by two plugins: 'a' and 'b'"):
        plugins.merge("agent", [("a", {"x": 1}), ("b", {"x": 2})])
