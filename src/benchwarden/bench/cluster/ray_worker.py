"""A unit of work done on a Ray node: clients and suites are built here, once per
worker process, and kept for the units that follow.

Ray runs one task at a time in a worker process; the unit's coroutine runs on an event
loop of the process's own (a daemon thread), so clients' connection pools and the
sandbox pool outlive a single task.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from benchwarden.bench.cluster.engines import THREADS_ENV
from benchwarden.bench.cluster.needs import NodeRefused
from benchwarden.bench.cluster.offers import missing
from benchwarden.bench.suite import Suite
from benchwarden.bench.work import SuiteRef, Unit, UnitResult, error_result, perform
from benchwarden.models.config import ModelSpec
from benchwarden.models.errors import ModelError
from benchwarden.models.protocol import ModelClient

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_clients: dict[str, ModelClient] = {}
_suites: dict[str, Suite] = {}  # by repr(SuiteRef): a judge's spec holds a dict


def _run(coro: Coroutine[Any, Any, T]) -> T:
    global _loop
    with _lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="bw-unit-loop", daemon=True).start()
    return asyncio.run_coroutine_threadsafe(coro, _loop).result()


def node_label() -> str:
    """This node as the run's summary names it: its address and a short id."""
    import ray

    util: Any = ray.util  # untyped
    context = ray.get_runtime_context()
    return f"{util.get_node_ip_address()} ({context.get_node_id()[:8]})"


def _client(spec: ModelSpec, use_cache: bool, max_concurrency: int | None) -> ModelClient:
    from benchwarden.bench.cluster.pacing import share_budget
    from benchwarden.models.factory import open_client

    share_budget()  # this process's pacers: handles on the cluster's budgets
    key = repr((spec, use_cache, max_concurrency))
    if key not in _clients:
        _clients[key] = open_client(spec, use_cache=use_cache, max_concurrency=max_concurrency)
    return _clients[key]


def _suite(ref: SuiteRef, purpose: str) -> Suite:
    from benchwarden.bench.registry import get_suite

    key = repr(ref)
    if key not in _suites:
        suite = get_suite(
            ref.name, agent=ref.agent, languages=ref.languages, limits=dict(ref.limits)
        )
        if ref.judges and suite.judged is not None:
            judges = {spec.name: _client(spec, True, None) for spec in ref.judges}
            every = frozenset(ref.judges_every)
            suite = dataclasses.replace(suite, scorer=suite.judged(judges, purpose, every))
        _suites[key] = suite
    return _suites[key]


async def do_here(unit: Unit) -> UnitResult:
    """The unit in this process (a task's own loop, or an engine actor's)."""
    suite = _suite(unit.suite, unit.purpose)
    try:
        client = _client(unit.spec, unit.use_cache, unit.max_concurrency)
    except ModelError as error:  # e.g. the model's key is not set on this node
        endpoint = unit.spec.base_url or f"{unit.spec.provider}:{unit.spec.upstream_model}"
        return error_result(unit, suite, endpoint, error, error.kind)
    return await perform(unit, client, suite)


def run_unit(unit: Unit) -> UnitResult:
    """The Ray task's body: refuse what this node lacks, else do the unit here."""
    node = node_label()
    for requirement in unit.requirements:
        reason = missing(requirement)
        if reason is not None:
            raise NodeRefused(node, requirement, reason)
    if unit.spec.provider == "local":  # its engine: as many threads as the task's CPUs
        import ray

        context: Any = ray.get_runtime_context()  # partly typed
        cpus = context.get_assigned_resources().get("CPU", 1.0)
        os.environ[THREADS_ENV] = str(max(1, int(cpus)))
    result = _run(do_here(unit))
    result.node = node
    return result
