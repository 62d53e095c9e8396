"""Executors: where episodes' envs run. The runner asks an executor for an env handle per episode.

Every executor keeps a pool of ``workers`` envs (:class:`PoolExecutor`); each env lives in a backend
(:class:`EnvBackend`: start, call, memory, close, kill) and the pool does the rest once: envs start lazily in free
slots, a broken one is killed and started again on next use, and one is recycled after ``recycle_episodes``
episodes or above ``recycle_memory_mb``. The backends: :class:`~agentgym.runner.worker.EnvWorker` (a process on
this machine: :class:`LocalExecutor`), :class:`InProcessEnv` (the calling process, ``--workers 0``: for debugging,
and for envs defined in a notebook: :class:`InProcessExecutor`) and a Ray actor
(:class:`~agentgym.runner.ray_executor.RayExecutor`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from typing import Any

from agentgym.error import SettingError, WorkerCrashed
from agentgym.runner.backend import EnvBackend, EnvConfig, call_env
from agentgym.runner.worker import EnvWorker

logger = logging.getLogger(__name__)

#: The executors :func:`make_executor` builds by name.
EXECUTORS = ("local", "ray")


class EnvHandle(ABC):
    """An env the runner may drive for one episode at a time."""

    @property
    @abstractmethod
    def name(self) -> str:
        """Where the env runs, for episode records (``local:<pid>``, ``in-process``, ...)."""

    @abstractmethod
    async def call(self, method: str, **kwargs: Any) -> Any:
        """Run ``reset``/``step``/``expert_action`` on the env and return the result."""


class Executor(ABC):
    """Hands out env handles; the runner holds at most ``capacity`` of them at once."""

    capacity: int

    @abstractmethod
    async def acquire(self) -> EnvHandle:
        """Wait for a free env and return its handle."""

    @abstractmethod
    async def release(self, handle: EnvHandle, *, broken: bool = False) -> None:
        """Give a handle back after an episode; ``broken`` means its env must be rebuilt before reuse."""

    @abstractmethod
    async def close(self) -> None:
        """Stop every env."""


class _Slot(EnvHandle):
    """One place in a pool: its backend, whether it runs, and the episodes it played since it started."""

    def __init__(self, backend: EnvBackend) -> None:
        self.backend = backend
        self.started = False
        self.episodes = 0

    @property
    def name(self) -> str:
        return self.backend.name

    async def call(self, method: str, **kwargs: Any) -> Any:
        return await self.backend.call(method, **kwargs)


class PoolExecutor(Executor):
    """Base of the executors: ``workers`` reusable envs, each in a backend that :meth:`new_backend` makes.

    Args:
        config: how each env is built.
        workers: number of envs (= episodes in flight).
        recycle_episodes: replace an env after this many episodes (``None``: never).
        recycle_memory_mb: replace an env whose process exceeds this resident memory after an episode.
        timeout_s: per-call limit; an env that exceeds it is killed (the episode is retried).

    Attributes:
        restarts: envs killed because they broke (crashed, timed out, or died after their episode).
        recycled: envs replaced because they were worn out or too big.
    """

    def __init__(
        self,
        config: EnvConfig,
        workers: int,
        *,
        recycle_episodes: int | None = None,
        recycle_memory_mb: float | None = None,
        timeout_s: float = 300.0,
    ) -> None:
        """Set up the pool; envs start lazily, in parallel, as episodes need them."""
        if workers < 1:
            raise SettingError(f"workers must be >= 1, got {workers}")
        self.capacity = workers
        self.recycle_episodes = recycle_episodes
        self.recycle_memory_mb = recycle_memory_mb
        self._config = config
        self._timeout_s = timeout_s
        self._idle: asyncio.Queue[_Slot | None] | None = None
        self._slots: list[_Slot] = []
        self.restarts = 0
        self.recycled = 0

    @abstractmethod
    def new_backend(self) -> EnvBackend:
        """A backend for one more slot (not started)."""

    def _queue(self) -> asyncio.Queue[_Slot | None]:
        """Idle slots, and ``None`` for each slot not made yet."""
        if self._idle is None:  # created inside the running loop
            self._idle = asyncio.Queue()
            for _ in range(self.capacity):
                self._idle.put_nowait(None)
        return self._idle

    async def acquire(self) -> EnvHandle:
        """Return an idle env, starting one in a free slot if needed."""
        slot = await self._queue().get()
        if slot is None:
            slot = _Slot(self.new_backend())
            self._slots.append(slot)
        if not slot.started:
            try:
                await slot.backend.start()
            except BaseException:
                slot.backend.kill()
                self._queue().put_nowait(slot)  # keep the slot; the next acquire retries the start
                raise
            slot.started, slot.episodes = True, 0
        return slot

    async def release(self, handle: EnvHandle, *, broken: bool = False) -> None:
        """Return an env to the pool, killing a broken one and recycling a worn-out or too big one first."""
        assert isinstance(handle, _Slot)
        handle.episodes += 1
        if broken:
            self._kill(handle)
        elif self.recycle_episodes is not None and handle.episodes >= self.recycle_episodes:
            await self._recycle(handle, f"after {handle.episodes} episodes")
        elif self.recycle_memory_mb is not None:
            try:
                memory = await handle.backend.memory_mb()
            except WorkerCrashed:  # it died after its episode: the next acquire starts another
                self._kill(handle)
            else:
                if memory is not None and memory > self.recycle_memory_mb:
                    await self._recycle(handle, f"at {memory:.0f} MB")
        self._queue().put_nowait(handle)

    def _kill(self, slot: _Slot) -> None:
        self.restarts += 1
        slot.backend.kill()
        slot.started = False

    async def _recycle(self, slot: _Slot, why: str) -> None:
        logger.info("recycling env worker %s %s", slot.name, why)
        self.recycled += 1
        await slot.backend.close()
        slot.started = False

    def worker_pids(self) -> list[int]:
        """Process ids of the running envs (on their machines)."""
        return [slot.backend.pid for slot in self._slots if slot.started and slot.backend.pid is not None]

    async def close(self) -> None:
        """Stop every env."""
        await asyncio.gather(*(slot.backend.close() for slot in self._slots))
        for slot in self._slots:
            slot.started = False


class LocalExecutor(PoolExecutor):
    """``workers`` env processes on this machine (arguments: see :class:`PoolExecutor`)."""

    def new_backend(self) -> EnvBackend:
        """A worker process (started by the pool)."""
        return EnvWorker(self._config, timeout_s=self._timeout_s)


class InProcessEnv(EnvBackend):
    """An env in the calling process, built on its first call (so an env that cannot be built fails its episode)."""

    pid = None

    def __init__(self, config: EnvConfig) -> None:
        """Keep the config; the env is built on first use."""
        self.config = config
        self.env: Any = None

    @property
    def name(self) -> str:
        """``in-process``."""
        return "in-process"

    async def start(self) -> None:
        """Nothing to start: the env is built on its first call."""

    async def call(self, method: str, **kwargs: Any) -> Any:
        """Run the call in a thread (the event loop goes on); the env's own exceptions are raised as they are."""
        if self.env is None:
            self.env = await asyncio.to_thread(self.config.make)
        return await asyncio.to_thread(call_env, self.env, method, kwargs)

    async def memory_mb(self) -> float | None:
        """``None``: the env shares this process's memory."""
        return None

    async def close(self) -> None:
        """Close the env."""
        self.kill()

    def kill(self) -> None:
        """Close the env (rebuilt on the next call)."""
        env, self.env = self.env, None
        if env is not None:
            with contextlib.suppress(Exception):  # best effort: a broken env may fail to close
                env.close()


class InProcessExecutor(PoolExecutor):
    """Envs in the calling process, one per concurrent episode (no isolation: a crash ends the run)."""

    def __init__(self, config: EnvConfig, workers: int = 1) -> None:
        """Keep up to ``workers`` envs."""
        super().__init__(config, max(1, workers))

    def new_backend(self) -> EnvBackend:
        """An env in this process."""
        return InProcessEnv(self._config)


def make_executor(
    kind: str,
    config: EnvConfig,
    workers: int,
    *,
    recycle_episodes: int | None = None,
    recycle_memory_mb: float | None = None,
    timeout_s: float = 300.0,
    ray_address: str | None = "auto",
) -> Executor:
    """Build the executor named ``kind``: ``local`` (processes here; in-process for ``workers=0``) or ``ray``."""
    if kind == "local":
        if workers == 0:
            return InProcessExecutor(config, 1)
        return LocalExecutor(
            config,
            workers,
            recycle_episodes=recycle_episodes,
            recycle_memory_mb=recycle_memory_mb,
            timeout_s=timeout_s,
        )
    if kind == "ray":
        from agentgym.runner.ray_executor import RayExecutor  # imports Ray: only when asked for

        return RayExecutor(
            config,
            max(1, workers),
            address=ray_address,
            recycle_episodes=recycle_episodes,
            recycle_memory_mb=recycle_memory_mb,
            timeout_s=timeout_s,
        )
    raise SettingError(f"unknown executor {kind!r}; use {' or '.join(map(repr, EXECUTORS))}")
