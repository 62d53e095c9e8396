"""Demonstrations and the reflection example come from the runner's expert runs, and match a plain replay of the env."""

import asyncio

import gymnasium
import pytest

import agentgym
from agentgym.agent import RunSetup
from agentgym.baselines.demos import MAX_DEMO_OBSERVATION, demonstrations
from agentgym.baselines.prompts import demo_thought, task_group
from agentgym.baselines.reflexion import ReflexionAgent
from agentgym.wrappers.truncate import truncate_text
from tests.support.policies import ScriptedPolicy


def replayed_demonstrations(setup: RunSetup, groups, shots: int) -> dict:
    """Each group's demonstrations as text, the expert replayed on one env with ``gymnasium.make`` and ``step``.

    The rule: the group's first ``4 * shots`` training tasks, in order, played until ``2 * shots`` were won;
    the ``shots`` shortest transcripts of the wins.
    """
    env = gymnasium.make(setup.env_id, **setup.env_kwargs)
    try:
        pool = env.unwrapped.tasks.split("train")
        found = {}
        for group in groups:
            wins = []
            for task_id in [t for t in pool if task_group(setup.env_name, t) == group][: 4 * shots]:
                observation, info = env.reset(options={"task_id": task_id})
                lines = [f"Observation: {truncate_text(observation, MAX_DEMO_OBSERVATION)}"]
                done = False
                while not done and (action := env.unwrapped.expert_action()) is not None:
                    lines += [f"Thought: {demo_thought(setup.env_name, observation, action)}", f"Action: {action}"]
                    observation, _, terminated, truncated, info = env.step(action)
                    lines.append(f"Observation: {truncate_text(observation, MAX_DEMO_OBSERVATION)}")
                    done = terminated or truncated
                if info["won"]:
                    wins.append((task_id, "\n".join(lines)))
                if len(wins) == 2 * shots:
                    break
            found[group] = sorted(wins, key=lambda win: len(win[1]))[:shots]
        return found
    finally:
        env.close()


def replayed_failure(setup: RunSetup, task_id: str, action: str) -> str:
    """The reflection example's transcript: the first observation, then ``action`` stepped 4 times."""
    env = gymnasium.make(setup.env_id, **setup.env_kwargs)
    try:
        lines = [env.reset(options={"task_id": task_id})[0]]
        for _ in range(4):
            lines += [f"Action: {action}", f"Observation: {env.step(action)[0]}"]
        return "\n".join(lines)
    finally:
        env.close()


def check_against_a_replay(setup: RunSetup, shots: int) -> None:
    groups = sorted({task_group(setup.env_name, t) for t in setup.task_ids}, key=str) or [None]
    made = asyncio.run(demonstrations(setup, groups, shots=shots))
    expected = replayed_demonstrations(setup, groups, shots)
    assert {g: [(d.task_id, d.as_text()) for d in ds] for g, ds in made.items()} == expected
    assert expected and all(expected.values())
    # Reflexion's example: the first demonstration's first action, repeated, as a failing transcript.
    example = asyncio.run(ReflexionAgent.factory(ScriptedPolicy(str), setup))().example
    demo = next(ds[0] for ds in made.values() if ds)
    action = demo.steps[0][1]
    assert example.transcript == truncate_text(replayed_failure(setup, demo.task_id, action), 6000, keep="tail")
    assert example.plan.startswith(f"I repeated '{action}'")


def test_game24_demonstrations_match_a_replay(shared_data, isolated_cache):
    check_against_a_replay(RunSetup("agentgym/Game24-v0", "game24", {}, "test", ("4 5 6 10",)), shots=2)


def test_alfworld_demonstrations_match_a_replay(shared_data, isolated_cache):
    pytest.importorskip("alfworld")
    env = gymnasium.make("agentgym/ALFWorld-v0")
    try:
        tasks = env.unwrapped.tasks.split("valid_unseen")
    finally:
        env.close()
    firsts = {}
    for task_id in tasks:
        firsts.setdefault(task_group("alfworld", task_id), task_id)
    chosen = tuple(firsts[g] for g in sorted(firsts, key=str)[:2])
    check_against_a_replay(RunSetup("agentgym/ALFWorld-v0", "alfworld", {}, "valid_unseen", chosen), shots=1)


def test_a_run_builds_its_demonstrations_in_its_own_event_loop_silently(tmp_path, capfd, shared_data, isolated_cache):
    """ReAct's demonstrations are played inside the run's event loop: no second lock, folder or progress bar."""
    out = tmp_path / "run"
    result = agentgym.evaluate("game24", "react", "expert", task_ids=["4 5 6 10"], workers=0, out=out, progress=False)
    assert result.summary["success_rate"] == 1.0 and result.records[0]["agent"]["demo_tasks"]
    assert sorted(p.name for p in out.iterdir()) == ["episodes.jsonl", "run.json", "summary.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "run"]
    captured = capfd.readouterr()
    assert captured.out == "" and "episodes" not in captured.err

    async def inside_a_loop():
        setup = RunSetup("agentgym/Game24-v0", "game24", {}, "test", ("4 5 6 10",))
        return await demonstrations(setup, [None], shots=3)

    assert len(asyncio.run(inside_a_loop())[None]) == 3


@pytest.mark.slow
@pytest.mark.parametrize(
    ("env_id", "env_name"), [("agentgym/WebShop-v0", "webshop"), ("agentgym/ScienceWorld-v0", "sciworld")]
)
def test_webshop_and_sciworld_demonstrations_match_a_replay(env_id, env_name, shared_data, isolated_cache):
    check_against_a_replay(RunSetup(env_id, env_name, {}, "test", ()), shots=1)
