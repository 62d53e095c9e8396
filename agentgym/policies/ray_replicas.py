"""A policy served by N replicas in Ray actors: ``--policy ray:N:SPEC`` (e.g. ``ray:4:embedded``).

For CPU clusters without a model server: each actor builds the policy ``SPEC`` (any ``--policy`` spelling but
the scripted ones) once and answers ``agenerate``/``aembed`` calls; the actors are async, so the concurrent
calls a replica receives reach its policy together and the embedded model batches them as it does in one
process. The driver sends each call to the replica with the fewest calls in flight. A replica that dies is
replaced and the call retried on another (twice at most), so a lost node costs latency, not episodes.

The policy joins the Ray cluster this process is connected to (``--executor ray --address ...`` connects it),
or else the one at ``RAY_ADDRESS``, or ``auto``. Ray is imported only when a replica starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Sequence
from typing import Any

from agentgym.error import PolicyError, SettingError
from agentgym.policies.base import Completion, Policy, Request
from agentgym.validate import integer, number

#: Calls retried on another replica after the one serving them died.
RETRIES = 2
#: Most replicas of one policy.
MAX_REPLICAS = 1024


class PolicyReplica:
    """The body of one replica actor (``ray.remote`` wraps it at run time)."""

    def __init__(self, spec: str) -> None:
        """Build the policy (it loads its model on first use)."""
        from agentgym.policies import make_policy

        self.policy = make_policy(spec)

    async def agenerate(self, requests: Sequence[Request]) -> list[Completion]:
        """Complete ``requests`` with this replica's policy."""
        return await self.policy.agenerate(requests)

    async def aembed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed ``texts`` with this replica's policy."""
        return await self.policy.aembed(texts)

    def ready(self) -> int:
        """The replica's process id, once it is built."""
        return os.getpid()


class RayReplicaPolicy(Policy):
    """``replicas`` copies of the policy ``spec``, each in a Ray actor, behind one :class:`Policy`.

    Args:
        spec: the replicated policy's ``--policy`` spelling (``embedded``, ``openai:MODEL@URL``, ...).
        replicas: number of actors.
        num_cpus: CPUs Ray reserves per replica.
        address: the cluster when this process is not connected yet (default: ``RAY_ADDRESS``, else ``auto``).
    """

    name = "ray"

    def __init__(self, spec: str, replicas: int = 1, *, num_cpus: float = 1.0, address: str | None = None) -> None:
        """Check the spec; actors start at the first call."""
        from agentgym.policies import make_policy

        integer("replicas", replicas, low=1, high=MAX_REPLICAS)
        number("num_cpus", num_cpus, above=0)
        if spec.partition(":")[0] in ("expert", "random", "ray"):
            raise SettingError(f"policy {spec!r} cannot be replicated on Ray (scripted policies run in the driver)")
        self.spec = spec
        self.replicas = replicas
        self.num_cpus = num_cpus
        self.address = address or os.environ.get("RAY_ADDRESS", "auto")
        self._config = make_policy(spec).config()  # building is cheap: models load on first use
        self._actors: list[Any] = []
        self._in_flight: list[int] = []
        self.served: list[int] = []
        self._lock: asyncio.Lock | None = None

    def generate(self, requests: Sequence[Request]) -> list[Completion]:
        """Complete ``requests`` (blocking; the runner uses :meth:`agenerate`)."""
        return asyncio.run(self.agenerate(requests))

    async def agenerate(self, requests: Sequence[Request]) -> list[Completion]:
        """Send ``requests`` to the least busy replica."""
        return await self._call("agenerate", list(requests))

    async def aembed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed ``texts`` on the least busy replica."""
        return await self._call("aembed", list(texts))

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed ``texts`` (blocking)."""
        return asyncio.run(self.aembed(texts))

    async def _call(self, method: str, argument: Any) -> Any:
        await self._start()
        import ray

        failures = 0
        while True:
            index = min(range(self.replicas), key=self._in_flight.__getitem__)
            actor = self._actors[index]
            self._in_flight[index] += 1
            try:
                result = await getattr(actor, method).remote(argument)
            except ray.exceptions.RayTaskError as e:  # the policy raised: not a replica failure
                cause = e.cause if isinstance(e.cause, BaseException) else e
                raise PolicyError(f"policy replica {index} failed: {type(cause).__name__}: {cause}") from None
            except ray.exceptions.RayError as e:
                failures += 1
                if failures > RETRIES:
                    raise PolicyError(f"policy replicas keep dying ({type(e).__name__}: {e})") from e
                if self._actors[index] is actor:
                    self._actors[index] = self._new_actor()
                continue
            finally:
                self._in_flight[index] -= 1
            self.served[index] += 1
            return result

    def _new_actor(self) -> Any:
        import ray

        remote = ray.remote(PolicyReplica).options(num_cpus=self.num_cpus, max_concurrency=1000)
        return remote.remote(self.spec)

    async def _start(self) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._actors:
                return
            from agentgym.runner.ray_executor import connect

            connect(self.address)
            actors = [self._new_actor() for _ in range(self.replicas)]
            await asyncio.gather(*(a.ready.remote() for a in actors))
            self._actors, self._in_flight, self.served = actors, [0] * self.replicas, [0] * self.replicas

    def replica_pids(self) -> list[int]:
        """Process ids of the replicas (blocking; for tests and monitoring)."""
        import ray

        return ray.get([a.ready.remote() for a in self._actors])

    def config(self) -> dict[str, Any]:
        """The replicated policy's settings, with the replica count."""
        return {**self._config, "replicas": self.replicas, "via": "ray"}

    def close(self) -> None:
        """Stop the replicas."""
        if self._actors:
            import ray

            for actor in self._actors:
                with contextlib.suppress(Exception):  # already gone, or Ray is shut down
                    ray.kill(actor, no_restart=True)
            self._actors = []
