"""A micro-batcher: turns many concurrent ``agenerate`` calls into few batched ``generate`` calls.

The runner plays many episodes as tasks of one event loop, and each agent awaits its own one-request
``agenerate``. An in-process model decodes a batch of 8 prompts far faster than 8 prompts one after another,
so :class:`MicroBatcher` queues what arrives, waits a few milliseconds for more, and hands the queue to the
model as one batch in a worker thread. While that batch decodes, new calls queue up and form the next batch.
"""

from __future__ import annotations

import asyncio
import collections
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from agentgym.error import SettingError
from agentgym.policies.base import Completion, Request

#: A blocking function that completes a batch of requests, in order.
BatchFn = Callable[[Sequence[Request]], list[Completion]]


class MicroBatcher:
    """Collects concurrent submissions and runs them through ``run_batch``, ``max_batch`` requests at most.

    Args:
        run_batch: completes a list of requests (called in one worker thread, never concurrently).
        max_batch: requests per batch at most (a single submission larger than this runs alone).
        window_s: how long a batch that is not yet full waits for more submissions.

    Attributes:
        batch_sizes: sizes of the most recent batches (last 1000), for tests and benchmarks.
    """

    def __init__(self, run_batch: BatchFn, max_batch: int = 8, window_s: float = 0.005) -> None:
        """Create an idle batcher; the worker thread starts with the first batch."""
        if max_batch < 1:
            raise SettingError(f"max_batch must be >= 1, got {max_batch}")
        if window_s < 0:
            raise SettingError(f"window_s must be >= 0, got {window_s}")
        self.run_batch = run_batch
        self.max_batch = max_batch
        self.window_s = window_s
        self.batch_sizes: collections.deque[int] = collections.deque(maxlen=1000)
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._pending: list[tuple[Sequence[Request], asyncio.Future[list[Completion]]]] = []
        self._drainer: asyncio.Task[None] | None = None

    def run(self, requests: Sequence[Request]) -> list[Completion]:
        """Complete ``requests`` now, in the calling thread (serialised with the batches)."""
        with self._lock:
            self.batch_sizes.append(len(requests))
            return self.run_batch(requests)

    async def submit(self, requests: Sequence[Request]) -> list[Completion]:
        """Queue ``requests`` for the next batch and wait for their completions."""
        if not requests:
            return []
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Completion]] = loop.create_future()
        self._pending.append((requests, future))
        if self._drainer is None or self._drainer.done() or self._drainer.get_loop() is not loop:
            self._drainer = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            if sum(len(r) for r, _ in self._pending) < self.max_batch and self.window_s:
                await asyncio.sleep(self.window_s)
            batch = self._take()
            requests = [request for submission, _ in batch for request in submission]
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agentgym-batch")
            try:
                completions = await loop.run_in_executor(self._executor, self.run, requests)
            except Exception as e:  # noqa: BLE001  (handed to every waiting caller)
                for _, future in batch:
                    if not future.done():
                        future.set_exception(e)
                continue
            start = 0
            for submission, future in batch:
                if not future.done():
                    future.set_result(completions[start : start + len(submission)])
                start += len(submission)

    def _take(self) -> list[tuple[Sequence[Request], asyncio.Future[list[Completion]]]]:
        """Pop whole submissions, oldest first, up to ``max_batch`` requests (at least one submission)."""
        taken = [self._pending.pop(0)]
        size = len(taken[0][0])
        while self._pending and size + len(self._pending[0][0]) <= self.max_batch:
            size += len(self._pending[0][0])
            taken.append(self._pending.pop(0))
        return taken

    def close(self) -> None:
        """Stop the worker thread (after the batch in progress)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
