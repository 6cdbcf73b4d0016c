"""Several processes on one database (the SQLite file is the hard case): no lost or
duplicated rows, and a writer killed with SIGKILL mid-batch leaves whole batches only."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from collections import Counter
from pathlib import Path

from benchwarden.store import open_store
from tests.store import workers
from tests.store.helpers import make_run

SPAWN = multiprocessing.get_context("spawn")


def test_three_processes_never_lose_or_duplicate_rows(db_url: str, tmp_path: Path) -> None:
    db = db_url
    with open_store(db) as store:
        store.create_run(make_run())
    results = [tmp_path / f"w{i}.txt" for i in range(3)]
    barrier = SPAWN.Barrier(3)
    procs = [
        SPAWN.Process(target=workers.write_overlapping, args=(db, i, str(results[i]), barrier))
        for i in range(3)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0]

    counts = [tuple(map(int, r.read_text().split())) for r in results]
    # Each shared key turned 'ok' exactly once, whichever process got there first.
    assert sum(shared for shared, _ in counts) == workers.SHARED_ITEMS
    per_worker = workers.SHARED_ITEMS // workers.BATCH * workers.OWN_PER_BATCH
    assert [own for _, own in counts] == [per_worker] * 3

    with open_store(db) as store:
        rows = store.samples("run-1")
        keys = Counter((s.model, s.item_id, s.epoch) for s in rows)
        assert max(keys.values()) == 1
        assert Counter(s.model for s in rows) == {
            "shared": workers.SHARED_ITEMS,
            "w0": per_worker,
            "w1": per_worker,
            "w2": per_worker,
        }
        assert {s.status for s in rows} == {"ok"}


def test_sigkill_mid_batch_leaves_only_whole_batches(db_url: str) -> None:
    db = db_url
    batch_size = 400
    with open_store(db) as store:
        store.create_run(make_run())
    rng = random.Random(7)
    for round_ in range(3):
        proc = SPAWN.Process(
            target=workers.write_batches_forever, args=(db, f"r{round_}", batch_size)
        )
        proc.start()
        with open_store(db) as store:
            deadline = time.monotonic() + 60
            while store.totals("run-1").get("killed", {}).get("samples", 0) < batch_size * (
                2 * round_ + 2
            ):
                assert time.monotonic() < deadline and proc.is_alive(), "writer made no progress"
                time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.05))
        assert proc.pid is not None
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(30)
        assert proc.exitcode == -signal.SIGKILL

        with open_store(db) as store:
            per_batch = Counter(s.item_id.rsplit("-", 1)[0] for s in store.samples("run-1"))
        assert per_batch, "nothing was committed"
        assert set(per_batch.values()) == {batch_size}, "a batch was partly committed"
