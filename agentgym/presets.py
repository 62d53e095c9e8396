"""Presets: a paper's evaluation setting as one name, and the numbers the paper published for it.

``agentgym run --preset NAME`` plays the setting's env, split, step cap and trials with its agent and settings;
``agentgym report`` puts a run's numbers next to the published ones of its preset. Plugins declare presets
(:attr:`agentgym.plugins.Plugin.presets`); :data:`PRESETS` holds every installed plugin's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agentgym.registry import Registry, load_attribute


@dataclass(frozen=True)
class Published:
    """A number a paper reports for a preset's setting.

    Attributes:
        method: what was run (the paper's name for its method).
        model: the LLM behind it.
        metric: ``"success_rate"`` or ``"mean_score"`` (the run summary key it compares with).
        value: the number, as a fraction in [0, 1].
        source: where it comes from.
        trial: the trial the number is after (compared with ``success_by_trial[trial]``); ``None`` compares
            with the run's headline metric.
        by_trial: cumulative success after each trial, where the paper gives the curve.
    """

    method: str
    model: str
    metric: str
    value: float
    source: str
    trial: int | None = None
    by_trial: tuple[float, ...] = ()


@dataclass(frozen=True)
class Preset:
    """A paper's evaluation setting.

    Attributes:
        name: the ``--preset`` name.
        env_id: the env.
        split: the split the paper evaluates on.
        agent: the agent.
        max_steps: the paper's step cap.
        trials: attempts per task (multi-trial papers report cumulative success).
        agent_kwargs: agent settings the paper uses.
        env_kwargs: env settings the paper uses.
        limit: the paper's number of tasks, when it plays the first N of the split.
        published: the paper's numbers for this setting.
        notes: what a reader should know when comparing.
    """

    name: str
    env_id: str
    split: str
    agent: str
    max_steps: int
    trials: int = 1
    agent_kwargs: dict[str, Any] = field(default_factory=dict)
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    limit: int | None = None
    published: tuple[Published, ...] = ()
    notes: str = ""


def _declared() -> dict[str, Preset]:
    """Every plugin's presets, by name (each plugin's ``presets`` paths imported here)."""
    from agentgym.plugins import collect, merge

    def presets_of(path: str) -> dict[str, Preset]:
        declared = load_attribute(path)
        return dict(declared) if hasattr(declared, "keys") else {p.name: p for p in declared}

    return merge("preset", ((plugin.name, presets_of(path)) for plugin in collect() for path in plugin.presets))


#: Every installed plugin's presets, by name.
PRESETS: Registry[Preset] = Registry("preset", _declared)


def preset_arguments(name: str) -> dict[str, Any]:
    """The :func:`agentgym.evaluate` arguments of preset ``name`` (callers may override any of them)."""
    chosen = preset(name)
    return {
        "env_id": chosen.env_id,
        "agent": chosen.agent,
        "split": chosen.split,
        "max_steps": chosen.max_steps,
        "trials": chosen.trials,
        "limit": chosen.limit,
        "agent_kwargs": dict(chosen.agent_kwargs),
        "env_kwargs": dict(chosen.env_kwargs),
        "preset": chosen.name,
    }


def preset(name: str) -> Preset:
    """Return the preset ``name``.

    Raises:
        NameNotFound: (a KeyError) naming the closest and the known presets.
    """
    return PRESETS[name]
