"""ETO's settings in one place: the paper's and its script's defaults, per benchmark, all overridable.

Sources: the ETO paper (Song et al., ACL 2024) and its repository's scripts: SFT lr 2e-5 (``run_eto.sh``; the
paper says 1e-5), batch 64, 3 epochs, 3% warmup, cosine; DPO batch 32, 3 epochs, ``constant_with_warmup`` (10%),
sigmoid loss, β 0.1 / lr 1e-6 in iteration 1 and β 0.5 / lr 5e-7 after; max length 4096; iterations 2 (WebShop,
ScienceWorld) and 1 (ALFWorld); step caps WebShop 10, ALFWorld 40, ScienceWorld per task (the env applies ETO's
per-task caps itself); the rejected trajectory is cut to the expert's length + 5 rounds on WebShop and
ScienceWorld only.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from agentgym.baselines.eto.agent import PROTOCOLS as ETO_PROTOCOLS
from agentgym.error import SettingError
from agentgym.runner.run_settings import MAX_SEED, MAX_STEPS, MAX_WORKERS
from agentgym.validate import number, optional_integer


@dataclass(frozen=True)
class EnvDefaults:
    """ETO's per-benchmark choices.

    Attributes:
        train_split: the split whose tasks are imitated and explored.
        test_split: the split the result is evaluated on (printed in the final hint).
        iterations: explore-pairs-DPO rounds (paper §4.3).
        max_steps: step cap of expert and explored episodes (``None``: the env's registered cap).
        truncate_rejected: cut the rejected trajectory to the expert's length + ``rejected_extra_rounds``.
        env_kwargs: ``gymnasium.make`` arguments of ETO's setting.
    """

    train_split: str = "train"
    test_split: str = "test"
    iterations: int = 1
    max_steps: int | None = None
    truncate_rejected: bool = True
    env_kwargs: dict[str, Any] = field(default_factory=dict)


#: ETO's setting per benchmark; Game of 24 is not in the paper (one iteration, the env's cap).
ENV_DEFAULTS: dict[str, EnvDefaults] = {
    "webshop": EnvDefaults("train", "eto_test", 2, 10, True, {"goals": "human", "catalog": "full"}),
    "sciworld": EnvDefaults("eto_train", "eto_unseen", 2, None, True),
    "alfworld": EnvDefaults("train", "valid_unseen", 1, 40, False),
    "game24": EnvDefaults("train", "test", 1, None, True),
}


#: Integer settings and their ranges (``None`` where a field may be unset).
_INTEGERS = (
    ("limit", 1, None),
    ("max_steps", 1, MAX_STEPS),
    ("iterations", 1, 100),
    ("rejected_extra_rounds", 0, MAX_STEPS),
    ("workers", 0, MAX_WORKERS),
    ("max_length", 1, None),
    ("micro_batch", 1, None),
    ("lora_r", 1, None),
    ("lora_alpha", 1, None),
    ("sft_batch", 1, None),
    ("dpo_batch", 1, None),
    ("seed", 0, MAX_SEED),
)
#: Ratio settings, in [0, 1].
_NUMBERS = (("lora_dropout", 0, 1), ("sft_warmup", 0, 1), ("dpo_warmup", 0, 1))


@dataclass(frozen=True)
class ETOSettings:
    """Everything a pipeline run depends on; ``--set KEY=VALUE`` overrides any field.

    Attributes:
        env: the benchmark's short name (``alfworld``) or gymnasium id.
        base_model: a transformers folder or a ``.gguf`` file (default: the embedded SmolLM2-135M).
        train_split: see :class:`EnvDefaults`; ``None`` takes the env's default.
        limit: use only the first ``limit`` training tasks (``None``: all).
        max_steps: step cap of episodes (``None``: the env default above, else the registered cap).
        iterations: explore-pairs-DPO rounds (``None``: the env default).
        truncate_rejected: see :class:`EnvDefaults` (``None``: the env default).
        rejected_extra_rounds: rounds the rejected trajectory may exceed the expert's by.
        env_kwargs: ``gymnasium.make`` arguments (``None``: the env default).
        agent: the agent whose conversations are trained on and which explores and is evaluated: ``eto`` (ETO's
            layout: instruction and in-context example as chat turns, ETO's files; this project's instruction and
            an expert example, ``prompts=agentgym``, on a benchmark ETO did not run) or ``react``.
        agent_settings: the agent's settings, the same for exported conversations, exploration and evaluation.
        workers: env worker processes of the expert and exploration runs.
        explore_backend: ``embedded`` (CPU, in process) or ``sglang`` (GPU engine) for exploration.
        dtype: ``auto`` (bf16 on a GPU, fp32 on CPU), ``float32``, ``bfloat16`` or ``float16``; always passed
            explicitly when loading (ETO issue #7).
        max_length: tokens per training sequence (longer ones are cut at the end).
        micro_batch: sequences per forward pass; the rest of a batch is gradient accumulation.
        gradient_checkpointing: trade compute for memory (7B/8B models).
        lora: train LoRA adapters (peft) and merge them into each saved checkpoint.
        lora_r: LoRA rank.
        lora_alpha: LoRA alpha.
        lora_dropout: LoRA dropout.
        sft_lr: SFT learning rate.
        sft_epochs: SFT epochs.
        sft_batch: SFT sequences per optimizer step.
        sft_warmup: SFT warmup ratio (cosine schedule).
        dpo_beta: DPO β of iteration 1, then of later iterations.
        dpo_lr: DPO learning rate of iteration 1, then of later iterations.
        dpo_epochs: DPO epochs per iteration.
        dpo_batch: pairs per optimizer step.
        dpo_warmup: DPO warmup ratio (``constant_with_warmup``).
        seed: training and run seed.
    """

    env: str
    base_model: str | None = None
    train_split: str | None = None
    limit: int | None = None
    max_steps: int | None = None
    iterations: int | None = None
    truncate_rejected: bool | None = None
    rejected_extra_rounds: int = 5
    env_kwargs: dict[str, Any] | None = None
    agent: str = "eto"
    agent_settings: dict[str, Any] = field(default_factory=dict)
    workers: int = 1
    explore_backend: str = "embedded"
    dtype: str = "auto"
    max_length: int = 4096
    micro_batch: int = 1
    gradient_checkpointing: bool = False
    lora: bool = False
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    sft_lr: float = 2e-5
    sft_epochs: float = 3.0
    sft_batch: int = 64
    sft_warmup: float = 0.03
    dpo_beta: tuple[float, float] = (0.1, 0.5)
    dpo_lr: tuple[float, float] = (1e-6, 5e-7)
    dpo_epochs: float = 3.0
    dpo_batch: int = 32
    dpo_warmup: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        """Check every number (:class:`~agentgym.error.SettingError`); one ``dpo_beta`` or ``dpo_lr`` sets both."""
        for key in ("dpo_beta", "dpo_lr"):
            value = getattr(self, key)
            values = [value] * 2 if isinstance(value, int | float) else value
            if isinstance(values, str) or not isinstance(values, list | tuple) or len(values) != 2:
                raise SettingError(f"{key} takes one number or two (iteration 1, later iterations), got {value!r}")
            object.__setattr__(self, key, tuple(number(key, v, above=0) for v in values))
        if self.base_model is not None and (not isinstance(self.base_model, str) or not self.base_model.strip()):
            raise SettingError(f"base_model must name a model folder or .gguf file, got {self.base_model!r}")
        for key, low, high in _INTEGERS:
            optional_integer(key, getattr(self, key), low=low, high=high)
        for key, low, high in _NUMBERS:
            number(key, getattr(self, key), low=low, high=high)
        number("sft_epochs", self.sft_epochs, above=0)
        number("dpo_epochs", self.dpo_epochs, above=0)
        number("sft_lr", self.sft_lr, above=0)

    def resolved(self, env_name: str) -> ETOSettings:
        """These settings with every ``None`` env-dependent field filled from :data:`ENV_DEFAULTS`."""
        defaults = ENV_DEFAULTS.get(env_name, EnvDefaults())
        fill = {
            "train_split": defaults.train_split,
            "max_steps": defaults.max_steps,
            "iterations": defaults.iterations,
            "truncate_rejected": defaults.truncate_rejected,
            "env_kwargs": dict(defaults.env_kwargs),
        }
        resolved = dataclasses.replace(self, **{k: v for k, v in fill.items() if getattr(self, k) is None})
        if self.agent == "eto" and env_name not in ETO_PROTOCOLS and "prompts" not in self.agent_settings:
            resolved = dataclasses.replace(resolved, agent_settings={**self.agent_settings, "prompts": "agentgym"})
        return resolved

    def beta(self, iteration: int) -> float:
        """DPO β of ``iteration`` (1-based)."""
        return self.dpo_beta[0] if iteration == 1 else self.dpo_beta[1]

    def dpo_learning_rate(self, iteration: int) -> float:
        """DPO learning rate of ``iteration`` (1-based)."""
        return self.dpo_lr[0] if iteration == 1 else self.dpo_lr[1]

    def with_overrides(self, overrides: dict[str, Any]) -> ETOSettings:
        """Return a copy with ``overrides`` applied; a single number for ``dpo_beta``/``dpo_lr`` sets both.

        Raises:
            SettingError: (a ValueError) for an unknown key.
        """
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise SettingError(f"unknown ETO settings {unknown}; known: {', '.join(sorted(known))}")
        return dataclasses.replace(self, **overrides)

    def to_json(self) -> dict[str, Any]:
        """The settings as a JSON-ready dict."""
        return dataclasses.asdict(self)
