"""Seeded runs with a stochastic policy are reproducible: one command, the same actions, however it is scheduled."""

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from agentgym.policies import RandomPolicy, Request
from agentgym.runner import episode_seed, evaluate
from agentgym.runner.seeding import SeededPolicy

ROOT = Path(__file__).resolve().parents[2]
COMMAND = ["game24", "--policy", "random", "--split", "test", "--limit", "6", "--max-steps", "4"]


def actions(out: Path) -> dict[tuple[str, int], list[str]]:
    """Each episode's actions, by (task id, episode), from a run's records file."""
    records = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    return {(r["task_id"], r["episode"]): [step["action"] for step in r["steps"]] for r in records}


def run_cli(out: Path, *args: str) -> dict[tuple[str, int], list[str]]:
    command = [sys.executable, "-m", "agentgym.cli", "run", *COMMAND, "--out", str(out), "--no-progress", *args]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return actions(out)


def test_one_and_two_workers_play_the_same_actions(tmp_path):
    one = run_cli(tmp_path / "one", "--agent", "direct", "--seed", "7", "--workers", "1")
    two = run_cli(tmp_path / "two", "--agent", "direct", "--seed", "7", "--workers", "2")
    assert len(one) == 6 and all(len(steps) == 4 for steps in one.values())
    assert two == one
    assert run_cli(tmp_path / "other-seed", "--agent", "direct", "--seed", "8", "--workers", "2") != one


def test_an_agent_making_several_calls_per_step_is_reproducible(tmp_path):
    """Tree-of-Thoughts proposes, values and answers: several requests per step, each with its own seed."""
    tot = ["--agent", "tot", "--seed", "3"]
    one = run_cli(tmp_path / "one", *tot, "--workers", "1")
    assert run_cli(tmp_path / "two", *tot, "--workers", "2") == one


def test_the_order_in_which_requests_complete_does_not_matter(tmp_path):
    class Jittery(RandomPolicy):
        """The random policy, answering each batch after a random delay (from the OS, not from any seed)."""

        async def agenerate(self, requests):
            await asyncio.sleep(int.from_bytes(os.urandom(1), "little") / 5000)
            return self.generate(requests)

    settings = {"split": "test", "limit": 6, "max_steps": 4, "seed": 7, "progress": False}
    plain = evaluate("game24", "direct", RandomPolicy(), workers=1, out=tmp_path / "plain", **settings)
    jittery = evaluate("game24", "direct", Jittery(), workers=2, out=tmp_path / "jittery", **settings)
    assert jittery.summary["episodes"] == 6 and actions(tmp_path / "jittery") == actions(tmp_path / "plain")
    # The records and the run's card keep their old form: the episode's seed, the policy's own settings.
    assert [r["seed"] for r in plain.records] == [
        episode_seed(7, "agentgym/Game24-v0", r["task_id"], r["episode"]) for r in plain.records
    ]
    card = json.loads((tmp_path / "plain" / "run.json").read_text())
    assert card["seed"] == 7 and card["policy"] == {"backend": "random", "seed": 0}


def test_each_request_gets_its_own_seed_and_a_given_seed_is_kept():
    policy = SeededPolicy(RandomPolicy(), 7, "agentgym/Game24-v0", "1 1 4 6", 0)
    first = policy.seeded([Request([{"role": "user", "content": "a"}]) for _ in range(2)])
    policy.next_step()
    second = policy.seeded([Request([{"role": "user", "content": "a"}])])
    seeds = [r.sampling.seed for r in (*first, *second)]
    assert len(set(seeds)) == 3 and all(isinstance(s, int) and 0 <= s < 2**31 for s in seeds)
    again = SeededPolicy(RandomPolicy(), 7, "agentgym/Game24-v0", "1 1 4 6", 0)
    assert [r.sampling.seed for r in again.seeded(first)] == seeds[:2]  # requests with a seed keep it
    assert SeededPolicy(RandomPolicy(), 7, "agentgym/Game24-v0", "1 1 4 6", 1).seeded(first[:1])[0] is first[0]
    fresh = SeededPolicy(RandomPolicy(), 7, "agentgym/Game24-v0", "1 1 4 6", 1)
    assert fresh.seeded([Request([{"role": "user", "content": "a"}])])[0].sampling.seed not in seeds
