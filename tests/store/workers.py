"""Functions run in spawned processes by the concurrency tests (importable by name)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchwarden.store import open_store
from tests.store.helpers import make_sample

SHARED_ITEMS = 120
BATCH = 20
OWN_PER_BATCH = 10


def write_overlapping(db: str, worker: int, result_file: str, barrier: Any) -> None:
    """All workers write the same shared keys (an error first, then ok) plus keys of
    their own, batch by batch; the file gets how many ok rows each kind wrote."""
    store = open_store(db)
    barrier.wait(60)  # start writing together, after every process has imported and opened
    shared_written = own_written = 0
    order = list(range(SHARED_ITEMS))
    if worker % 2:
        order.reverse()  # opposite orders make the writers collide more
    try:
        for n, start in enumerate(range(0, SHARED_ITEMS, BATCH)):
            chunk = order[start : start + BATCH]
            store.add_samples([make_sample(f"shared-{i}", "error", model="shared") for i in chunk])
            shared_written += store.add_samples(
                [make_sample(f"shared-{i}", model="shared", metadata={"w": worker}) for i in chunk]
            )
            own_written += store.add_samples(
                [make_sample(f"own-{n}-{j}", model=f"w{worker}") for j in range(OWN_PER_BATCH)]
            )
    finally:
        store.close()
    Path(result_file).write_text(f"{shared_written} {own_written}\n")


def write_batches_forever(db: str, prefix: str, batch_size: int) -> None:
    """Write numbered batches of large rows until killed."""
    store = open_store(db)
    batch = 0
    while True:
        store.add_samples(
            [
                make_sample(f"{prefix}-{batch:06d}-{i:04d}", answer="x" * 2000, model="killed")
                for i in range(batch_size)
            ]
        )
        batch += 1
