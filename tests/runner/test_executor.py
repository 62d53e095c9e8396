"""The executor pool over its backends: one dispatch, one restart and recycle logic, one memory read."""

from __future__ import annotations

import asyncio
import os

import gymnasium
import pytest

from agentgym.error import Error
from agentgym.runner.backend import EnvConfig, RemoteEnvError, answer_call, call_env, process_memory_mb
from agentgym.runner.executor import InProcessExecutor, LocalExecutor

GAME24 = EnvConfig("agentgym/Game24-v0")


def test_one_dispatch_for_every_backend():
    env = gymnasium.make("agentgym/Game24-v0")  # wrapped (TimeLimit, ...): the expert is the unwrapped env's
    observation, info = call_env(env, "reset", {"options": {"task_id": "4 5 6 10"}})
    assert info["task_id"] == "4 5 6 10" and isinstance(call_env(env, "expert_action", {}), str)
    status, (type_name, message, remote_traceback) = answer_call(env, "reset", {"options": {"task_id": "nope"}})
    assert status == "error" and type_name == "TaskNotFound" and "Traceback" in remote_traceback
    assert answer_call(env, "step", {"action": "nonsense"})[0] == "ok"
    assert issubclass(RemoteEnvError, Error)


def test_memory_is_read_from_proc():
    assert process_memory_mb() > 1 and process_memory_mb(os.getpid()) > 1
    assert process_memory_mb(2**22 + 12345) is None  # no such process


def test_a_broken_in_process_env_is_closed_and_rebuilt():
    async def main() -> None:
        executor = InProcessExecutor(GAME24)
        handle = await executor.acquire()
        await handle.call("reset", options={"task_id": "4 5 6 10"})
        first = handle.backend.env
        await executor.release(handle, broken=True)
        assert handle.backend.env is None and executor.restarts == 1
        again = await executor.acquire()
        assert again is handle and handle.name == "in-process"
        await again.call("reset", options={"task_id": "4 5 6 10"})
        assert handle.backend.env is not None and handle.backend.env is not first
        await executor.close()
        assert handle.backend.env is None

    asyncio.run(main())


def test_a_worker_that_cannot_start_keeps_its_slot_and_workers_are_recycled_by_memory():
    async def main() -> None:
        broken = LocalExecutor(EnvConfig("agentgym/Game24-v0", {"no_such_argument": 1}), 1)
        for _ in range(2):  # the slot came back: the second start is tried too (no hang)
            with pytest.raises(RemoteEnvError, match="no_such_argument"):
                await asyncio.wait_for(broken.acquire(), 120)
        await broken.close()

        executor = LocalExecutor(GAME24, 1, recycle_memory_mb=1)
        handle = await executor.acquire()
        pid = handle.backend.pid
        assert executor.worker_pids() == [pid] and handle.name == f"local:{pid}"
        await executor.release(handle)
        assert executor.recycled == 1 and executor.worker_pids() == []
        handle = await executor.acquire()
        assert handle.backend.pid not in (None, pid)
        await executor.close()
        assert executor.worker_pids() == [] and executor.restarts == 0

    asyncio.run(main())
