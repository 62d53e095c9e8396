"""ETO's settings and the pipeline's input checks."""

from __future__ import annotations

import pytest

from agentgym.baselines.eto.pipeline import Pipeline
from agentgym.baselines.eto.settings import ETOSettings


def test_paper_defaults_per_env():
    alfworld = ETOSettings("alfworld").resolved("alfworld")
    assert (alfworld.iterations, alfworld.max_steps, alfworld.truncate_rejected) == (1, 40, False)
    webshop = ETOSettings("webshop").resolved("webshop")
    assert (webshop.iterations, webshop.max_steps, webshop.truncate_rejected) == (2, 10, True)
    assert ETOSettings("sciworld").resolved("sciworld").train_split == "eto_train"
    assert (webshop.beta(1), webshop.dpo_learning_rate(1)) == (0.1, 1e-6)
    assert (webshop.beta(2), webshop.dpo_learning_rate(3)) == (0.5, 5e-7)
    assert ETOSettings("webshop", iterations=5).resolved("webshop").iterations == 5


def test_overrides():
    settings = ETOSettings("game24").with_overrides({"dpo_beta": 0.2, "sft_lr": 1e-4})
    assert settings.dpo_beta == (0.2, 0.2) and settings.sft_lr == 1e-4
    with pytest.raises(ValueError, match="unknown ETO settings"):
        ETOSettings("game24").with_overrides({"learning_rate": 1})
    with pytest.raises(ValueError, match="one number or two"):
        ETOSettings("game24", dpo_lr=(1, 2, 3))


def test_bad_inputs_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown"):
        Pipeline(ETOSettings("no-such-env"), tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        Pipeline(ETOSettings("game24", base_model=str(tmp_path / "missing")), tmp_path)
    with pytest.raises(FileNotFoundError, match=r"config\.json"):
        Pipeline(ETOSettings("game24", base_model=str(tmp_path)), tmp_path)
    with pytest.raises(ValueError, match="no split"):
        Pipeline(ETOSettings("game24", train_split="dev"), tmp_path)


def test_warmup_rounds_down_so_short_runs_train():
    from agentgym.baselines.eto.train import warmup_steps

    assert warmup_steps(0.03, 3118, 64, 3) == 4  # the paper's ALFWorld SFT: 147 steps
    assert warmup_steps(0.1, 1000, 32, 3) == 9
    assert warmup_steps(0.03, 4, 64, 1) == 0  # one step: at the full learning rate
