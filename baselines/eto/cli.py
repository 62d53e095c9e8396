"""``agentgym eto``: the baselines plugin's command that trains an ETO policy (see :mod:`agentgym.baselines.plugin`)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from agentgym.cli import console, fail, parse_settings
from agentgym.error import Error


def eto(
    env: Annotated[str, typer.Argument(help="Env name or id (game24, alfworld, webshop, sciworld).")],
    out: Annotated[str, typer.Option(help="Output folder; rerunning resumes at the stage that did not finish.")],
    base_model: Annotated[str | None, typer.Option(help="Transformers folder or .gguf [default: embedded].")] = None,
    iterations: Annotated[int | None, typer.Option(help="Explore-pairs-DPO rounds [default: the paper's].")] = None,
    limit: Annotated[int | None, typer.Option(help="Use only the first N training tasks.")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Step cap per episode [default: the paper's].")] = None,
    workers: Annotated[int, typer.Option(help="Env worker processes of the expert and exploration runs.")] = 1,
    lora: Annotated[bool, typer.Option(help="Train LoRA adapters (merged into each checkpoint).")] = False,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Any ETO setting KEY=VALUE (repeatable).")] = None,
    progress: Annotated[bool, typer.Option(help="Show the runs' progress bars.")] = True,
) -> None:
    """Train an ETO policy: expert trajectories, SFT, then rounds of exploration, pairs and DPO."""
    from agentgym.baselines.eto.pipeline import Pipeline
    from agentgym.baselines.eto.settings import ETOSettings

    chosen = {"base_model": base_model, "iterations": iterations, "limit": limit, "max_steps": max_steps}
    overrides = {k: v for k, v in chosen.items() if v is not None} | {"workers": workers, "lora": lora}

    def log(line: str) -> None:
        console().print(line, markup=False, highlight=False)

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = ETOSettings(env).with_overrides({**overrides, **parse_settings(set_)})
    except Error as e:  # an unknown setting, a value of the wrong type
        fail(e)
    try:
        pipeline = Pipeline(settings, out, log=log, progress=progress)
        checkpoint = pipeline.run()
    except (Error, ValueError, FileNotFoundError) as e:
        fail(e)
    console().print(f"ETO policy: {checkpoint}\nevaluate it with:", markup=False, highlight=False)
    console().print(f"  {pipeline.eval_command(checkpoint)}", markup=False, highlight=False, soft_wrap=True)
