"""Registers every agentgym env id with gymnasium (``import agentgym`` calls :func:`register_envs`).

Entry points are ``"module:Class"`` strings, so registering imports no benchmark code: a benchmark's
dependencies load only when its env is made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium


@dataclass(frozen=True)
class EnvEntry:
    """One registered env id.

    Attributes:
        env_id: the gymnasium id, ``agentgym/<Name>-v<N>``.
        entry_point: ``"module:Class"`` of the env.
        max_episode_steps: the step cap the papers use (overridable in ``gymnasium.make``).
        short_name: the name the CLI accepts (``agentgym run game24``).
        extra: the pip extra the env needs (``None`` for the core install).
        kwargs: default constructor arguments.
        worker_episodes: the runner recycles an env worker process after this many episodes (``None``: never),
            for envs whose dependencies leak memory per task.
        worker_memory_mb: the runner recycles a worker whose resident memory exceeds this (``None``: never).
    """

    env_id: str
    entry_point: str
    max_episode_steps: int
    short_name: str
    extra: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    worker_episodes: int | None = None
    worker_memory_mb: int | None = None


ENVS: tuple[EnvEntry, ...] = (
    EnvEntry("agentgym/Game24-v0", "agentgym.envs.game24.env:Game24Env", 20, "game24"),
    EnvEntry(
        "agentgym/Game24OneShot-v0",
        "agentgym.envs.game24.env:Game24Env",
        1,
        "game24-oneshot",
        kwargs={"one_shot": True},
    ),
    EnvEntry("agentgym/WebShop-v0", "agentgym.envs.webshop.env:WebShopEnv", 15, "webshop", extra="webshop"),
    EnvEntry(
        "agentgym/WebShopBrowser-v0",
        "agentgym.envs.webshop.browser:WebShopBrowserEnv",
        15,
        "webshop-browser",
        extra="webshop",
        worker_episodes=200,
    ),
    # 200: ETO's envStepLimit; the env itself truncates at ETO's per-task limits (info["max_steps"]).
    EnvEntry(
        "agentgym/ScienceWorld-v0",
        "agentgym.envs.sciworld.env:ScienceWorldEnv",
        200,
        "sciworld",
        extra="sciworld",
    ),
    # 50 steps: ReAct's and Reflexion's ALFWorld budget. textworld's global memo cache grows ~0.5 MB per
    # distinct game (envs/alfworld/README.md): 500 train episodes keep a worker at ~340 MB in the first half of
    # the split, ~690 MB in the second (benchmarks/soak.py); the 1 GB cap catches the planner's peaks.
    EnvEntry(
        "agentgym/ALFWorld-v0",
        "agentgym.envs.alfworld.env:ALFWorldEnv",
        50,
        "alfworld",
        extra="alfworld",
        worker_episodes=500,
        worker_memory_mb=1024,
    ),
)


class RetryableReset(gymnasium.Wrapper, gymnasium.utils.RecordConstructorArgs):
    """The outermost wrapper of every agentgym env made by ``gymnasium.make``: a first reset that raised can be retried.

    Gymnasium's ``PassiveEnvChecker`` (which ``make`` applies) marks its first reset as checked before calling
    it. When that reset raises (an unknown task id, missing data), the checker keeps no reset data, and every
    later ``step`` fails inside the checker with a ``TypeError``: the env is unusable. On a reset that raises
    before any reset succeeded, this wrapper sets the checkers beneath it back to "first reset not checked", so
    the next reset is checked (and recorded) as the first one.
    """

    def __init__(self, env: gymnasium.Env) -> None:
        """Wrap ``env``."""
        gymnasium.utils.RecordConstructorArgs.__init__(self)
        gymnasium.Wrapper.__init__(self, env)
        self._reset_succeeded = False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        """``env.reset``; if it raises before any reset succeeded, the env checker forgets its first reset."""
        try:
            result = self.env.reset(seed=seed, options=options)
        except BaseException:
            if not self._reset_succeeded:
                for checker in _env_checkers(self.env):
                    checker.checked_reset = False
            raise
        self._reset_succeeded = True
        return result


def _env_checkers(env: gymnasium.Env) -> list[gymnasium.wrappers.PassiveEnvChecker]:
    checkers = []
    while isinstance(env, gymnasium.Wrapper):
        if isinstance(env, gymnasium.wrappers.PassiveEnvChecker):
            checkers.append(env)
        env = env.env
    return checkers


def register_envs() -> None:
    """Register every env of :data:`ENVS` with gymnasium (idempotent), each wrapped in :class:`RetryableReset`."""
    guard = gymnasium.envs.registration.WrapperSpec(
        "RetryableReset", f"{__name__}:{RetryableReset.__name__}", kwargs={}
    )
    for entry in ENVS:
        if entry.env_id in gymnasium.registry:
            continue
        gymnasium.register(
            id=entry.env_id,
            entry_point=entry.entry_point,
            max_episode_steps=entry.max_episode_steps,
            kwargs=dict(entry.kwargs),
            additional_wrappers=(guard,),
        )


def resolve_env_id(name: str) -> str:
    """Map a CLI name (``game24``, ``Game24-v0`` or a full id) to the id of one of agentgym's text envs.

    Raises:
        KeyError: naming agentgym's short names when nothing matches, or when ``name`` is another gymnasium
            env (``CartPole-v1``): the runner plays agentgym's text envs only.
    """
    by_name = {e.short_name: e.env_id for e in ENVS}
    ids = set(by_name.values())
    candidates = (name, by_name.get(name.lower(), ""), f"agentgym/{name}")
    found = next((candidate for candidate in candidates if candidate in ids), None)
    if found is not None:
        return found
    known = ", ".join(sorted(by_name))
    if name in gymnasium.registry:
        raise KeyError(f"{name!r} is not one of agentgym's text envs; known: {known}")
    raise KeyError(f"unknown env {name!r}; known: {known}")


def entry_for(env_id: str) -> EnvEntry | None:
    """Return the registration entry of an agentgym env id, or ``None`` for other ids."""
    return next((e for e in ENVS if e.env_id == env_id), None)
