import copy

import gymnasium
import pytest

import agentgym  # noqa: F401
from agentgym.spaces import MAX_TEXT_LENGTH, FreeText

SAMPLES = [
    "",
    "go to desk 1",
    "click[Buy Now]",
    "Größe: 中文 — ✓ 😀",
    "a\nb\tc",
    "\ud800 lone surrogate",
    "x" * 5000,
]


@pytest.mark.parametrize("text", SAMPLES)
def test_free_text_contains_any_string(text):
    assert FreeText().contains(text)


def test_free_text_rejects_non_strings_and_overlong():
    space = FreeText(max_length=10)
    assert not space.contains(b"bytes")
    assert not space.contains(None)
    assert not space.contains("x" * 11)


def test_sample_is_in_space_and_seeded():
    a, b = FreeText(seed=3), FreeText(seed=3)
    samples = [a.sample() for _ in range(50)]
    assert samples == [b.sample() for _ in range(50)]
    assert all(FreeText().contains(s) for s in samples)


def test_equality_pickle_and_repr():
    import pickle

    space = FreeText()
    assert pickle.loads(pickle.dumps(space)) == space
    assert space != FreeText(max_length=5)
    assert repr(space) == f"FreeText(max_length={MAX_TEXT_LENGTH})"


def test_shared_memory_codec_roundtrip():
    from gymnasium.vector.utils import create_shared_memory, read_from_shared_memory, write_to_shared_memory

    space = FreeText(max_length=64)
    memory = create_shared_memory(space, n=3)
    view = read_from_shared_memory(space, memory, n=3)
    for i, text in enumerate(["héllo 中文", "", "\ud800x"]):
        write_to_shared_memory(space, i, text, memory)
    assert tuple(view) == ("héllo 中文", "", "\ud800x")
    assert copy.deepcopy(view) == ("héllo 中文", "", "\ud800x")  # a plain tuple snapshot
    write_to_shared_memory(space, 1, "later", memory)
    assert view[1] == "later"  # a live view, like numpy buffers for Box spaces
    assert view[0:2] == ("héllo 中文", "later")


@pytest.mark.parametrize("vector_kwargs", [{}, {"shared_memory": True}, {"shared_memory": False}])
def test_async_vector_env_returns_real_observations(vector_kwargs):
    sync = gymnasium.make_vec("agentgym/Game24-v0", num_envs=2, vectorization_mode="sync")
    expected, _ = sync.reset(seed=[1, 2])
    venv = gymnasium.make_vec("agentgym/Game24-v0", num_envs=2, vectorization_mode="async", vector_kwargs=vector_kwargs)
    try:
        observations, infos = venv.reset(seed=[1, 2])
        assert tuple(observations) == tuple(expected)
        assert all("Input:" in o for o in observations)
        observations, *_ = venv.step(("Answer: 1 + 1 = 24", "nonsense"))
        steps, *_ = sync.step(("Answer: 1 + 1 = 24", "nonsense"))
        assert tuple(observations) == tuple(steps)
    finally:
        venv.close()
        sync.close()
