"""``await agentgym.aevaluate(...)``: the runner from inside a running event loop (Jupyter's case)."""

import asyncio

import pytest

import agentgym


def test_aevaluate_runs_inside_a_running_event_loop(tmp_path):
    async def notebook_cell():
        assert asyncio.get_running_loop().is_running()
        with pytest.raises(RuntimeError, match=r"use `await agentgym.aevaluate\(...\)`"):
            agentgym.evaluate("game24", split="test", limit=2, workers=0, progress=False)
        return await agentgym.aevaluate("game24", split="test", limit=2, workers=1, out=tmp_path, progress=False)

    result = asyncio.run(notebook_cell())
    assert result.summary["episodes"] == 2 and result.summary["success_rate"] == 1.0
    assert (tmp_path / "episodes.jsonl").read_text().count("\n") == 2
    assert "aevaluate" in agentgym.__all__
