"""Which samples a run consists of, and which are still to do. Pure and deterministic.

A task is the runner's plain, serializable unit of work: (model, suite, item, epoch)
plus the sampling seed. Item selection under ``--limit`` and each sample's seed are
derived from the run seed by hashing, so the same command plans the same tasks on
any machine and after any crash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from benchwarden.bench.suite import Item

TaskKey = tuple[str, str, str, int]  # model, suite, item_id, epoch


@dataclass(frozen=True, slots=True)
class Task:
    model: str
    suite: str
    item_id: str
    epoch: int
    seed: int

    @property
    def key(self) -> TaskKey:
        return (self.model, self.suite, self.item_id, self.epoch)


def _digest(*parts: object) -> int:
    blob = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:8], "big")


def select_items(items: Sequence[Item], limit: int | None, seed: int, suite: str) -> list[Item]:
    """All items in file order, or ``limit`` of them chosen by the seed (then in file order)."""
    if limit is None or limit >= len(items):
        return list(items)
    ranked = sorted(range(len(items)), key=lambda i: _digest(seed, suite, items[i].id))
    keep = sorted(ranked[: max(0, limit)])
    return [items[i] for i in keep]


def sample_seed(run_seed: int, suite: str, item_id: str, epoch: int) -> int:
    """The same for every model, so models are compared on the same draws."""
    return _digest(run_seed, suite, item_id, epoch) % (2**31 - 1)


def plan_tasks(
    models: Sequence[str],
    items_by_suite: Mapping[str, Sequence[Item]],
    epochs: int,
    seed: int,
    done: Mapping[TaskKey, str],
    retry_errors: bool = False,
) -> dict[str, list[Task]]:
    """Tasks still to run, per model, in a stable order (suite, item, epoch).

    A recorded sample is never redone, except an errored one under ``retry_errors``.
    """
    plan: dict[str, list[Task]] = {}
    for model in models:
        tasks: list[Task] = []
        for suite, items in items_by_suite.items():
            for epoch in range(epochs):
                for item in items:
                    key = (model, suite, item.id, epoch)
                    status = done.get(key)
                    if status == "ok" or (status is not None and not retry_errors):
                        continue
                    tasks.append(
                        Task(model, suite, item.id, epoch, sample_seed(seed, suite, item.id, epoch))
                    )
        plan[model] = tasks
    return plan
