import subprocess
import sys

import gymnasium
import pytest

import agentgym
from agentgym.registry import ENVS, resolve_env_id


def run_python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return result.stdout.strip()


def test_every_entry_is_registered_with_its_step_cap():
    for entry in ENVS:
        spec = gymnasium.spec(entry.env_id)
        assert spec.max_episode_steps == entry.max_episode_steps
        assert spec.entry_point == entry.entry_point


def test_register_envs_is_idempotent_and_gymnasium_accepts_the_module():
    agentgym.register_envs()
    gymnasium.register_envs(agentgym)
    assert sum(i.startswith("agentgym/") for i in gymnasium.registry) == len(ENVS)


def test_make_with_module_prefix_imports_agentgym_itself():
    out = run_python(
        "import gymnasium, sys; assert 'agentgym' not in sys.modules;"
        "env = gymnasium.make('agentgym:agentgym/Game24-v0'); print(type(env.unwrapped).__name__)"
    )
    assert out == "Game24Env"


def test_import_is_light():
    out = run_python(
        "import sys, agentgym; heavy = ['agentgym.envs.game24.env', 'agentgym.runner', 'rich', 'typer', 'torch'];"
        "print([m for m in heavy if m in sys.modules])"
    )
    assert out == "[]"


def test_max_episode_steps_is_overridable():
    env = gymnasium.make("agentgym/Game24-v0", max_episode_steps=3)
    env.reset(seed=0)
    truncated = [env.step("junk")[3] for _ in range(3)]
    assert truncated == [False, False, True]


@pytest.mark.parametrize(
    ("name", "env_id"),
    [
        ("game24", "agentgym/Game24-v0"),
        ("Game24-v0", "agentgym/Game24-v0"),
        ("agentgym/Game24-v0", "agentgym/Game24-v0"),
    ],
)
def test_resolve_env_id(name, env_id):
    assert resolve_env_id(name) == env_id


def test_resolve_env_id_unknown():
    with pytest.raises(KeyError, match=r"unknown env .chess.; known: .*game24"):
        resolve_env_id("chess")
