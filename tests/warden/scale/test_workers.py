"""``serve --workers N``: several processes behind one port, limits exact across them
(Redis), the monitor's scheduled evaluation on exactly one of them (and taken over
when that one is killed), all stopped by one SIGTERM to the parent; refused without
shared limits."""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from benchwarden.store.warden_store import open_warden_store
from benchwarden.testing.mock_upstream import MockUpstream, ThreadedMockUpstream
from benchwarden.warden.tenancy import Tenancy
from tests.store.pg import PgServer, free_port
from tests.warden.scale.cluster import backends_toml
from tests.warden.scale.redis_server import RedisServer, fresh_limits
from tests.warden.scale.test_replicas import codes, fire, tenant


@pytest.fixture(scope="module")
def plain_upstream() -> Iterator[MockUpstream]:
    with ThreadedMockUpstream(reply="alpha beta gamma") as mock:
        yield mock


def test_workers_share_one_port_and_one_set_of_limits(
    pg_server: PgServer, redis_server: RedisServer, plain_upstream: MockUpstream
) -> None:
    db = pg_server.create_database()
    open_warden_store(db).close()
    base = Path(tempfile.mkdtemp(prefix="bw-workers-"))
    backends = base / "backends.toml"
    backends.write_text(backends_toml(plain_upstream))
    port = free_port()
    env = {**os.environ, "BENCHWARDEN_HOME": str(base), "WARDEN_SCALE_UPSTREAM_KEY": "sk-x"}
    log = base / "serve.log"
    args = ["--port", str(port), "--db", db, "--backends", str(backends), "--no-monitor",
            "--workers", "2", "--limits", redis_server.url, "--log-level", "warning",
            "--monitor-every", "1"]  # fmt: skip
    fresh_limits(redis_server.url)  # a new database: a Redis database of its own
    parent = subprocess.Popen(
        [sys.executable, "-m", "benchwarden.cli", "serve", *args],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        replicas: set[str] = set()
        deadline = time.monotonic() + 90
        while len(replicas) < 2 and time.monotonic() < deadline:
            assert parent.poll() is None, log.read_text()
            try:  # a new connection each time: the kernel spreads them over the workers
                health = httpx.get(f"{url}/healthz", timeout=2)
                if health.status_code == 200:
                    replicas.add(health.json()["replica"])
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        assert len(replicas) == 2, f"answered by {replicas}"
        _org, _key_id, key = tenant(db, rpm=5)
        seen = codes(asyncio.run(fire(url, key, 20)))
        assert seen == {"ok": 5, "rate_limited": 15}

        # The monitor evaluates once a second, on one worker only (the lock's holder).
        before = len(_evaluations(db))  # it has run since the first worker came up
        time.sleep(3.5)
        runs = _evaluations(db)[max(0, before - 1) :]
        assert 2 <= len(runs) <= 5, runs
        assert len({r.detail["replica"] for r in runs}) == 1
        gaps = [(b.ts - a.ts).total_seconds() for a, b in itertools.pairwise(runs)]
        assert all(gap > 0.6 for gap in gaps), gaps
        leader = runs[-1].detail["replica"]
        os.kill(int(leader.rsplit(":", 1)[1]), signal.SIGKILL)  # the other takes over
        deadline = time.monotonic() + 20
        while not [r for r in _evaluations(db) if r.detail["replica"] != leader]:
            assert time.monotonic() < deadline, "no other worker took the lead"
            time.sleep(0.2)
    finally:
        os.kill(parent.pid, signal.SIGTERM)  # the supervisor stops its workers
        try:
            parent.wait(30)
        finally:
            if parent.poll() is None:
                os.kill(parent.pid, signal.SIGKILL)
            shutil.rmtree(base, ignore_errors=True)
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{url}/healthz", timeout=2)


def _evaluations(db: str) -> list[Any]:
    store = open_warden_store(db)
    try:
        rows = Tenancy(store, "test").audit_tail(100_000)
    finally:
        store.close()
    return [r for r in rows if r.action == "monitor.evaluate"]


def test_workers_need_shared_limits() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchwarden.cli", "serve", "--workers", "3"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "--workers 3 needs --limits redis://" in done.stdout + done.stderr
