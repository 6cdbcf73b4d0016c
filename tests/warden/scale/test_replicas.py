"""Three warden replicas behind nginx (deploy/nginx.conf as written) over one real
PostgreSQL database, limits in one real Redis (started from deploy/redis.conf):

- one grant's RPM and TPM hold across the replicas under concurrent load, checked
  from the audit chain window by window (test_overshoot.py shows the same load with
  limits in each process going over);
- a key revoked through one replica's admin API ends a stream open on another within
  1 s (the replicas' poll is set to 30 s here, so only LISTEN/NOTIFY can do it), and
  the next request on every replica is refused;
- Redis stopped: 503 limits_unavailable in each API's error body; restarted: served
  again, with the window as it was (the append-only file of deploy/redis.conf);
- one audit chain, verified while all three append, tampering still detected;
- a replica killed (SIGKILL) mid-stream: a transport error for its client, service
  from the others, its concurrency slot freed by its lease, its call charged once.
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
    responses = await fire(cluster.front, key, 60)
    assert codes(responses) == {"ok": 12, "rate_limited": 48}
    # Each admission saw the one shared window: what is left counts down once, 11 to 0.
    left = [r.headers["x-ratelimit-remaining-requests"] for r in responses if r.is_success]
    assert sorted(int(n) for n in left) == list(range(12))
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


def test_one_audit_chain_verifies_while_all_replicas_write(cluster: Cluster) -> None:
    _org, _key_id, key = tenant(cluster.db)
    store = open_warden_store(cluster.db)
    tenancy = Tenancy(store, "test")
    reports: list[Any] = []
    load = threading.Thread(target=lambda: asyncio.run(fire(cluster.front, key, 150)))
    try:
        load.start()
        while load.is_alive():  # audit verify while the three replicas append
            reports.append(tenancy.verify_audit())
        load.join()
        final = tenancy.verify_audit()
        assert all(r.ok for r in reports) and final.ok, [r.problem for r in reports]
        assert len(reports) >= 2
        rows = tenancy.audit_tail(100_000)
        assert [r.seq for r in rows] == list(range(rows[0].seq, rows[0].seq + len(rows)))
        # Tampering is still detected, then undone for the tests after this one.
        victim = rows[len(rows) // 2]
        with store.write() as conn:
            conn.exec_driver_sql(
                "UPDATE warden_audit SET code = 'forged' WHERE seq = %(seq)s", {"seq": victim.seq}
            )
        broken = tenancy.verify_audit()
        assert broken.problem is not None and broken.problem.kind == "altered"
        assert broken.problem.seq == victim.seq
        with store.write() as conn:
            conn.exec_driver_sql(
                "UPDATE warden_audit SET code = %(code)s WHERE seq = %(seq)s",
                {"code": victim.code, "seq": victim.seq},
            )
        assert tenancy.verify_audit().ok
    finally:
        store.close()


def test_a_replica_killed_mid_stream(cluster: Cluster) -> None:
    """Its client gets a clean error, the others go on, its slot expires with its
    lease, and its call is charged once (an admission, no settlement)."""
    org, _key_id, key = tenant(cluster.db, max_concurrency=1)
    body = {
        "model": "mock-gpt",
        "messages": [{"role": "user", "content": "a long story"}],
        "max_tokens": 500,
        "stream": True,
    }
    headers = {"Authorization": f"Bearer {key}", **PURPOSE}
    victim = cluster.replicas[2]
    errors: list[BaseException] = []
    started = threading.Event()

    def read_stream() -> None:
        url = f"{cluster.replica_url(2)}/v1/chat/completions"
        try:
            with httpx.stream("POST", url, json=body, headers=headers, timeout=30) as response:
                for line in response.iter_lines():
                    if line.startswith("data: "):
                        started.set()
        except httpx.HTTPError as exc:
            errors.append(exc)

    reader = threading.Thread(target=read_stream)
    reader.start()
    assert started.wait(10)
    victim.kill()
    victim.wait(10)
    reader.join(10)
    assert errors and isinstance(errors[0], httpx.TransportError)  # not a hang
    plain = {**body, "stream": False, "max_tokens": 5}
    # Its slot is still held: the grant allows one call in flight.
    held = httpx.post(f"{cluster.front}/v1/chat/completions", json=plain, headers=headers)
    assert held.status_code == 429 and held.json()["error"]["code"] == "rate_limited"
    deadline = time.monotonic() + 15
    while True:  # the others go on; the lease (4 s here) frees the slot
        answer = httpx.post(f"{cluster.front}/v1/chat/completions", json=plain, headers=headers)
        if answer.status_code == 200:
            break
        assert answer.status_code == 429 and time.monotonic() < deadline, answer.text
        time.sleep(0.2)
    rows = org_rows(cluster.db, org)
    streamed = [r for r in rows if r.action == "chat.completions" and r.detail.get("stream")]
    assert [r.decision for r in streamed] == ["allow"]
    settled = [r for r in rows if r.action == "chat.completions.settle"]
    assert len(settled) == 1  # the call that got through; the killed one none, never two
