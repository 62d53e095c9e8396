"""Executors: where episodes' envs run. The runner asks an executor for an env handle per episode.

:class:`LocalExecutor` keeps ``workers`` env processes on this machine, restarts crashed ones and recycles
them after a number of episodes or above a memory limit; :class:`InProcessExecutor` runs envs in the calling
process (``--workers 0``: for debugging, and for envs defined in a notebook). A distributed executor
implements the same three coroutines.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from typing import Any

from agentgym.runner.worker import EnvConfig, EnvWorker

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


class _WorkerHandle(EnvHandle):
    def __init__(self, worker: EnvWorker) -> None:
        self.worker = worker

    @property
    def name(self) -> str:
        return f"local:{self.worker.pid}"

    async def call(self, method: str, **kwargs: Any) -> Any:
        return await self.worker.call(method, **kwargs)


class PoolExecutor(Executor):
    """Base of the executors that keep ``workers`` reusable envs, started lazily in free slots.

    Args:
        config: how each env is built.
        workers: number of envs (= episodes in flight).
        recycle_episodes: replace an env after this many episodes (``None``: never).
        recycle_memory_mb: replace an env whose process exceeds this resident memory after an episode.
        timeout_s: per-call limit; an env that exceeds it is killed (the episode is retried).
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
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.capacity = workers
        self.recycle_episodes = recycle_episodes
        self.recycle_memory_mb = recycle_memory_mb
        self._config = config
        self._timeout_s = timeout_s
        self._idle: asyncio.Queue[Any] | None = None
        self.restarts = 0
        self.recycled = 0

    def _queue(self) -> asyncio.Queue[Any]:
        """Idle handles, and ``None`` for each slot whose env has not started yet."""
        if self._idle is None:  # created inside the running loop
            self._idle = asyncio.Queue()
            for _ in range(self.capacity):
                self._idle.put_nowait(None)
        return self._idle


class LocalExecutor(PoolExecutor):
    """``workers`` env processes on this machine (arguments: see :class:`PoolExecutor`)."""

    def __init__(self, config: EnvConfig, workers: int, **settings: Any) -> None:
        """Set up the pool; processes start lazily, in parallel, as episodes need them."""
        super().__init__(config, workers, **settings)
        self._all: list[_WorkerHandle] = []

    async def acquire(self) -> EnvHandle:
        """Return an idle worker, starting one in a free slot if needed."""
        handle = await self._queue().get()
        if handle is None:
            handle = _WorkerHandle(EnvWorker(self._config, timeout_s=self._timeout_s))
            self._all.append(handle)
        if handle.worker.pid is None:
            try:
                await handle.worker.start()
            except BaseException:
                handle.worker.kill()
                self._queue().put_nowait(handle)  # keep the slot; the next acquire retries the start
                raise
        return handle

    async def release(self, handle: EnvHandle, *, broken: bool = False) -> None:
        """Return a worker to the pool, restarting or recycling it first when needed."""
        assert isinstance(handle, _WorkerHandle)
        worker = handle.worker
        worker.episodes += 1
        memory = worker.memory_mb()
        if broken:
            self.restarts += 1
            worker.kill()  # restarted lazily by the next acquire
        elif self.recycle_episodes is not None and worker.episodes >= self.recycle_episodes:
            await self._recycle(worker, f"after {worker.episodes} episodes")
        elif self.recycle_memory_mb is not None and memory is not None and memory > self.recycle_memory_mb:
            await self._recycle(worker, f"at {memory:.0f} MB")
        self._queue().put_nowait(handle)

    async def _recycle(self, worker: EnvWorker, why: str) -> None:
        logger.info("recycling env worker %s %s", worker.pid, why)
        self.recycled += 1
        await worker.close()

    def worker_pids(self) -> list[int]:
        """Process ids of the running workers."""
        return [h.worker.pid for h in self._all if h.worker.pid is not None]

    async def close(self) -> None:
        """Stop every worker."""
        await asyncio.gather(*(h.worker.close() for h in self._all))


class _InProcessHandle(EnvHandle):
    def __init__(self, config: EnvConfig) -> None:
        self.config = config
        self.env: Any = None

    @property
    def name(self) -> str:
        return "in-process"

    async def call(self, method: str, **kwargs: Any) -> Any:
        if self.env is None:
            self.env = await asyncio.to_thread(self.config.make)
        target = self.env.unwrapped.expert_action if method == "expert_action" else getattr(self.env, method)
        return await asyncio.to_thread(target, **kwargs)

    def close(self) -> None:
        if self.env is not None:
            self.env.close()
            self.env = None


class InProcessExecutor(Executor):
    """Envs in the calling process, one per concurrent episode (no isolation: a crash ends the run)."""

    def __init__(self, config: EnvConfig, workers: int = 1) -> None:
        """Keep up to ``workers`` envs."""
        self.capacity = max(1, workers)
        self._config = config
        self._idle: asyncio.Queue[_InProcessHandle] | None = None
        self._all: list[_InProcessHandle] = []

    async def acquire(self) -> EnvHandle:
        """Return an idle env (built on first use)."""
        if self._idle is None:
            self._idle = asyncio.Queue()
            self._all = [_InProcessHandle(self._config) for _ in range(self.capacity)]
            for handle in self._all:
                self._idle.put_nowait(handle)
        return await self._idle.get()

    async def release(self, handle: EnvHandle, *, broken: bool = False) -> None:
        """Return the env; a broken one is closed and rebuilt on next use."""
        assert isinstance(handle, _InProcessHandle) and self._idle is not None
        if broken:
            handle.close()
        self._idle.put_nowait(handle)

    async def close(self) -> None:
        """Close every env."""
        for handle in self._all:
            handle.close()


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
    raise ValueError(f"unknown executor {kind!r}; use {' or '.join(map(repr, EXECUTORS))}")
