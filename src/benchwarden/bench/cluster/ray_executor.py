"""The driver's side of ``run --executor ray``: units become Ray tasks.

Each unit is one task with the resources it declares (``needs.unit_shape``). Ray
re-runs a task whose worker or node died (``max_retries``); if it still cannot, or a
unit can go nowhere, the runner gets :class:`UnitFailed` and records an error that
``--retry-errors`` redoes. Nothing is recorded until a result is back on the driver,
so a lost node never loses or duplicates a unit.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import time
from typing import Any

from benchwarden.bench.cluster.engines import EnginePool
from benchwarden.bench.cluster.needs import (
    RESOURCE_PREFIX,
    NoCapableNode,
    NodeRefused,
    Refusals,
    resource_name,
    unit_shape,
)
from benchwarden.bench.cluster.pacing import start_budget
from benchwarden.bench.executor import ExecutorError
from benchwarden.bench.work import Unit, UnitFailed, UnitResult

TASK_RETRIES = 3
"""Ray's own re-runs of a task whose worker or node died."""
RESUBMITS = 2
"""The driver's further tries once Ray gave up on a task (a node lost mid-retry)."""
CHECK_EVERY_S = 10.0
"""How often a waiting unit checks that some alive node can still take it."""


class RayExecutor:
    name = "ray"

    def __init__(self, address: str) -> None:
        import ray

        self.ray: Any = ray  # partly typed; its untyped calls are kept here
        self.address = address
        self._task = ray.remote(max_retries=TASK_RETRIES)(_run_unit)
        self._done: collections.Counter[str] = collections.Counter()
        self._refusals = Refusals()
        self._declared: set[str] = set()
        self._declared_at = 0.0
        self._turn = 0
        self._engines = EnginePool(ray)
        self._on_engines = 0
        self._budget = start_budget(ray)  # one pacing budget per model for the cluster

    @classmethod
    def connect(cls, address: str | None) -> RayExecutor:
        """Attach to a running cluster (``HOST:PORT`` or ``ray://HOST:PORT``, else
        ``RAY_ADDRESS``); never start one behind the user's back."""
        address = address or os.environ.get("RAY_ADDRESS") or ""
        import ray

        try:
            ray.init(
                address=address,
                logging_level=logging.WARNING,
                log_to_driver=False,
                configure_logging=False,
            )
        except Exception as exc:  # ConnectionError, or a version mismatch
            raise ExecutorError(f"cannot reach the Ray cluster at {address}: {exc}") from exc
        return cls(address)

    def _alive(self) -> dict[str, dict[str, Any]]:
        return {n["NodeID"]: n for n in self.ray.nodes() if n.get("Alive")}

    def _labels(self, alive: dict[str, dict[str, Any]]) -> dict[str, str]:
        return {i: f"{n.get('NodeManagerAddress', '?')} ({i[:8]})" for i, n in alive.items()}

    def _declared_names(self) -> set[str]:
        """Custom resources some node declares (re-read now and then: nodes come and go)."""
        now = time.monotonic()
        if now - self._declared_at > CHECK_EVERY_S:
            total = self.ray.cluster_resources()
            self._declared = {k for k in total if k.startswith(RESOURCE_PREFIX)}
            self._declared_at = now
        return self._declared

    def _options(self, unit: Unit) -> dict[str, Any]:
        shape = unit_shape(unit.requirements, unit.spec.provider, self._declared_names())
        options: dict[str, Any] = {"num_cpus": shape.num_cpus, "memory": shape.memory}
        if shape.resources:
            options["resources"] = shape.resources
        if self._refusals.refused(unit.requirements):
            alive = self._alive()
            self._turn += 1
            node = self._refusals.pick(unit.requirements, self._labels(alive), self._turn)
            if node is not None:
                from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

                options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node, soft=False)
        return options

    def _placeable(self, unit: Unit, options: dict[str, Any]) -> bool:
        """Whether some alive node could still take the unit (else Ray waits forever)."""
        wanted = {"CPU": options["num_cpus"], **options.get("resources", {})}
        for node in self._alive().values():
            have = node.get("Resources", {})
            if all(have.get(name, 0.0) >= amount for name, amount in wanted.items()):
                return True
        return False

    async def _wait(self, ref: Any, unit: Unit, options: dict[str, Any]) -> UnitResult:
        future = asyncio.wrap_future(ref.future())
        while True:
            done, _ = await asyncio.wait({future}, timeout=CHECK_EVERY_S)
            if done:
                return future.result()  # type: ignore[no-any-return]
            if not await asyncio.to_thread(self._placeable, unit, options):
                self.ray.cancel(ref, force=True)
                needs = ", ".join(
                    [f"{options['num_cpus']} CPU", *map(resource_name, unit.requirements)]
                )
                raise UnitFailed(
                    "no_capable_node",
                    f"no alive node of the Ray cluster at {self.address} offers {needs}",
                )

    async def submit(self, unit: Unit) -> UnitResult:
        lost = 0
        while True:
            try:
                options = self._options(unit)
            except NoCapableNode as exc:
                raise UnitFailed("no_capable_node", str(exc)) from None
            try:
                result = await self._do(unit, options)
            except NodeRefused as refusal:
                node_id = _node_id_of(refusal.node, self._labels(self._alive()))
                self._refusals.record(refusal, node_id)
                continue
            except self.ray.exceptions.RayTaskError as exc:  # the unit's own code failed
                cause = getattr(exc, "cause", None) or exc
                raise UnitFailed(
                    "harness_error", f"{type(cause).__name__} on a Ray worker: {cause}"
                ) from None
            except self.ray.exceptions.RayError as exc:  # worker/node lost beyond retries
                lost += 1
                if lost > RESUBMITS:
                    raise UnitFailed(
                        "executor_error", f"the Ray cluster lost this unit {lost} times: {exc}"
                    ) from None
                continue
            self._done[result.node] += 1
            return result

    async def _do(self, unit: Unit, options: dict[str, Any]) -> UnitResult:
        """On an engine actor (embedded models), else as a task."""
        if self._engines.wants(unit):
            result = await self._engines.submit(unit)
            if result is not None:
                self._on_engines += 1
                return result
        ref = self._task.options(**options).remote(unit)
        try:
            return await self._wait(ref, unit, options)
        except asyncio.CancelledError:
            self.ray.cancel(ref, force=True)
            raise

    def placement(self) -> dict[str, int]:
        return dict(self._done)

    def notes(self) -> list[str]:
        engines = sum(len(members) for members in self._engines.pools.values())
        done = [f"{self._on_engines} embedded-model units ran on {engines} engine actor(s)"]
        return self._refusals.notes() + (done if self._on_engines else []) + self._pacing()

    def _pacing(self) -> list[str]:
        """The shared budgets' schedules as the run ends (what they paced at, refusals)."""
        try:
            states = self.ray.get(self._budget.states.remote(), timeout=5)
        except Exception as exc:  # a note, never the run's failure
            return [f"the cluster's pacing budget did not answer: {exc}"]
        notes = []
        for label, state in sorted(states.items()):
            if not (state.paced or state.refusals):
                continue  # no limit met: nothing to say
            pace = f"{state.rate * 60:.0f} requests/min" if state.rate else "unpaced"
            notes.append(
                f"pacing shared by the cluster: {label}: {state.mode}, {pace}, "
                f"{state.accepted} accepted, {state.refusals} rate-limit refusals"
            )
        return notes

    async def aclose(self) -> None:
        self._engines.close()
        with contextlib.suppress(Exception):
            self.ray.kill(self._budget)
        self.ray.shutdown()


def _node_id_of(label: str, labels: dict[str, str]) -> str:
    return next((node for node, name in labels.items() if name == label), label)


def _run_unit(unit: Unit) -> UnitResult:
    # Imported on the worker, not pickled with the driver's module state.
    from benchwarden.bench.cluster.ray_worker import run_unit

    return run_unit(unit)
