"""The embedded backend: SmolLM2-135M on CPU, batched, with a shared-prefix KV cache and choice constraints."""

from __future__ import annotations

import asyncio
import pickle

import pytest

from agentgym.error import PolicyError
from agentgym.policies import Request, Sampling, make_policy
from tests.policies.conftest import SYSTEM, chat


def test_generate_reports_text_usage_and_reason(embedded):
    [completion] = embedded.generate([chat("What is 2+3?", max_tokens=12)])
    assert completion.text.strip()
    assert completion.input_tokens > 10
    assert 1 <= completion.output_tokens <= 12
    assert completion.stop_reason in ("stop", "length")
    assert completion.latency_s > 0


def test_max_tokens_ends_with_length(embedded):
    [completion] = embedded.generate([chat("Write a long story about a dragon.", max_tokens=5)])
    assert completion.output_tokens == 5
    assert completion.stop_reason == "length"


def test_stop_string_cuts_the_text(embedded):
    [full] = embedded.generate([chat("Describe a kitchen.", max_tokens=16)])
    stop = full.text[len(full.text) // 2 :][:3]  # a string the greedy answer is known to contain
    assert len(stop) == 3, full.text
    [cut] = embedded.generate([chat("Describe a kitchen.", max_tokens=16, stop=("@@", stop))])
    assert cut.text == full.text[: full.text.index(stop)]
    assert cut.stop_reason == "stop"


def test_temperature_zero_is_deterministic(embedded):
    first = embedded.generate([chat("Name three fruits.", max_tokens=10)])[0].text
    second = embedded.generate([chat("Name three fruits.", max_tokens=10)])[0].text
    assert first == second


def test_seeded_sampling_repeats_and_n_gives_distinct_samples(embedded):
    request = chat("Tell me a story.", max_tokens=10, temperature=1.0, seed=7, n=3)
    first = embedded.generate([request])[0]
    second = embedded.generate([request])[0]
    assert len(first.texts) == 3
    assert first.texts == second.texts
    assert len(set(first.texts)) > 1
    other = embedded.generate([chat("Tell me a story.", max_tokens=10, temperature=1.0, seed=8, n=3)])[0]
    assert other.texts != first.texts


def test_choices_constrain_the_answer(embedded):
    choices = ["go to desk 1", "go to desk 10", "open drawer 2", "inventory"]
    requests = [
        Request([SYSTEM, {"role": "user", "content": "You are in a room with desks. Act."}], choices=choices),
        Request(
            [SYSTEM, {"role": "user", "content": "Pick one."}],
            Sampling(temperature=1.0, seed=1, n=4),
            choices=choices,
        ),
    ]
    completions = embedded.generate(requests)
    for completion in completions:
        assert all(text in choices for text in completion.texts), completion.texts


def test_concurrent_calls_are_batched_and_match_sequential_answers(embedded):
    questions = ["What is 2+3?", "Name a color.", "Where is Paris?", "Say hello.", "What is a cat?"]

    async def concurrently():
        return await asyncio.gather(*(embedded.agenerate([chat(q, max_tokens=8)]) for q in questions))

    seen = len(embedded.batch_sizes)
    batched = [c[0].text for c in asyncio.run(concurrently())]
    sizes = embedded.batch_sizes[seen:]
    assert max(sizes) > 1, sizes
    assert sum(sizes) == len(questions)
    sequential = [embedded.generate([chat(q, max_tokens=8)])[0].text for q in questions]
    assert batched == sequential


def test_shared_prefix_cache_is_reused_and_exact(embedded):
    long_system = {"role": "system", "content": "You play a text game. Reply with one action. " * 8}
    requests = [
        Request([long_system, {"role": "user", "content": observation}], Sampling(max_tokens=8))
        for observation in ("You see a key.", "You see a locked door.")
    ]
    hits, reused = embedded.stats["prefix_hits"], embedded.stats["prefix_tokens_reused"]
    cached = [embedded.generate([request])[0].text for request in requests + requests[:1]]
    assert embedded.stats["prefix_hits"] > hits  # the same prompt again
    assert embedded.stats["prefix_tokens_reused"] - reused >= 64  # the other prompt shares the system prompt
    embedded.prefix_cache = False
    try:
        uncached = [embedded.generate([request])[0].text for request in requests + requests[:1]]
    finally:
        embedded.prefix_cache = True
    assert cached == uncached


def test_bad_requests_raise_policy_error(embedded):
    with pytest.raises(PolicyError):
        embedded.generate([Request([])])


def test_make_policy_and_pickling(embedded):
    policy = make_policy("embedded")
    assert policy.name == "embedded"
    assert policy.config()["model"].endswith(".gguf")
    clone = pickle.loads(pickle.dumps(embedded))
    assert clone._model is None
    assert clone.generate([chat("Say hi.", max_tokens=3)])[0].output_tokens >= 1
    clone.close()
    with pytest.raises(PolicyError, match="does not exist"):
        make_policy("embedded:/nonexistent/model.gguf")
