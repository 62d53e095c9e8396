"""MaxScore pruning returns exactly what the exhaustive scorer returns: same documents, scores and order.

The pruned path normally starts at PRUNE_MIN_POSTINGS postings; here it is forced on every query, also with a
deliberately poor threshold seed (one clause, few documents), so every bound and tie rule is exercised.
"""

import itertools
import json
import random
from pathlib import Path

import numpy as np
import pytest

from agentgym.envs.webshop import search
from agentgym.envs.webshop.search import SearchIndex

from .test_search import _query, _query_texts

DATA = Path(__file__).with_name("data")
# A poor seed (one clause) often has fewer than k documents: the search then runs exhaustively.
SEEDINGS = {"default seed": {}, "poor seed": {"_SEED_POSTINGS": 1, "_SEED_DOCS": 1}}
PRUNED_REFERENCE_QUERIES = {"default seed": 500, "poor seed": 50}


@pytest.fixture(params=list(SEEDINGS))
def always_prune(request, monkeypatch):
    monkeypatch.setattr(search, "PRUNE_MIN_POSTINGS", 0)
    for name, value in SEEDINGS[request.param].items():
        monkeypatch.setattr(search, name, value)
    return request.param


def _assert_same(index: SearchIndex, queries: list[str], ks: tuple[int, ...]) -> int:
    """Assert pruned == exhaustive for every query and k; return for how many queries pruning dropped documents."""
    pruned_away = 0
    for query in queries:
        for k in ks:
            assert index.scored(query, k) == index.scored(query, k, exhaustive=True), (query, k)
        clauses = index._clauses(query)
        found = index._prune(clauses, ks[0])
        pruned_away += found is not None and len(found[0]) < len(index._score(clauses)[0])
    return pruned_away


def test_pruned_equals_exhaustive_on_the_reference_queries(index, always_prune):
    data = _query_texts()
    queries = [_query(e["source"], data) for e in json.loads((DATA / "lucene_top10_1k.json").read_text())["queries"]]
    assert len(queries) == 738
    assert _assert_same(index, queries, (50, 10)) > PRUNED_REFERENCE_QUERIES[always_prune]


def _adversarial_index(rng: random.Random) -> SearchIndex:
    """Documents over a small Zipf vocabulary: many exact duplicates (ties), near-ties, a term in every document."""
    vocabulary = [f"w{i}" for i in range(40)]
    weights = [1 / (i + 1) for i in range(len(vocabulary))]
    texts = []
    for _ in range(3000):
        if texts and rng.random() < 0.3:
            texts.append(rng.choice(texts))  # an identical document: equal scores, ranked by id
        else:
            words = rng.choices(vocabulary, weights, k=rng.randint(1, 25))
            texts.append(" ".join(["everywhere", *words]))
    texts += ["tie tie shoe"] * 120 + ["tie shoe"] * 10  # 120 equal scores across rank 50
    ids = rng.sample(range(10**6), len(texts))  # ids in another order than indexing: ties are decided by id
    return SearchIndex.build([(f"P{i:06d}", text) for i, text in zip(ids, texts, strict=True)])


def _adversarial_queries(rng: random.Random) -> list[str]:
    vocabulary = [f"w{i}" for i in range(40)]
    queries = ["tie shoe", "tie", "shoe tie tie", "the of and", "unknownword w1", "everywhere", "everywhere w0"]
    queries += [f"w{i}" for i in range(0, 40, 3)]  # one-term queries, huge to small document frequency
    for _ in range(150):
        words = rng.choices(vocabulary, k=rng.randint(2, 9))
        words += rng.choices(words, k=rng.randint(0, 3))  # repeated terms: boosted clauses
        if rng.random() < 0.3:
            words.append("everywhere")  # a term in every document: an idf near zero
        if rng.random() < 0.2:
            words.append("the")
        rng.shuffle(words)
        queries.append(" ".join(words))
    return queries


def test_pruned_equals_exhaustive_on_adversarial_queries(always_prune):
    rng = random.Random(17)
    index = _adversarial_index(rng)
    assert _assert_same(index, _adversarial_queries(rng), (50, 1, 10, 200)) > 100


def test_ties_at_rank_50_are_decided_by_id_when_pruning(always_prune):
    rng = random.Random(5)
    index = _adversarial_index(rng)
    top = index.scored("tie shoe")
    assert len({score for _, score in top}) == 1  # the 120 copies of "tie tie shoe" tie across rank 50
    assert [doc_id for doc_id, _ in top] == sorted(doc_id for doc_id, _ in top)
    assert top == index.scored("tie shoe", exhaustive=True)


def test_pruning_is_skipped_when_it_cannot_pay(index):
    clauses = index._clauses("red cotton dress")
    assert sum(c.hi - c.lo for c in clauses) < search.PRUNE_MIN_POSTINGS
    assert index._prune(clauses, 50) is None
    assert index._prune(index._clauses("dress"), 50) is None  # one clause: its own postings are the ranking


def test_scores_equal_only_after_rounding_to_single_precision_are_ties(always_prune):
    """Sums in double that differ but round to one single-precision score tie, so the id decides, at rank k."""
    rng = random.Random(3)
    terms = ["alpha", "beta", "gamma", "delta", "omega", "sigma"]
    texts = [
        " ".join([t for term in terms for t in [term] * rng.randint(0, 3)] + ["filler"] * rng.randint(0, 200))
        for _ in range(8000)
    ]
    ids = [f"D{i:07d}" for i in rng.sample(range(10**7), len(texts))]
    index = SearchIndex.build(list(zip(ids, texts, strict=True)))
    query = " ".join(terms)
    ranking = index.scored(query, len(texts), exhaustive=True)
    clauses = index._clauses(query)
    position = {doc_id: i for i, doc_id in enumerate(ids)}
    docs = np.array(sorted(position[doc_id] for doc_id, _ in ranking))
    double = dict(zip(docs.tolist(), sum(index._lookup(c, docs).astype(np.float64) for c in clauses), strict=True))
    rounding_ties = [
        rank + 1
        for rank, ((a, score_a), (b, score_b)) in enumerate(itertools.pairwise(ranking))
        if score_a == score_b and double[position[a]] != double[position[b]]
    ]
    assert len(rounding_ties) >= 3
    for k in rounding_ties[:20]:  # rank k splits documents whose sums differ before rounding
        assert index._prune(clauses, k) is not None
        assert index.scored(query, k) == ranking[:k]
