import json

import gymnasium
import pytest
from gymnasium.wrappers import RecordEpisodeStatistics
from hypothesis import given
from hypothesis import strategies as st

import agentgym  # noqa: F401
from agentgym.wrappers import (
    ParseReActAction,
    ReActFormat,
    RecordTrajectory,
    TruncateObservation,
    Truncation,
    truncate_text,
)


@pytest.mark.parametrize(
    ("text", "thought", "action"),
    [
        ("Thought: hmm\nAction: go to desk 1", "hmm", "go to desk 1"),
        ("Think: plan\n\nAction: search[red shoes]\n", "plan", "search[red shoes]"),
        ("**Thought**: x\n**Action**: click[Buy Now]", "x", "click[Buy Now]"),
        ("Action: look\nAction: open drawer 1", "", "open drawer 1"),
        ("Thought 3: later\nAction 3: take mug 1 from desk 1", "later", "take mug 1 from desk 1"),
        ("go to desk 1\nmore text", "", "go to desk 1"),
        ("Thought: only thinking", "only thinking", ""),
        ("", "", ""),
    ],
)
def test_react_format_parse(text, thought, action):
    assert ReActFormat().parse(text) == (thought, action)


def test_react_format_strict_requires_an_action_line():
    assert ReActFormat(strict=True).parse("go to desk 1") == ("", "")


@given(st.text(max_size=300))
def test_react_format_parse_never_raises(text):
    thought, action = ReActFormat().parse(text)
    assert isinstance(thought, str) and isinstance(action, str) and "\n" not in action


@given(st.text(alphabet="ab :\n", max_size=40), st.text(alphabet="ab :", max_size=40))
def test_react_format_reads_back_what_it_writes(thought, action):
    written = ReActFormat(strict=True).write(thought.replace("\n", " "), action)
    assert ReActFormat(strict=True).parse(written)[1] == action.strip()


def test_parse_action_wrapper_composes_with_gymnasium_wrappers():
    env = RecordEpisodeStatistics(ParseReActAction(gymnasium.make("agentgym/Game24-v0")))
    env.reset(options={"task_id": "4 5 6 10"})
    *_, terminated, _, info = env.step("Thought: easy\nAction: Answer: (10 - 6) * 5 + 4 = 24")
    assert terminated and info["won"] and info["thought"] == "easy" and info["episode"]["r"] == 1.0


@given(st.text(max_size=3000), st.integers(1, 200), st.sampled_from(["head", "tail", "both"]))
def test_truncate_text_bounds(text, limit, keep):
    result = truncate_text(text, limit, keep)
    assert len(result) <= limit
    if len(text) <= limit:
        assert result == text


def test_truncate_keeps_the_requested_part():
    text = "A" * 100 + "B" * 100
    assert truncate_text(text, 60, "head").startswith("AAAA") and "characters cut" in truncate_text(text, 60)
    assert truncate_text(text, 60, "tail").endswith("BBBB")
    both = truncate_text(text, 60, "both")
    assert both.startswith("A") and both.endswith("B")


def test_truncate_observation_wrapper_and_validation():
    env = TruncateObservation(gymnasium.make("agentgym/Game24-v0", render_mode="ansi"), max_chars=40, keep="tail")
    observation, _ = env.reset(seed=0)
    full = env.render()  # the untruncated observation
    assert len(observation) <= 40 and len(full) > 40 and full.endswith(observation.split("] ", 1)[1])
    with pytest.raises(ValueError, match="max_chars must be >= 1, got 0"):
        TruncateObservation(gymnasium.make("agentgym/Game24-v0"), max_chars=0)
    with pytest.raises(ValueError, match="keep must be 'head', 'tail' or 'both', got 'middle'"):
        Truncation(10, keep="middle")  # type: ignore[arg-type]
    assert Truncation(60, "tail")("A" * 100 + "B" * 100) == truncate_text("A" * 100 + "B" * 100, 60, "tail")


def test_record_trajectory_to_jsonl(tmp_path):
    path = tmp_path / "t.jsonl"
    env = RecordTrajectory(gymnasium.make("agentgym/Game24-v0"), path)
    for task_id in ("4 5 6 10", "3 3 8 8"):
        observation, _ = env.reset(options={"task_id": task_id})
        terminated = False
        while not terminated:
            *_, terminated, _, _ = env.step(env.unwrapped.expert_action())
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["task_id"] for r in records] == ["4 5 6 10", "3 3 8 8"]
    assert all(r["won"] and r["num_steps"] == 4 for r in records) and records == env.episodes
    assert records[1]["steps"][0]["observation"] == records[1]["first_observation"]
    assert records[1]["steps"][1]["observation"] != records[1]["first_observation"]
