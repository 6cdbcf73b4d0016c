"""warden at scale: what sharing the terms across replicas costs, measured side by side.

1. Admission: the in-process limiter vs the Redis one (reserve + settle per call), at
   concurrency 1 and 32 in one process: calls/s, p50 and p99 of one admission, and
   this process's CPU per call (Redis's own CPU not counted).
2. The audit chain with many writers: 1, 2 and 3 writer processes (replicas), each
   with its own connection pool and group commit, appending decisions concurrently to
   one PostgreSQL chain: appends/s (the chain's ceiling here), commits, and the chain
   verified afterwards.

    python benchmarks/replicas.py --pg postgresql://postgres@127.0.0.1:5432/bench \\
        --redis redis://127.0.0.1:6379/0 [--seconds 4]

The database should be empty or throwaway (records are appended to its chain). Bounded:
about 10 x --seconds. 2 cores bound what more writers can show; per-commit batch size
is the figure that carries to bigger machines.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from benchwarden.store.warden_store import open_warden_store
from benchwarden.warden.audit import AuditEntry
from benchwarden.warden.audit_writer import AuditWriter
from benchwarden.warden.limits import Limits, Reservation, SlidingWindowLimiter
from benchwarden.warden.redis_limits import RedisLimiter
from benchwarden.warden.sequencer import DbAuditSequencer
from benchwarden.warden.shared_limits import AnyLimiter, reserve
from benchwarden.warden.tenancy import Tenancy

BIG = Limits(rpm=10**9, tpm=10**12, max_concurrency=10**6)


async def _admissions(limiter: AnyLimiter, concurrency: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    stop = time.perf_counter() + seconds
    grant = int(uuid.uuid4().int % 10**9)

    async def worker() -> None:
        while time.perf_counter() < stop:
            started = time.perf_counter()
            got = await reserve(limiter, grant, BIG, 100, time.monotonic())
            latencies.append(time.perf_counter() - started)
            assert isinstance(got, Reservation)
            limiter.settle(got, 60, time.monotonic())
            await asyncio.sleep(0)

    began, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    took, cpu = time.perf_counter() - began, time.process_time() - cpu
    latencies.sort()
    return {
        "calls_per_s": len(latencies) / took,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "cpu_us": cpu / len(latencies) * 1e6,
    }


async def limiter_figures(redis_url: str, seconds: float) -> None:
    print("admission (reserve + settle), one process")
    print(
        f"{'limiter':<12}{'conc':>6}{'calls/s':>12}{'p50 ms':>10}{'p99 ms':>10}{'CPU us/call':>13}"
    )
    shared = RedisLimiter(redis_url, prefix=f"bench{uuid.uuid4().hex[:6]}")
    await shared.start()
    try:
        for concurrency in (1, 32):
            local = await _admissions(SlidingWindowLimiter(), concurrency, seconds / 2)
            remote = await _admissions(shared, concurrency, seconds / 2)
            await shared.flush()
            for name, row in (("in-process", local), ("redis", remote)):
                print(
                    f"{name:<12}{concurrency:>6}{row['calls_per_s']:>12.0f}"
                    f"{row['p50_ms']:>10.3f}{row['p99_ms']:>10.3f}{row['cpu_us']:>13.0f}"
                )
    finally:
        await shared.aclose()


def _writer(db: str, concurrency: int, seconds: float, out: Any) -> None:
    async def main() -> tuple[int, int]:
        store = open_warden_store(db)
        executor = ThreadPoolExecutor(4)
        batches: list[int] = []
        writer = AuditWriter(
            DbAuditSequencer(store), executor, observe=lambda n, _s: batches.append(n)
        )
        await writer.start()
        stop = time.perf_counter() + seconds
        count = 0

        async def one() -> None:
            nonlocal count
            while time.perf_counter() < stop:
                entry = AuditEntry(
                    actor="key:bench0001",
                    action="chat.completions",
                    decision="allow",
                    ts=datetime.now(UTC),
                )
                await writer.record(entry)
                count += 1

        await asyncio.gather(*(one() for _ in range(concurrency)))
        await writer.stop()
        executor.shutdown()
        store.close()
        return count, len(batches)

    out.put(asyncio.run(main()))


def audit_figures(db: str, seconds: float, concurrency: int = 32) -> None:
    print(f"\naudit chain on PostgreSQL, {concurrency} concurrent requests per writer")
    print(f"{'writers':>8}{'appends/s':>12}{'commits/s':>12}{'per commit':>12}")
    open_warden_store(db).close()
    context = multiprocessing.get_context("spawn")
    for writers in (1, 2, 3):
        queue = context.Queue()
        procs = [
            context.Process(target=_writer, args=(db, concurrency, seconds, queue))
            for _ in range(writers)
        ]
        for proc in procs:
            proc.start()
        results = [queue.get(timeout=seconds + 120) for _ in procs]
        for proc in procs:
            proc.join(30)
        appends = sum(r[0] for r in results)
        commits = sum(r[1] for r in results)
        print(
            f"{writers:>8}{appends / seconds:>12.0f}{commits / seconds:>12.0f}"
            f"{appends / max(1, commits):>12.1f}"
        )
    store = open_warden_store(db)
    try:
        started = time.perf_counter()
        report = Tenancy(store, "bench").verify_audit()
        took = time.perf_counter() - started
        print(
            f"verify: {'intact' if report.ok else report}, {report.records} records, {took:.1f} s"
        )
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", required=True, help="a throwaway PostgreSQL database URL")
    parser.add_argument("--redis", required=True, help="a Redis URL")
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    asyncio.run(limiter_figures(args.redis, args.seconds))
    audit_figures(args.pg, args.seconds)


if __name__ == "__main__":
    main()
