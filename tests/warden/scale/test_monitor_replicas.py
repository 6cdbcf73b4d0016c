"""The monitor across three replicas behind nginx, over one PostgreSQL database:

- usage recorded by every replica lands in the shared database;
- the scheduled evaluation (``--monitor-every 1``) runs on exactly one replica, the
  holder of the advisory lock, once per interval;
- its automatic response (a suspension: thresholds set so that any usage reaches
  it, ``--monitor-auto suspend``) binds every replica: the next request to each one,
  and through nginx, is refused with 403 ``grant_suspended``.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2 as httpx
import pytest

from benchwarden.store.warden_store import open_warden_store
from benchwarden.testing.mock_upstream import ThreadedMockUpstream
from benchwarden.warden.tenancy import Tenancy
from tests.store.pg import PgServer
from tests.warden.scale.cluster import Cluster, running_cluster
from tests.warden.scale.redis_server import RedisServer
from tests.warden.scale.test_replicas import PURPOSE, tenant

MONITOR_ARGS = (
    "--monitor",
    "--monitor-every", "1",
    "--monitor-auto", "suspend",
    "--monitor-thresholds", "0,0,0,101",  # any usage scores a suspension, never a revoke
)  # fmt: skip


@pytest.fixture(scope="module")
def monitored_cluster(pg_server: PgServer, redis_server: RedisServer) -> Iterator[Cluster]:
    db = pg_server.create_database()
    open_warden_store(db).close()
    with (
        ThreadedMockUpstream(reply="alpha beta gamma") as mock,
        running_cluster(db, redis_server.url, mock, args=MONITOR_ARGS) as running,
    ):
        yield running


def _rows(db: str) -> list[Any]:
    store = open_warden_store(db)
    try:
        return Tenancy(store, "test").audit_tail(100_000)
    finally:
        store.close()


def _usage(db: str, org: str) -> list[Any]:
    store = open_warden_store(db)
    try:
        now = datetime.now(UTC)
        return store.monitor.usage(now - timedelta(hours=1), now + timedelta(minutes=1), org)
    finally:
        store.close()


async def _call(url: str, key: str, max_tokens: int) -> httpx.Response:
    body = {"model": "mock-gpt", "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": max_tokens}  # fmt: skip
    headers = {"Authorization": f"Bearer {key}", **PURPOSE}
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(f"{url}/v1/chat/completions", json=body, headers=headers)


def test_monitor_usage_shared_evaluated_once_response_binds_all(
    monitored_cluster: Cluster,
) -> None:
    cluster = monitored_cluster
    replicas = {
        httpx.get(f"{cluster.replica_url(i)}/healthz", timeout=10).json()["replica"]
        for i in range(3)
    }
    assert len(replicas) == 3
    org, _key_id, key = tenant(cluster.db)
    began = datetime.now(UTC)

    # Replica i gets i + 1 calls, each with max_tokens 11 + i: its mark in the usage.
    async def load() -> list[httpx.Response]:
        calls = [_call(cluster.replica_url(i), key, 11 + i) for i in range(3) for _ in range(i + 1)]
        return list(await asyncio.gather(*calls))

    answers = asyncio.run(load())
    assert [a.status_code for a in answers] == [200] * 6, [a.text for a in answers]

    # The leader's evaluation sees the usage of all three and suspends the grants.
    deadline = time.monotonic() + 20
    while not [r for r in _rows(cluster.db) if r.action == "monitor.suspend" and r.org == org]:
        assert time.monotonic() < deadline, "no scheduled suspension"
        time.sleep(0.2)
    usage = _usage(cluster.db, org)
    assert Counter(u.max_tokens for u in usage) == {11: 1, 12: 2, 13: 3}
    assert {u.outcome for u in usage} == {"completed"}

    # Binding on every replica, at once (new requests read the database).
    for url in [cluster.replica_url(i) for i in range(3)] + [cluster.front]:
        refused = asyncio.run(_call(url, key, 5))
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "grant_suspended"

    time.sleep(2.2)  # a few more intervals
    rows = _rows(cluster.db)
    runs = [r for r in rows if r.action == "monitor.evaluate" and r.ts >= began]
    leaders = {r.detail["replica"] for r in runs}
    assert len(leaders) == 1 and leaders <= replicas, leaders  # one replica evaluates
    gaps = [(b.ts - a.ts).total_seconds() for a, b in itertools.pairwise(runs)]
    assert runs and all(gap > 0.6 for gap in gaps), gaps  # once per interval, not thrice
    span = (runs[-1].ts - runs[0].ts).total_seconds()
    assert len(runs) <= span / 0.9 + 1
    # Applied once (by the leader), naming both of the organization's grants.
    applied = [r for r in rows if r.org == org and r.action == "monitor.suspend"]
    suspended = [r for r in rows if r.org == org and r.action == "grant.suspend"]
    assert len(applied) == 1 and applied[0].actor == "monitor:schedule"
    assert sorted(r.model for r in suspended) == ["mock-claude", "mock-gpt"]
