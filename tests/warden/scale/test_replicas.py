"""Three warden replicas behind nginx (deploy/nginx.conf as written) over one real
PostgreSQL database, limits in one real Redis (started from deploy/redis.conf):

- one grant's RPM and TPM hold across the replicas under concurrent load, checked
  from the audit chain window by window (test_overshoot.py shows the same load with
  limits in each process going over);
- a key revoked through one replica's admin API ends a stream open on another within
  1 s (the replicas' poll is set to 30 s here, so only LISTEN/NOTIFY can do it), and
  the next request on every replica is refused;
- Redis stopped: 503 limits_unavailable in each API's error body; restarted: served
  again, with the window as it was (the append-only file of deploy/redis.conf).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest

from benchwarden.store.warden_store import open_warden_store
from benchwarden.testing.mock_upstream import MockUpstream, ThreadedMockUpstream
from benchwarden.warden.tenancy import GrantTerms, Tenancy
from tests.store.pg import PgServer
from tests.warden.scale.cluster import ADMIN_TOKEN, REDIS_CONF, Cluster, running_cluster
from tests.warden.scale.redis_server import RedisServer, running_redis
from tests.warden.scale.windows import admitted_per_window, org_rows, tokens_per_window

PURPOSE = {"Benchwarden-Purpose": "benchmarking"}
_orgs = iter(range(1, 1000))


@pytest.fixture(scope="module")
def slow_upstream() -> Iterator[MockUpstream]:
    # Plain answers at once; a stream takes about 120 x 30 ms.
    reply = " ".join(f"w{i}" for i in range(120))
    with ThreadedMockUpstream(reply=reply, stream_gap_s=0.03) as mock:
        yield mock


@pytest.fixture(scope="module")
def limits_redis() -> Iterator[RedisServer]:
    with running_redis(REDIS_CONF) as server:  # its own: a test stops and restarts it
        yield server


@pytest.fixture(scope="module")
def cluster(
    pg_server: PgServer, limits_redis: RedisServer, slow_upstream: MockUpstream
) -> Iterator[Cluster]:
    db = pg_server.create_database()
    open_warden_store(db).close()  # migrate once, before three replicas start on it
    with running_cluster(db, limits_redis.url, slow_upstream, watch_interval_s=30) as running:
        yield running


def tenant(db: str, **terms: Any) -> tuple[str, str, str]:
    """(org, key id, key) with a grant for mock-gpt and mock-claude."""
    store = open_warden_store(db)
    try:
        tenancy = Tenancy(store, "test")
        org = f"scale-{next(_orgs)}"
        tenancy.create_org(org)
        for model in ("mock-gpt", "mock-claude"):
            tenancy.add_grant(org, model, GrantTerms(("benchmarking",), **terms))
        record, secret = tenancy.create_key(org, ["benchmarking"])
        return org, record.key_id, secret
    finally:
        store.close()


async def fire(url: str, key: str, n: int, max_tokens: int = 5) -> list[httpx.Response]:
    body = {"model": "mock-gpt", "messages": [{"role": "user", "content": "hi"}]}
    headers = {"Authorization": f"Bearer {key}", **PURPOSE}
    limits = httpx.Limits(max_connections=n)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        calls = [
            client.post("/v1/chat/completions", json={**body, "max_tokens": max_tokens},
                        headers=headers)
            for _ in range(n)
        ]  # fmt: skip
        return list(await asyncio.gather(*calls))


def codes(responses: list[httpx.Response]) -> dict[str, int]:
    seen: dict[str, int] = {}
    for response in responses:
        code = "ok" if response.status_code == 200 else response.json()["error"]["code"]
        seen[code] = seen.get(code, 0) + 1
    return seen


async def test_rpm_and_tpm_hold_across_three_replicas(cluster: Cluster) -> None:
    org, _key_id, key = tenant(cluster.db, rpm=12)
    seen = codes(await fire(cluster.front, key, 60))
    assert seen == {"ok": 12, "rate_limited": 48}
    rows = org_rows(cluster.db, org)
    assert admitted_per_window(rows) == 12

    # TPM: each call reserves 74 (the prompt's bound) + 50 and settles at what it used.
    org, _key_id, key = tenant(cluster.db, tpm=600)
    results: list[httpx.Response] = []
    for _ in range(4):  # waves: settlements refund, later waves get in up to the limit
        results += await fire(cluster.front, key, 15, max_tokens=50)
    seen = codes(results)
    assert seen.get("token_limit", 0) > 0 and seen.get("ok", 0) >= 4
    rows = org_rows(cluster.db, org)
    assert tokens_per_window(rows) <= 600
    reserved = [r.detail["reserved_tokens"] for r in rows if r.decision == "allow"]
    assert reserved and all(r == 124 for r in reserved)


def test_revocation_on_one_replica_ends_a_stream_on_another_at_once(cluster: Cluster) -> None:
    _org, key_id, key = tenant(cluster.db)
    events: list[str] = []
    ended: list[float] = []
    body = {
        "model": "mock-gpt",
        "messages": [{"role": "user", "content": "a long story"}],
        "max_tokens": 500,
        "stream": True,
    }
    headers = {"Authorization": f"Bearer {key}", **PURPOSE}

    def read_stream() -> None:
        url = f"{cluster.replica_url(0)}/v1/chat/completions"
        with httpx.stream("POST", url, json=body, headers=headers, timeout=30) as response:
            assert response.status_code == 200
            for line in response.iter_lines():
                if line.startswith("data: "):
                    events.append(line[6:])
        ended.append(time.monotonic())

    reader = threading.Thread(target=read_stream)
    reader.start()
    deadline = time.monotonic() + 10
    while len(events) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(events) >= 5, "the stream did not start"
    revoked = httpx.post(
        f"{cluster.replica_url(1)}/admin/keys/{key_id}/revoke",
        json={"reason": "contract ended"},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=10,
    )
    assert revoked.status_code == 200, revoked.text
    at = time.monotonic()
    reader.join(15)
    assert ended, "the stream on replica 0 did not end"
    assert ended[0] - at < 1.0, f"ended {ended[0] - at:.2f}s after the revocation"
    assert '"key_revoked"' in events[-1] and events[-1] != "[DONE]"
    assert len(events) < 100  # cut, not finished (about 120 pieces)
    for i in range(3):
        response = httpx.post(
            f"{cluster.replica_url(i)}/v1/chat/completions",
            json={**body, "stream": False},
            headers=headers,
            timeout=10,
        )
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "key_revoked"


def test_redis_down_fails_closed_and_recovers(cluster: Cluster, limits_redis: RedisServer) -> None:
    _org, _key_id, key = tenant(cluster.db, rpm=3)
    openai_call = {
        "model": "mock-gpt",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 5,
    }
    anthropic_call = {**openai_call, "model": "mock-claude"}
    headers = {"Authorization": f"Bearer {key}", **PURPOSE}

    def chat() -> httpx.Response:
        url = f"{cluster.front}/v1/chat/completions"
        return httpx.post(url, json=openai_call, headers=headers, timeout=10)

    def messages() -> httpx.Response:
        url = f"{cluster.front}/v1/messages"
        return httpx.post(url, json=anthropic_call, headers=headers, timeout=10)

    assert chat().status_code == 200
    assert chat().status_code == 200
    limits_redis.stop()
    try:
        down = chat()
        assert down.status_code == 503, down.text
        assert down.json()["error"]["code"] == "limits_unavailable"
        assert down.headers["retry-after"] == "1"
        down = messages()
        assert down.status_code == 503
        error = down.json()
        assert error["type"] == "error" and error["error"]["code"] == "limits_unavailable"
        health = httpx.get(f"{cluster.replica_url(2)}/healthz", timeout=10)
        assert health.status_code == 503 and health.json()["limits"] == "unavailable"
    finally:
        limits_redis.start()
    assert chat().status_code == 200  # the third of 3
    # The window survived the restart (append-only file): the fourth is refused.
    after = chat()
    assert after.status_code == 429 and after.json()["error"]["code"] == "rate_limited"
    health = httpx.get(f"{cluster.replica_url(0)}/healthz", timeout=10).json()
    assert (health["db"], health["limits"], health["notices"]) == ("ok", "ok", "listening")
