"""Env workers as Ray actors: the same runner, with envs spread over a Ray cluster (``--executor ray``).

:class:`RayExecutor` is the :class:`~agentgym.runner.executor.PoolExecutor` whose envs live in Ray actors
(:class:`RayActor`, its backend): one env per actor, ``workers`` actors (= episodes in flight, the run's
backpressure), each reused across episodes and recycled after ``recycle_episodes`` episodes or above
``recycle_memory_mb``. The driver (the process running :func:`~agentgym.runner.evaluate`) runs the agents and
the policy, sends ``reset``/``step`` calls to the actors, and writes every record as its episode ends, so
``episodes.jsonl``, ``summary.json`` and resuming are those of a local run.

Faults: an actor that dies (killed, out of memory, its node lost) or does not answer within ``timeout_s``
raises :class:`~agentgym.error.WorkerCrashed`, exactly as a crashed local worker does: the runner drops the
actor, starts a new one and retries the episode (up to ``max_retries``). An exception raised by the env itself
arrives as :class:`~agentgym.runner.backend.RemoteEnvError` with the actor's traceback.

Resources: each actor asks Ray for CPUs and memory (:func:`actor_resources`), so Ray places actors only where
they fit: one CPU each, and the memory of the env's registry row ``worker_memory_mb`` (its plugin's hint: Python
and any simulator the env runs beside it, such as a JVM or a browser).

Every node needs agentgym and the env's extra installed, and the benchmark data at ``AGENTGYM_DATA`` (the
driver's value is passed to the actors when set). Ray is imported only by this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from typing import Any

from agentgym.error import Error, WorkerCrashed, import_optional
from agentgym.runner.backend import EnvBackend, EnvConfig, RemoteEnvError, answer_call, process_memory_mb
from agentgym.runner.executor import PoolExecutor
from agentgym.runner.worker import START_TIMEOUT_S

logger = logging.getLogger(__name__)

#: Environment variables the driver passes on to the actors when they are set.
FORWARDED_ENV = ("AGENTGYM_DATA",)


def actor_resources(env_id: str) -> tuple[float, float | None]:
    """``(num_cpus, memory_mb)`` an env's actor asks Ray for (``None``: no memory reservation)."""
    from agentgym.registry import entry_for

    entry = entry_for(env_id)
    return 1.0, entry.worker_memory_mb if entry is not None else None


class RayUnavailable(Error, ConnectionError):
    """The Ray cluster given by ``address`` cannot be reached (or Ray is not running there)."""


class EnvActor:
    """The body of a Ray actor hosting one env (``ray.remote`` wraps it at run time)."""

    def __init__(self, config: EnvConfig) -> None:
        """Keep the config; :meth:`start` builds the env."""
        self.config = config
        self.env: Any = None

    def start(self) -> tuple[str, int]:
        """Build the env; return ``(node ip, pid)``, or raise the construction error."""
        import ray

        self.env = self.config.make()
        return ray.util.get_node_ip_address(), os.getpid()

    def call(self, method: str, kwargs: dict[str, Any]) -> tuple[str, Any]:
        """Run one env call (:func:`~agentgym.runner.backend.answer_call`)."""
        return answer_call(self.env, method, kwargs)

    def memory_mb(self) -> float | None:
        """Resident memory of this actor's process in MB (Linux only)."""
        return process_memory_mb()

    def close(self) -> None:
        """Close the env (stopping its simulator)."""
        if self.env is not None:
            with contextlib.suppress(Exception):  # best effort: the actor is killed next
                self.env.close()
            self.env = None


def _import_ray() -> Any:
    return import_optional("ray", "ray")


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast, with a message, when ``HOST:PORT`` does not accept connections (Ray would retry for minutes)."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        raise RayUnavailable(f"Ray address {address!r} is not HOST:PORT (or 'auto')")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as e:
        raise RayUnavailable(
            f"no Ray cluster at {address} ({e}); start one with `ray start --head` or check --address"
        ) from None


def connect(address: str | None) -> bool:
    """Connect this process to Ray (``None``: start a private one-machine instance); True if it was started here.

    Raises:
        RayUnavailable: the cluster cannot be reached.
        DependencyNotInstalled: Ray is not installed.
    """
    ray = _import_ray()
    if ray.is_initialized():
        return False
    if address not in (None, "auto", "local"):
        _check_reachable(address)
    try:
        ray.init(
            address=address,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.WARNING,
            configure_logging=False,
        )
    except ray.exceptions.AuthenticationError as e:
        raise RayUnavailable(
            f"the Ray cluster at {address} refused this process's token ({e}); give it the cluster's token "
            "(~/.ray/auth_token or RAY_AUTH_TOKEN), or use RAY_AUTH_MODE=disabled on every node and driver"
        ) from None
    except ConnectionError as e:
        raise RayUnavailable(f"cannot connect to Ray at {address}: {e}") from None
    return True


class RayActor(EnvBackend):
    """An env in a Ray actor, the Ray executor's backend: each :meth:`start` makes a new actor.

    Args:
        actor_class: ``ray.remote(EnvActor)`` with the actor's resource options.
        config: how the actor builds its env.
        timeout_s: per-call limit; an actor that exceeds it is killed.
    """

    def __init__(self, actor_class: Any, config: EnvConfig, timeout_s: float) -> None:
        """Keep the settings; :meth:`start` makes the actor."""
        self._actor_class = actor_class
        self._config = config
        self._timeout_s = timeout_s
        self._actor: Any = None
        self.where = "starting"
        self.pid: int | None = None

    @property
    def name(self) -> str:
        """``ray:<node ip>:<pid>``."""
        return f"ray:{self.where}"

    async def start(self) -> None:
        """Make an actor and build its env there."""
        self.where, self.pid = "starting", None
        self._actor = self._actor_class.remote(self._config)
        limit = max(self._timeout_s, START_TIMEOUT_S)
        try:
            node, pid = await self._guard("start", self._started(), limit)
        except WorkerCrashed as e:
            raise WorkerCrashed(f"{e} (does the cluster have the CPUs and memory an actor asks for free?)") from e
        self.where, self.pid = f"{node}:{pid}", pid

    async def _started(self) -> tuple[str, int]:
        try:
            return await self._actor.start.remote()
        except _import_ray().exceptions.RayTaskError as e:  # the env's constructor raised
            self.kill()
            cause = e.cause if isinstance(e.cause, BaseException) else e
            raise RemoteEnvError(type(cause).__name__, str(cause), str(e)) from None

    async def call(self, method: str, **kwargs: Any) -> Any:
        """Run the call in the actor."""
        if self._actor is None:
            raise WorkerCrashed(f"env actor for {self._config.env_id} is not running")
        status, payload = await self._guard(method, self._actor.call.remote(method, kwargs))
        if status == "error":
            raise RemoteEnvError(*payload)
        return payload

    async def memory_mb(self) -> float | None:
        """The actor process's resident memory, as it reads it."""
        if self._actor is None:
            return None
        return await self._guard("memory_mb", self._actor.memory_mb.remote())

    async def close(self) -> None:
        """Close the env in the actor (30 s at most), then kill the actor."""
        if self._actor is not None:
            with contextlib.suppress(WorkerCrashed):
                await self._guard("close", self._actor.close.remote(), 30.0)
        self.kill()

    def kill(self) -> None:
        """Kill the actor (no restart)."""
        actor, self._actor = self._actor, None
        if actor is not None:
            with contextlib.suppress(Exception):  # already dead, or Ray is gone
                _import_ray().kill(actor, no_restart=True)

    async def _guard(self, method: str, call: Any, timeout_s: float | None = None) -> Any:
        """Await an actor call; a timeout or a Ray failure kills the actor and raises ``WorkerCrashed``."""
        limit = self._timeout_s if timeout_s is None else timeout_s
        try:
            return await asyncio.wait_for(call, limit)
        except TimeoutError:
            self.kill()
            raise WorkerCrashed(
                f"env actor {self.where} for {self._config.env_id} did not answer {method} within {limit:.0f} s"
            ) from None
        except _import_ray().exceptions.RayError as e:
            self.kill()
            raise WorkerCrashed(
                f"env actor {self.where} for {self._config.env_id} failed during {method}: "
                f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
            ) from e


class RayExecutor(PoolExecutor):
    """``workers`` env actors on a Ray cluster.

    Args:
        config: how each actor builds its env.
        workers: number of actors (= episodes in flight).
        address: the cluster: ``"auto"`` (the one ``ray start`` started on this machine), ``"HOST:PORT"`` of
            its head, ``"ray://HOST:10001"`` (Ray Client), or ``None`` for a private instance on this machine.
            Ignored when this process already called ``ray.init``.
        recycle_episodes: replace an actor after this many episodes (``None``: never).
        recycle_memory_mb: replace an actor whose resident memory exceeds this after an episode.
        timeout_s: per-call limit; an actor that exceeds it is killed and the episode retried.
        num_cpus: CPUs Ray reserves per actor (default: :func:`actor_resources`).
        memory_mb: memory Ray reserves per actor (default: :func:`actor_resources`).
        runtime_env: a Ray runtime environment for the actors (``pip``, ``working_dir``, ``env_vars``...);
            the driver's ``AGENTGYM_DATA`` is added to its ``env_vars``.
    """

    def __init__(
        self,
        config: EnvConfig,
        workers: int,
        *,
        address: str | None = "auto",
        recycle_episodes: int | None = None,
        recycle_memory_mb: float | None = None,
        timeout_s: float = 300.0,
        num_cpus: float | None = None,
        memory_mb: float | None = None,
        runtime_env: dict[str, Any] | None = None,
    ) -> None:
        """Connect to the cluster; actors start lazily, as episodes need them."""
        super().__init__(
            config,
            workers,
            recycle_episodes=recycle_episodes,
            recycle_memory_mb=recycle_memory_mb,
            timeout_s=timeout_s,
        )
        self._owns_ray = connect(address)
        ray = _import_ray()
        env_vars = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
        runtime_env = dict(runtime_env or {})
        runtime_env["env_vars"] = {**env_vars, **runtime_env.get("env_vars", {})}
        default_cpus, default_memory_mb = actor_resources(config.env_id)
        memory_mb = default_memory_mb if memory_mb is None else memory_mb
        options: dict[str, Any] = {"num_cpus": num_cpus or default_cpus, "max_restarts": 0, "runtime_env": runtime_env}
        if memory_mb is not None:
            options["memory"] = int(memory_mb * 2**20)
        self._actor_class = ray.remote(EnvActor).options(**options)

    def new_backend(self) -> EnvBackend:
        """An actor slot (the actor is made when the pool starts it)."""
        return RayActor(self._actor_class, self._config, self._timeout_s)

    async def close(self) -> None:
        """Stop every actor; disconnect from Ray if this executor connected."""
        await super().close()
        if self._owns_ray:
            _import_ray().shutdown()
