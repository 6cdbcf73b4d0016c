"""warden at scale: what sharing the terms across replicas costs, measured side by side.

1. Admission: the in-process limiter vs the Redis one (reserve + settle per call), at
   concurrency 1 and 32 in one process: calls/s, p50 and p99 of one admission, and
   this process's CPU per call (Redis's own CPU not counted).
2. The audit chain with many writers: 1, 2 and 3 writer processes (replicas), each
   with its own connection pool and group commit, appending decisions concurrently to
   one PostgreSQL chain: appends/s (the chain's ceiling here), commits, and the chain
   verified afterwards.
3. End to end, through HTTP, against a zero-latency mock upstream on loopback
   (``benchwarden.testing.mock_upstream``), every replica a real ``benchwarden serve``
   over the same PostgreSQL database (monitor on, as by default): (a) one replica with
   the in-process limiter, (b) one replica with limits in Redis, (c) two replicas with
   limits in Redis behind nginx (deploy/nginx.conf with its ports replaced and the
   third replica left out). For each: the maximum rate (closed loop: wrk, 64
   connections), the added p50/p99 at a fixed open-loop rate (minus the mock called
   directly at the same rate, measured just before), and the CPU per request of the
   warden processes, Redis, PostgreSQL and nginx over the closed-loop run. The three
   setups run at once and are measured in turn, --rounds times (medians reported), so
   background load on the machine falls on each alike.

    python benchmarks/replicas.py [--pg postgresql://...] [--redis redis://...] \\
        [--seconds 4] [--rate 50] [--rounds 3] [--parts admission,audit,e2e] [--save FILE.md]

Without --pg / --redis the benchmark starts its own PostgreSQL (initdb in a temp
folder) and redis-server (deploy/redis.conf), so their CPU can be counted; with them,
the database should be empty or throwaway (records are appended to its chain) and an
outside Redis's CPU is not counted. Bounded: about 5 minutes at the defaults. 2 cores
bound what more replicas can show: the CPU per request (and the per-commit batch size)
is the figure that carries to bigger machines.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import multiprocessing
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchwarden.store.warden_store import open_warden_store
from benchwarden.warden.audit import AuditEntry
from benchwarden.warden.audit_writer import AuditWriter
from benchwarden.warden.limits import Limits, Reservation, SlidingWindowLimiter
from benchwarden.warden.redis_limits import RedisLimiter
from benchwarden.warden.sequencer import DbAuditSequencer
from benchwarden.warden.shared_limits import AnyLimiter, reserve
from benchwarden.warden.tenancy import Tenancy

# Shared with the gateway benchmark: child processes, /proc CPU, wrk and the open loop.
from gateway_vs_peers import (  # isort: skip
    MODEL,
    PYTHON,
    REPO,
    PgServer,
    Proc,
    Settings,
    Target,
    _children,
    _cleanups,
    _cli,
    free_port,
    measure_closed,
    measure_open,
    start_direct,
    start_mock,
    tree_cpu_seconds,
    wait_ready,
)

E2E = Settings(
    connections=64,
    open_warmup_s=1.0,
    open_measure_s=5.0,
    open_min_samples=400,
    closed_warmup_s=2.0,
    closed_measure_s=6.0,
    request_timeout_s=10.0,
    startup_timeout_s=90.0,
)
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


# ---- 3. end to end: replicas over HTTP ----------------------------------------------


@dataclass(slots=True)
class Setup:
    """One configuration under test: its replicas, nginx (or none), the URL clients call."""

    name: str
    replicas: list[Proc] = field(default_factory=list)
    nginx: Proc | None = None
    url: str = ""


@dataclass(slots=True)
class Row:
    name: str
    max_rate: float = math.nan
    closed_p50: float = math.nan
    closed_p99: float = math.nan
    plus50: float = math.nan
    plus99: float = math.nan
    failures: str = ""
    cpu_ms: dict[str, float] = field(default_factory=dict)  # per OK request, by part
    load1: float = 0.0  # the machine's load average when measured


class Servers:
    """PostgreSQL and Redis for the end-to-end runs: given by URL, or started here (then
    their CPU is counted too)."""

    def __init__(self, workdir: Path, pg: str | None, redis: str | None) -> None:
        self.pg_pid: int | None = None
        self.redis_pid: int | None = None
        if pg is None:
            server = PgServer()
            _cleanups.append(server.stop)
            pg = server.start()
            self.pg_pid = int((server.data / "postmaster.pid").read_text().split()[0])
        if redis is None:
            port = free_port()
            argv = ["redis-server", str(REPO / "deploy" / "redis.conf"), "--port", str(port),
                    "--dir", str(workdir), "--daemonize", "no"]  # fmt: skip
            proc = Proc("redis", argv, workdir / "redis.log")
            self.redis_pid = proc.pid
            redis = f"redis://127.0.0.1:{port}/0"
            _wait_port(port, proc)
        self.pg, self.redis = pg, redis

    def cpu(self) -> dict[str, float]:
        return {
            "redis": tree_cpu_seconds(self.redis_pid) if self.redis_pid else math.nan,
            "postgres": _with_reaped(self.pg_pid) if self.pg_pid else math.nan,
        }


def _with_reaped(pid: int) -> float:
    """The process tree's CPU plus what its exited children used: PostgreSQL's
    backends end with their connections, and their CPU must not vanish with them."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    reaped = (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")  # cutime, cstime
    return tree_cpu_seconds(pid) + reaped


def _wait_port(port: int, proc: Proc, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited:\n{proc.tail()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{proc.name} did not listen on {port} within {timeout_s:g}s")


def _tenancy(db: str, workdir: Path, mock_port: int) -> tuple[str, Path]:
    """A fresh organization with a grant whose limits are never reached (the limiter
    runs on every call), its key (the purpose implied), and the backends file."""
    org = f"bench-{uuid.uuid4().hex[:8]}"
    _cli(db, "org", "create", org)
    _cli(db, "grant", "add", "--org", org, "--model", MODEL, "--purpose", "benchmarking",
         "--rpm", "1000000", "--tpm", "1000000000")  # fmt: skip
    key = _cli(db, "key", "create", "--org", org, "--purpose", "benchmarking")
    backends = workdir / "backends.toml"
    backends.write_text(
        f'[backends."{MODEL}"]\nprovider = "openai"\n'
        f'base_url = "http://127.0.0.1:{mock_port}/v1"\nmodel = "{MODEL}"\n'
        f"max_concurrency = {E2E.connections}\n"
    )
    return key.strip().splitlines()[-1].strip(), backends


def _replica(
    name: str, workdir: Path, db: str, backends: Path, extra: list[str]
) -> tuple[Proc, int]:
    port = free_port()
    argv = [PYTHON, "-m", "benchwarden.cli", "serve", "--port", str(port), "--db", db,
            "--backends", str(backends), "--log-level", "warning", *extra]  # fmt: skip
    return Proc(name, argv, workdir / f"{name}.log"), port


def _nginx(workdir: Path, ports: list[int]) -> tuple[Proc, int]:
    """deploy/nginx.conf as written, its ports replaced: a free front, these replicas."""
    text = (REPO / "deploy" / "nginx.conf").read_text()
    servers = [line for line in text.splitlines() if "server 127.0.0.1:879" in line]
    block = "\n".join(servers[0].replace("8791", str(p)) for p in ports)
    text = text.replace("\n".join(servers), block)
    front = free_port()
    text = text.replace("listen 127.0.0.1:8790;", f"listen 127.0.0.1:{front};")
    prefix = workdir / "nginx"
    prefix.mkdir(exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(text)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    proc = Proc("nginx", [nginx, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
                workdir / "nginx.log")  # fmt: skip
    return proc, front


def _start(name: str, n: int, redis: bool, workdir: Path, servers: Servers, backends: Path,
           key: str) -> Setup:  # fmt: skip
    extra = ["--limits", servers.redis] if redis else []
    workdir.mkdir(parents=True, exist_ok=True)
    setup = Setup(name)
    started = [_replica(f"replica-{i}", workdir, servers.pg, backends, extra) for i in range(n)]
    setup.replicas = [proc for proc, _port in started]
    ports = [port for _proc, port in started]
    if n > 1:
        setup.nginx, front = _nginx(workdir, ports)
        setup.url = f"http://127.0.0.1:{front}/v1/chat/completions"
    else:
        setup.url = f"http://127.0.0.1:{ports[0]}/v1/chat/completions"
    for proc, port in zip(setup.replicas, ports, strict=True):
        wait_ready(_target(proc.name, f"http://127.0.0.1:{port}/v1/chat/completions", key, proc),
                   E2E.startup_timeout_s)  # fmt: skip
    wait_ready(_target(name, setup.url, key), E2E.startup_timeout_s)
    return setup


def _target(name: str, url: str, key: str, proc: Proc | None = None) -> Target:
    return Target(name, url, {"authorization": f"Bearer {key}"}, proc)


def _cpu(setup: Setup, servers: Servers) -> dict[str, float]:
    return {
        "warden": sum(tree_cpu_seconds(p.pid) for p in setup.replicas),
        "nginx": tree_cpu_seconds(setup.nginx.pid) if setup.nginx else math.nan,
        **servers.cpu(),
    }


SETUPS = (("1 x in-process", 1, False), ("1 x redis", 1, True), ("2 x redis+nginx", 2, True))


def _measure(setup: Setup, servers: Servers, direct: Target, key: str, rate: int,
             workdir: Path) -> Row:  # fmt: skip
    target = _target(setup.name, setup.url, key)
    before = _cpu(setup, servers)
    closed = measure_closed(target, E2E, workdir)
    after = _cpu(setup, servers)
    base = measure_open(direct, rate, E2E)  # the mock alone, just before, same rate
    run = measure_open(target, rate, E2E)
    row = Row(setup.name, closed.ok_per_s, closed.p50_ms, closed.p99_ms, load1=closed.load1)
    if rate > 0.9 * closed.ok_per_s:
        row.failures = f"open loop {rate}/s is over 90% of the maximum: queueing. "
    row.plus50, row.plus99 = run.p50_ms - base.p50_ms, run.p99_ms - base.p99_ms
    fails = {**closed.failures, **{f"open {k}": v for k, v in run.failures.items()}}
    row.failures += ", ".join(f"{k} x{v}" for k, v in sorted(fails.items()))
    row.cpu_ms = {k: 1000 * (after[k] - before[k]) / max(1, closed.ok) for k in before}
    return row


def _median(rows: list[Row]) -> Row:
    """Each figure's median over the rounds (failures joined)."""

    def mid(values: list[float]) -> float:
        return statistics.median(values)

    out = Row(rows[0].name)
    for name in ("max_rate", "closed_p50", "closed_p99", "plus50", "plus99", "load1"):
        setattr(out, name, mid([getattr(r, name) for r in rows]))
    out.cpu_ms = {k: mid([r.cpu_ms[k] for r in rows]) for k in rows[0].cpu_ms}
    out.failures = "; ".join(r.failures for r in rows if r.failures)
    return out


def e2e_figures(servers: Servers, rate: int, rounds: int, save: Path | None) -> None:
    """All three setups run at once, measured in turn, ``rounds`` times: background
    load falls on each alike; the table gives each figure's median."""
    load_before = os.getloadavg()[0]
    workdir = Path(tempfile.mkdtemp(prefix="bw-replicas-"))
    _cleanups.append(lambda: shutil.rmtree(workdir, ignore_errors=True))
    _mock, mock_port = start_mock(workdir, 0.0)
    _cli(servers.pg, "key", "list")  # migrate once, before replicas start on it
    key, backends = _tenancy(servers.pg, workdir, mock_port)
    direct = start_direct(mock_port)
    setups = [
        _start(name, n, shared, workdir / name.replace(" ", ""), servers, backends, key)
        for name, n, shared in SETUPS
    ]
    measured: dict[str, list[Row]] = {setup.name: [] for setup in setups}
    for round_ in range(rounds):
        for setup in setups:
            row = _measure(setup, servers, direct, key, rate, workdir)
            measured[setup.name].append(row)
            print(f"  round {round_ + 1}: {setup.name}: {row.max_rate:.0f}/s, warden "
                  f"{row.cpu_ms['warden']:.2f} ms/request", flush=True)  # fmt: skip
    for setup in setups:
        for proc in [*setup.replicas, *([setup.nginx] if setup.nginx else [])]:
            proc.stop()
    lines = _e2e_table([_median(rows) for rows in measured.values()], rate, rounds)
    print("\n".join(lines))
    if save is not None:
        save.parent.mkdir(parents=True, exist_ok=True)
        with save.open("a") as out:
            out.write(f"\n## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: python {' '.join(sys.argv)}\n")
            load = f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
            out.write(f"load average (2 cores): {load}\n\n```\n")
            out.write("\n".join(lines) + "\n```\n")


def _e2e_table(rows: list[Row], rate: int, rounds: int) -> list[str]:
    def f(value: float, digits: int = 2) -> str:
        return "-" if math.isnan(value) else f"{value:.{digits}f}"

    lines = [
        f"\nend to end, zero-latency mock upstream; closed loop: wrk, {E2E.connections} "
        f"connections; open loop: {rate}/s; CPU: ms per OK request over the closed loop; "
        f"medians of {rounds} interleaved rounds",
        f"{'setup':<17}{'max/s':>7}{'p50':>8}{'p99':>8}{'+p50':>9}{'+p99':>9}"
        f"{'warden':>8}{'redis':>7}{'pg':>7}{'nginx':>7}{'w+redis':>9}{'load1':>7}  failures",
    ]
    for r in rows:
        c = r.cpu_ms
        both = c["warden"] + (0.0 if math.isnan(c["redis"]) else c["redis"])
        redis = c["redis"] if "redis" in r.name else math.nan
        lines.append(
            f"{r.name:<17}{r.max_rate:>7.0f}{f(r.closed_p50, 1):>8}{f(r.closed_p99, 1):>8}"
            f"{f(r.plus50, 1):>9}{f(r.plus99, 1):>9}{f(c['warden']):>8}{f(redis):>7}"
            f"{f(c['postgres']):>7}{f(c['nginx']):>7}{f(both):>9}{r.load1:>7.1f}"
            f"  {r.failures or '0'}"
        )
    lines.append(
        "  p50/p99: closed-loop latency (ms); +p50/+p99: added over the mock called directly "
        "at the open-loop rate; pg and redis: '-' when not started here; w+redis: the "
        "warden processes' and Redis's CPU per request, the figure that carries to bigger "
        "machines"
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", help="a throwaway PostgreSQL database URL (default: start one)")
    parser.add_argument("--redis", help="a Redis URL (default: start redis-server)")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rate", type=int, default=50, help="open-loop rate, requests/s")
    parser.add_argument("--parts", default="admission,audit,e2e")
    parser.add_argument("--rounds", type=int, default=3, help="end-to-end rounds (medians)")
    parser.add_argument("--save", type=Path, help="append the end-to-end table to this file")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    with _children():
        workdir = Path(tempfile.mkdtemp(prefix="bw-replicas-servers-"))
        _cleanups.append(lambda: shutil.rmtree(workdir, ignore_errors=True))
        servers = Servers(workdir, args.pg, args.redis)
        if "admission" in parts:
            asyncio.run(limiter_figures(servers.redis, args.seconds))
        if "audit" in parts:
            audit_figures(servers.pg, args.seconds)
        if "e2e" in parts:
            e2e_figures(servers, args.rate, args.rounds, args.save)


if __name__ == "__main__":
    main()
