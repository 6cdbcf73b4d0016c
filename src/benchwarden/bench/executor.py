"""Where the runner's units of work run: an executor takes a :class:`~benchwarden.bench.
work.Unit` and gives back its :class:`~benchwarden.bench.work.UnitResult`.

The runner stays the single writer: it records a unit only once its result is back,
so whatever an executor loses (a worker, a node) is simply not recorded and is redone
(by the executor's retries, or by the next resume). ``local`` does the work in this
process with the run's own clients and suites (the default, and today's behaviour);
``ray`` ships units to a Ray cluster (``bench/cluster/``, extra ``benchwarden[ray]``).
"""

from __future__ import annotations

import collections
import importlib.util
import os
from collections.abc import Mapping
from typing import Protocol

from benchwarden.bench.suite import Suite
from benchwarden.bench.work import Unit, UnitResult, perform
from benchwarden.models.protocol import ModelClient

EXECUTORS = ("local", "ray")


class ExecutorError(Exception):
    """The executor cannot start or reach its workers; the message says what to do."""


class Executor(Protocol):
    name: str

    async def submit(self, unit: Unit) -> UnitResult:
        """Do one unit somewhere and return its result (never store it)."""
        ...

    def placement(self) -> dict[str, int]:
        """Units done per place (node), for the run's summary."""
        ...

    def notes(self) -> list[str]:
        """What the user should know about where work went (nodes that refused work)."""
        ...

    async def aclose(self) -> None: ...


class LocalExecutor:
    """Units done in this process, with the clients and suites the runner was given."""

    name = "local"

    def __init__(self, clients: Mapping[str, ModelClient], suites: Mapping[str, Suite]) -> None:
        self.clients = clients
        self.suites = suites
        self._done: collections.Counter[str] = collections.Counter()

    async def submit(self, unit: Unit) -> UnitResult:
        result = await perform(unit, self.clients[unit.task.model], self.suites[unit.task.suite])
        self._done[result.node] += 1
        return result

    def placement(self) -> dict[str, int]:
        return dict(self._done)

    def notes(self) -> list[str]:
        return []

    async def aclose(self) -> None:
        pass


def executor_problem(name: str, address: str | None) -> str | None:
    """Why the executor cannot be used as asked, checked before anything is written
    (reaching the cluster is checked when the run starts)."""
    if name not in EXECUTORS:
        return f"--executor {name!r}: use one of {', '.join(EXECUTORS)}"
    if name == "ray" and not (address or os.environ.get("RAY_ADDRESS")):
        return (
            "--executor ray needs a running cluster: set RAY_ADDRESS or pass "
            "--ray-address HOST:PORT (or ray://HOST:PORT); start one with "
            "`ray start --head` (see README)"
        )
    if name == "ray" and importlib.util.find_spec("ray") is None:
        return "--executor ray needs the ray extra: pip install 'benchwarden[ray]'"
    return None


def open_executor(name: str, address: str | None = None) -> Executor | None:
    """The named executor, or None for ``local`` (the runner builds it from its clients).

    ``address`` is the Ray cluster (``HOST:PORT`` or ``ray://HOST:PORT``); without it
    ``RAY_ADDRESS`` is used.
    """
    problem = executor_problem(name, address)
    if problem:
        raise ExecutorError(problem)
    if name == "local":
        return None
    if name == "ray":
        from benchwarden.bench.cluster.ray_executor import RayExecutor

        return RayExecutor.connect(address)
    raise ExecutorError(f"--executor {name!r}: use one of {', '.join(EXECUTORS)}")
