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
    for entry in ENVS.values():
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


ENV_MARKS = {"agentgym/ScienceWorld-v0": [pytest.mark.java], "agentgym/WebShopBrowser-v0": [pytest.mark.browser]}


@pytest.mark.parametrize(
    "env_id", [pytest.param(e.env_id, marks=ENV_MARKS.get(e.env_id, [])) for e in ENVS.values()], ids=lambda e: e
)
@pytest.mark.parametrize("checker", [None, False], ids=["default", "checker-forced-on"])
def test_a_first_reset_that_raised_leaves_the_env_usable(env_id, checker):
    """Gymnasium's env checker marks its first reset checked before it runs; a raising one broke every step."""
    try:
        env = gymnasium.make(env_id, disable_env_checker=checker)
    except ImportError as e:  # DependencyNotInstalled
        pytest.skip(f"{env_id}: {e}")
    try:
        with pytest.raises(ValueError, match="unknown reset option"):
            env.reset(options={"no such option": 1})
        with pytest.raises(KeyError):
            env.reset(options={"task_id": "no such task"})
        try:
            env.reset(seed=0)
        except FileNotFoundError as e:  # DataNotFound
            pytest.skip(f"{env_id}: {e}")
        for _ in range(3):  # the checker's first step, its step-to-step check, a plain step
            action = env.unwrapped.expert_action() or "look"
            observation, reward, terminated, truncated, info = env.step(action)
            assert isinstance(observation, str) and info["step"] >= 1
            if terminated or truncated:
                env.reset(seed=0)
    finally:
        env.close()
