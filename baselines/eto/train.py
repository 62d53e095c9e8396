"""ETO's two trainers, on ``trl``: SFT on the assistant turns, and trajectory-level DPO on them.

trl's ``SFTTrainer`` takes the conversations pre-tokenized with an ``assistant_masks`` column
(:mod:`~agentgym.baselines.eto.tokenize`), so the loss covers the ``Thought/Action`` replies only.

trl 1.16's ``DPOTrainer`` tokenizes a conversational pair as prompt + completion and trains on every token
of the completion: with multi-turn ``chosen``/``rejected`` sides, the observations (user turns) between the
agent's replies would count in the log-probabilities. :class:`MaskedDPOTrainer` feeds it pre-tokenized pairs
and a collator whose ``completion_mask`` covers the assistant tokens only, which is ETO's trajectory-level
DPO: the summed log-probabilities of the agent's replies, observations masked. The reference model is the
policy being improved (the previous checkpoint), loaded apart (or, with LoRA, the model with its adapters
off). Models are loaded with an explicit dtype (ETO issue #7: results depended on it).

Every saved checkpoint is a plain transformers folder (config, safetensors, tokenizer with its chat
template): ``--policy embedded:PATH`` loads it on CPU, ``--policy sglang:PATH`` serves it on a GPU; LoRA
adapters are merged into it first.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentgym.baselines.eto.conversations import to_messages
from agentgym.baselines.eto.settings import ETOSettings
from agentgym.baselines.eto.tokenize import tokenize_pair, tokenize_sft
from agentgym.error import DependencyNotInstalled, import_optional


@dataclass(frozen=True)
class TrainResult:
    """What a training stage reports.

    Attributes:
        loss_before: the loss on the training data before training (DPO: ln 2, policy = reference).
        loss_after: the loss on the same data after training.
        steps: optimizer steps taken.
        examples: training examples.
    """

    loss_before: float
    loss_after: float
    steps: int
    examples: int


def _imports() -> tuple[Any, Any, Any, Any]:
    # Everything is local: no hub lookups, no telemetry.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    try:
        import datasets
        import torch
        import transformers
        import trl
    except ImportError as e:
        raise DependencyNotInstalled(e.name or "trl", "eto") from e
    return torch, transformers, trl, datasets


def torch_dtype(name: str) -> Any:
    """The torch dtype for a settings name (``auto``: bf16 on a GPU, fp32 on CPU)."""
    torch, *_ = _imports()
    if name == "auto":
        return torch.bfloat16 if torch.cuda.is_available() else torch.float32
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def load_model(path: Path, settings: ETOSettings) -> tuple[Any, Any]:
    """Load a checkpoint folder's model (explicit dtype) and tokenizer (with a pad token)."""
    from agentgym.policies.embedded import _default_threads

    torch, transformers, _, datasets = _imports()
    threads = _default_threads()  # one thread on a machine that is already busy
    if threads and not torch.cuda.is_available():
        torch.set_num_threads(threads)
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    datasets.disable_progress_bars()
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = transformers.AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype(settings.dtype))
    return model, tokenizer


def save_checkpoint(model: Any, tokenizer: Any, target: Path) -> Path:
    """Save a standard transformers folder at ``target`` atomically (merging LoRA adapters first)."""
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-"))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _common_args(settings: ETOSettings, out: Path, batch: int, examples: int) -> dict[str, Any]:
    torch, transformers, *_ = _imports()
    cuda = torch.cuda.is_available()
    micro = max(1, min(settings.micro_batch, examples))
    dtype = torch_dtype(settings.dtype)
    # transformers 5.24 renamed gradient checkpointing to activation checkpointing.
    fields = {f.name for f in dataclasses.fields(transformers.TrainingArguments)}
    checkpointing = "activation_checkpointing" if "activation_checkpointing" in fields else "gradient_checkpointing"
    return {
        checkpointing: settings.gradient_checkpointing,
        "output_dir": str(out),
        "per_device_train_batch_size": micro,
        "per_device_eval_batch_size": micro,
        "gradient_accumulation_steps": max(1, math.ceil(min(batch, examples) / micro)),
        "bf16": cuda and dtype == torch.bfloat16,
        "use_cpu": not cuda,
        "max_length": settings.max_length,
        "logging_steps": 1,
        "save_strategy": "no",
        "report_to": [],
        "seed": settings.seed,
        "dataloader_num_workers": 0,
        "disable_tqdm": True,
    }


def warmup_steps(ratio: float, examples: int, batch: int, epochs: float) -> int:
    """Warmup steps for ``ratio`` of the run, rounded down.

    transformers rounds a ratio up, so a run of a few optimizer steps would spend its first (or only) step at
    learning rate 0; at the paper's scale (~150 SFT steps) both give the same few steps.
    """
    steps_per_epoch = math.ceil(examples / max(1, min(batch, examples)))
    return int(ratio * math.ceil(steps_per_epoch * epochs))


def _lora(settings: ETOSettings) -> Any:
    if not settings.lora:
        return None
    peft = import_optional("peft", "eto")
    return peft.LoraConfig(
        r=settings.lora_r,
        lora_alpha=settings.lora_alpha,
        lora_dropout=settings.lora_dropout,
        target_modules="all-linear",
        task_type="CAUSAL_LM",
    )


def sft(model_path: Path, items: list[dict[str, Any]], settings: ETOSettings, target: Path) -> TrainResult:
    """Fine-tune ``model_path`` on the conversations ``items`` (assistant turns only); save it to ``target``."""
    _, _, trl, datasets = _imports()
    if not items:
        raise ValueError("no expert trajectories to fine-tune on")
    model, tokenizer = load_model(model_path, settings)
    rows = [tokenize_sft(tokenizer, to_messages(item["conversations"]), settings.max_length) for item in items]
    data = datasets.Dataset.from_list(rows)
    with tempfile.TemporaryDirectory(prefix="eto-sft-") as work:
        config = trl.SFTConfig(
            **_common_args(settings, Path(work), settings.sft_batch, len(rows)),
            learning_rate=settings.sft_lr,
            num_train_epochs=settings.sft_epochs,
            lr_scheduler_type="cosine",
            warmup_steps=warmup_steps(settings.sft_warmup, len(rows), settings.sft_batch, settings.sft_epochs),
            packing=False,
        )
        trainer = trl.SFTTrainer(
            model=model,
            args=config,
            train_dataset=data,
            eval_dataset=data,
            processing_class=tokenizer,
            peft_config=_lora(settings),
        )
        loss_before, output, loss_after = _train(trainer)
        save_checkpoint(trainer.model, tokenizer, target)
    del trainer, model
    _free_memory()
    return TrainResult(loss_before, loss_after, output.global_step, len(rows))


def _free_memory() -> None:
    """Give the trainer's memory back (on a GPU, before an inference engine starts on the checkpoint)."""
    import gc

    torch, *_ = _imports()
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _train(trainer: Any) -> tuple[float, Any, float]:
    """The loss on the training data, training, and the loss again (quietly: the caller reports)."""
    import transformers

    trainer.remove_callback(transformers.trainer_callback.PrinterCallback)
    before = trainer.evaluate()["eval_loss"]
    output = trainer.train()
    return before, output, trainer.evaluate()["eval_loss"]


def _preference_collator(trl: Any) -> Any:
    base = trl.trainer.dpo_trainer.DataCollatorForPreference

    class MaskedPreferenceCollator(base):
        """trl's preference collator, with a ``completion_mask`` of the assistant tokens only."""

        def torch_call(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
            import torch

            output = super().torch_call(examples)
            width = output["completion_mask"].shape[1]
            masks = []
            for side in ("chosen", "rejected"):
                for example in examples:
                    mask = ([0] * len(example["prompt_ids"]) + example[f"{side}_mask"])[: self.max_length]
                    masks.append(mask + [0] * (width - len(mask)))
            output["completion_mask"] = torch.tensor(masks, dtype=torch.long)
            return output

    return MaskedPreferenceCollator


def _masked_dpo_trainer(trl: Any) -> Any:
    class MaskedDPOTrainer(trl.DPOTrainer):
        """trl's DPOTrainer on pairs tokenized by :func:`tokenize_pair` (kept as they are)."""

        def _prepare_dataset(self, dataset: Any, processing_class: Any, args: Any, dataset_name: str) -> Any:
            return dataset

    return MaskedDPOTrainer


def dpo(
    model_path: Path, pairs: list[dict[str, Any]], settings: ETOSettings, iteration: int, target: Path
) -> TrainResult:
    """One DPO round on ``pairs``, the reference being ``model_path`` itself; save the policy to ``target``."""
    _, _, trl, datasets = _imports()
    if not pairs:
        raise ValueError("no contrastive pairs to train on")
    model, tokenizer = load_model(model_path, settings)
    lora = _lora(settings)
    reference = None if lora is not None else load_model(model_path, settings)[0]
    rows = [
        tokenize_pair(tokenizer, to_messages(p["prompt"]), to_messages(p["chosen"]), to_messages(p["rejected"]))
        for p in pairs
    ]
    # Pairs whose prompt fills max_length have no trained token left: drop them, as trl does.
    rows = [row for row in rows if len(row["prompt_ids"]) < settings.max_length]
    if not rows:
        raise ValueError(f"every pair's prompt is longer than max_length={settings.max_length}")
    data = datasets.Dataset.from_list(rows)
    with tempfile.TemporaryDirectory(prefix="eto-dpo-") as work:
        config = trl.DPOConfig(
            **_common_args(settings, Path(work), settings.dpo_batch, len(rows)),
            beta=settings.beta(iteration),
            learning_rate=settings.dpo_learning_rate(iteration),
            num_train_epochs=settings.dpo_epochs,
            lr_scheduler_type="constant_with_warmup",
            warmup_steps=warmup_steps(settings.dpo_warmup, len(rows), settings.dpo_batch, settings.dpo_epochs),
            loss_type=["sigmoid"],
            truncation_mode="keep_start",
            remove_unused_columns=False,
        )
        collator = _preference_collator(trl)(pad_token_id=tokenizer.pad_token_id, max_length=settings.max_length)
        trainer = _masked_dpo_trainer(trl)(
            model=model,
            ref_model=reference,
            args=config,
            train_dataset=data,
            eval_dataset=data,
            processing_class=tokenizer,
            data_collator=collator,
            peft_config=lora,
        )
        loss_before, output, loss_after = _train(trainer)
        save_checkpoint(trainer.model, tokenizer, target)
    del trainer, model, reference
    _free_memory()
    return TrainResult(loss_before, loss_after, output.global_step, len(rows))
