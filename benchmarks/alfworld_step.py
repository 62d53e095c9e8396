"""ALFWorld step and reset cost: agentgym's env vs the raw alfworld/textworld engine, side by side.

"raw" is what ALFWorld's ``AlfredTWEnv`` runs underneath: textworld's ``PddlEnv`` wrapped in alfworld's
``AlfredDemangler``, ``load(game)`` then ``reset()``, then ``step(command)``. "agentgym" is
``gymnasium.make("agentgym/ALFWorld-v0")`` (with its checker/time-limit wrappers), stepped with the same
commands: a game's walkthrough mixed with other admissible commands and one invalid command. Games alternate
between the two so that machine load hits both alike. Target: the wrapper adds at most 5% to a step.

    AGENTGYM_DATA=/path/to/data python benchmarks/alfworld_step.py --games 10
"""

from __future__ import annotations

import argparse
import statistics
import time

import gymnasium
import textworld
from alfworld.agents.environment.alfred_tw_env import AlfredDemangler
from textworld.envs.pddl import PddlEnv

import agentgym  # noqa: F401  (registers the ids)


def raw_engine() -> AlfredDemangler:
    infos = textworld.EnvInfos(won=True, admissible_commands=True, extras=["walkthrough"])
    return AlfredDemangler(shuffle=False)(PddlEnv(infos))


def commands_for(raw: AlfredDemangler, game_file: str, extra: int) -> list[str]:
    """A game's walkthrough with ``extra`` other admissible commands and one invalid command mixed in."""
    raw.load(game_file)
    state = raw.reset()
    walkthrough = list(state["extra.walkthrough"])
    commands = []
    for i in range(extra):
        admissible = state["admissible_commands"]
        command = admissible[(7 * i + 3) % len(admissible)]
        commands.append(command)
        state, _, _ = raw.step(command)
    return ["jump around", *commands, *walkthrough]


def raw_start(raw: AlfredDemangler, game_file: str) -> None:
    raw.load(game_file)
    raw.reset()


def reset(env: gymnasium.Env, options: dict) -> None:
    env.reset(options=options)


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="valid_unseen")
    parser.add_argument("--games", type=int, default=10)
    parser.add_argument("--extra", type=int, default=15, help="non-walkthrough commands per game")
    args = parser.parse_args()

    env = gymnasium.make("agentgym/ALFWorld-v0", engine="textworld")
    env_adm = gymnasium.make("agentgym/ALFWorld-v0", admissible_actions=True, engine="textworld")
    base = env.unwrapped
    split_ids = base.tasks.split(args.split)
    task_ids = split_ids[:: max(1, len(split_ids) // args.games)][: args.games]
    raw = raw_engine()
    times: dict[str, list[float]] = {k: [] for k in ("raw reset", "env reset", "env reset again")}
    steps: dict[str, list[float]] = {"raw": [], "agentgym": [], "agentgym +admissible": []}
    for task_id in task_ids:
        game_file = str(base.task._store.game_file(task_id))
        commands = commands_for(raw, game_file, args.extra)
        options = {"task_id": task_id}
        times["raw reset"].append(timed(raw_start, raw, game_file))
        times["env reset"].append(timed(reset, env, options))
        times["env reset again"].append(timed(reset, env, options))
        env_adm.reset(options={"task_id": task_id})
        runners = [("raw", raw.step), ("agentgym", env.step), ("agentgym +admissible", env_adm.step)]
        for i, command in enumerate(commands):  # interleaved, one command at a time, in rotating order
            for name, step in runners[i % 3 :] + runners[: i % 3]:
                steps[name].append(timed(step, command))

    print(f"{len(task_ids)} {args.split} games, {len(steps['raw'])} steps each way\n")
    print(f"{'':<26} | {'median ms':>9} | {'mean ms':>8} | {'p90 ms':>7}")
    for name, values in [*times.items(), *((f"step {k}", v) for k, v in steps.items())]:
        ms = sorted(v * 1000 for v in values)
        p90 = ms[int(0.9 * (len(ms) - 1))]
        print(f"{name:<26} | {statistics.median(ms):>9.1f} | {statistics.fmean(ms):>8.1f} | {p90:>7.1f}")
    raw_mean = statistics.fmean(steps["raw"])
    raw_median = statistics.median(steps["raw"])
    for name in ("agentgym", "agentgym +admissible"):
        overhead = (statistics.fmean(steps[name]) - raw_mean) / raw_mean * 100
        # Same command, same game state: the paired difference cancels the cost of the command itself.
        paired = statistics.median(e - r for e, r in zip(steps[name], steps["raw"], strict=True))
        print(
            f"step overhead of {name}: means {overhead:+.1f}%, median paired difference "
            f"{paired * 1000:+.2f} ms = {paired / raw_median * 100:+.1f}% of the median raw step (target <= 5%)"
        )
    speedup = statistics.fmean(times["raw reset"]) / statistics.fmean(times["env reset"])
    print(f"first reset of a game: {speedup:.1f}x faster than raw load+reset")
    env.close()
    env_adm.close()


if __name__ == "__main__":
    main()
