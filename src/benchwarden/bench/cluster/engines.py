"""Embedded inference as Ray actors: one llama.cpp engine per actor, as many actors on
each node as it has CPUs, and the runner's local-model units routed to the least busy
actor of their model.

An actor loads its model once and keeps it for the whole run, whatever Ray does with
its task workers; its engine runs as many threads as the CPUs it stands for
(``ENGINE_CPUS``), so a node's actors together use its CPUs once, not once each.
Actors are pinned to their node and reserve no CPU in Ray's accounting: a
reservation held for the whole run would starve every other task of the run (API
calls, sandbox checks) until it ends. Only units that need nothing else
of a node (no sandbox, no toolchain) go to actors; the others stay tasks, which place
themselves where their requirements are met. An actor lost with its node is dropped
from the pool (a new pool is made when none is left) and the unit re-run.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from typing import Any

from benchwarden.bench.work import Unit, UnitResult
from benchwarden.models.config import ModelSpec

THREADS_ENV = "BENCHWARDEN_LOCAL_THREADS"


ENGINE_CPUS = 1
"""Each engine actor's share of its node: a node gets one actor per this many CPUs, and
each actor's llama.cpp engine runs that many threads (not the whole machine's count,
which would oversubscribe the node as many times as it has actors)."""


class EngineActor:
    """The actor's body (wrapped by ``ray.remote`` on the driver): one model, one engine
    running ``threads`` threads."""

    def __init__(self, threads: int = ENGINE_CPUS) -> None:
        # Read by the engine when it is made (models.local.engine.engine_for); the actor
        # has this process to itself.
        os.environ[THREADS_ENV] = str(threads)

    async def threads(self, spec: ModelSpec) -> int:
        """The threads of this actor's engine for ``spec`` (made, not loaded, if new)."""
        from benchwarden.models.local.client import model_path
        from benchwarden.models.local.engine import engine_for

        return engine_for(model_path(spec)).n_threads

    async def run(self, unit: Unit) -> UnitResult:
        from benchwarden.bench.cluster.ray_worker import do_here, node_label

        result = await do_here(unit)
        result.node = node_label()
        return result


@dataclass(slots=True)
class _Member:
    actor: Any
    busy: int = 0


@dataclass(slots=True)
class EnginePool:
    """The driver's actors per embedded model (by the model's name)."""

    ray: Any
    pools: dict[str, list[_Member]] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def wants(self, unit: Unit) -> bool:
        return unit.spec.provider == "local" and not unit.requirements

    async def _members(self, model: str) -> list[_Member]:
        async with self._lock:
            if not self.pools.get(model):
                self.pools[model] = await asyncio.to_thread(self._create)
            return self.pools[model]

    def _create(self) -> list[_Member]:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        actor_class = self.ray.remote(num_cpus=0, max_restarts=0, max_concurrency=2)(EngineActor)
        members = []
        for node in self.ray.nodes():
            actors = int(node.get("Resources", {}).get("CPU", 0)) // ENGINE_CPUS
            if not node.get("Alive") or actors < 1:
                continue
            pinned = NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)
            members += [
                _Member(actor_class.options(scheduling_strategy=pinned).remote(ENGINE_CPUS))
                for _ in range(actors)
            ]
        return members

    async def submit(self, unit: Unit) -> UnitResult | None:
        """Run on the least busy actor (None: the cluster has no node with a CPU); an
        actor that died is dropped before the error goes up (and the unit is re-run)."""
        members = await self._members(unit.spec.name)
        if not members:
            return None
        member = min(members, key=lambda m: m.busy)
        member.busy += 1
        ref = member.actor.run.remote(unit)
        try:
            result: UnitResult = await asyncio.wrap_future(ref.future())
            return result
        except asyncio.CancelledError:
            self.ray.cancel(ref)
            raise
        except self.ray.exceptions.RayActorError:
            if member in members:
                members.remove(member)
            raise
        finally:
            member.busy -= 1

    def close(self) -> None:
        for members in self.pools.values():
            for member in members:
                self.ray.kill(member.actor)
        self.pools.clear()
