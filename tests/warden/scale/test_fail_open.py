"""Fail open for declared grants while Redis is down, with every such admission in the
audit chain; everything else fails closed. The replica is started by
``serve --config FILE`` as an operator would (limits URL, lease, fail-open grants,
database and backends from the file, the port from the command line), and a real
redis-server is stopped mid-test and started again."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from benchwarden.store.warden_store import open_warden_store
from benchwarden.testing.mock_upstream import MockUpstream, ThreadedMockUpstream
from benchwarden.warden.fail_open import BYPASS_ACTION
from benchwarden.warden.tenancy import GrantTerms, Tenancy
from tests.store.pg import PgServer, free_port
from tests.warden.scale.cluster import UPSTREAM_KEY_ENV, _stop, _wait_http, backends_toml
from tests.warden.scale.redis_server import RedisServer, running_redis
from tests.warden.scale.windows import org_rows

PURPOSE = {"Benchwarden-Purpose": "benchmarking"}


@pytest.fixture(scope="module")
def upstream() -> Iterator[MockUpstream]:
    with ThreadedMockUpstream(reply="alpha beta gamma delta", stream_gap_s=0.01) as mock:
        yield mock


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    with running_redis() as server:  # its own: this test stops and restarts it
        yield server


def _tenant(tenancy: Tenancy, org: str) -> tuple[int, int, str]:
    """(mock-gpt grant id, mock-claude grant id, key) of a new organization, rpm 2."""
    tenancy.create_org(org)
    ids = [
        tenancy.add_grant(org, model, GrantTerms(("benchmarking",), rpm=2)).id
        for model in ("mock-gpt", "mock-claude")
    ]
    _record, secret = tenancy.create_key(org, ["benchmarking"])
    return ids[0], ids[1], secret


def test_declared_grants_fail_open_audited_others_closed(
    pg_server: PgServer, own_redis: RedisServer, upstream: MockUpstream
) -> None:
    db = pg_server.create_database()
    store = open_warden_store(db)
    try:
        tenancy = Tenancy(store, "test")
        _open_gpt, open_claude, open_key = _tenant(tenancy, "open/org")
        _shut_gpt, _shut_claude, shut_key = _tenant(tenancy, "shut")
    finally:
        store.close()
    base = Path(tempfile.mkdtemp(prefix="bw-failopen-"))
    (base / "backends.toml").write_text(backends_toml(upstream))
    config = base / "warden.toml"
    config.write_text(
        f"""[serve]
db = "{db}"
backends = "backends.toml"          # next to this file
limits = "{own_redis.url}"
limits-lease = 4
limits-fail-open = ["open/org/mock-gpt", {open_claude}]
port = 1                            # the command line's --port wins
monitor = false
log-level = "warning"
"""
    )
    port = free_port()
    log = base / "serve.log"
    env = {"BENCHWARDEN_HOME": str(base / "home"), UPSTREAM_KEY_ENV: "sk-upstream-x"}
    process = subprocess.Popen(
        [sys.executable, "-m", "benchwarden.cli", "serve", "--config", str(config),
         "--port", str(port)],
        env={**os.environ, **env},
        cwd="/",
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{url}/healthz", process, log, 90)
        assert f"fail open for grants {open_claude}, open/org/mock-gpt" in log.read_text()

        def chat(key: str, **extra: Any) -> httpx.Response:
            body = {"model": "mock-gpt", "messages": [{"role": "user", "content": "hi"}],
                    "max_tokens": 5, **extra}  # fmt: skip
            headers = {"Authorization": f"Bearer {key}", **PURPOSE}
            return httpx.post(f"{url}/v1/chat/completions", json=body, headers=headers, timeout=10)

        def messages(key: str) -> httpx.Response:
            body = {"model": "mock-claude", "messages": [{"role": "user", "content": "hi"}],
                    "max_tokens": 5}  # fmt: skip
            headers = {"x-api-key": key, "anthropic-version": "2023-06-01", **PURPOSE}
            return httpx.post(f"{url}/v1/messages", json=body, headers=headers, timeout=10)

        # Redis up: the declared grant is counted like any other (rpm 2).
        assert [chat(open_key).status_code for _ in range(3)] == [200, 200, 429]
        own_redis.stop()
        try:
            health = httpx.get(f"{url}/healthz", timeout=10)
            assert health.status_code == 503 and health.json()["limits"] == "unavailable"
            # Declared (by ORG/MODEL and by id): served, beyond its rpm, uncounted.
            served = [chat(open_key) for _ in range(3)]
            assert [r.status_code for r in served] == [200, 200, 200], served[-1].text
            assert messages(open_key).status_code == 200
            streamed = chat(open_key, stream=True)
            assert streamed.status_code == 200 and streamed.text.rstrip().endswith("[DONE]")
            # Not declared: fail closed, as without the flag.
            for refused in (chat(shut_key), messages(shut_key)):
                assert refused.status_code == 503, refused.text
                assert "limits_unavailable" in refused.text
        finally:
            own_redis.start()
        # Redis back (empty: no persistence here): counted again, nothing bypassed.
        assert [chat(open_key).status_code for _ in range(3)] == [200, 200, 429]
    finally:
        _stop(process)
        shutil.rmtree(base, ignore_errors=True)

    rows = org_rows(db, "open/org")
    bypasses = [r for r in rows if r.action == BYPASS_ACTION]
    # One audited bypass per admission while Redis was down: 3 + 1 stream + 1 Messages.
    assert len(bypasses) == 5
    assert {(r.model, r.code, r.decision) for r in bypasses} == {
        ("mock-gpt", "limits_unavailable", "allow"),
        ("mock-claude", "limits_unavailable", "allow"),
    }
    assert all("Redis unreachable" in r.detail["reason"] for r in bypasses)
    assert {r.detail["grant_id"] for r in bypasses if r.model == "mock-claude"} == {open_claude}
    # Each bypass record comes right before its admission's own record.
    seqs = {r.seq: r for r in rows}
    for bypass in bypasses:
        follows = [r for s, r in seqs.items() if s > bypass.seq and r.action != BYPASS_ACTION]
        assert follows and follows[0].decision == "allow"
    allowed = [r for r in rows if r.action == "chat.completions" and r.decision == "allow"]
    assert len(allowed) == 2 + 4 + 2  # before, during (3 + the stream), after
    shut = org_rows(db, "shut")
    assert not [r for r in shut if r.action == BYPASS_ACTION]
    assert [r.code for r in shut if r.decision == "refuse"] == ["limits_unavailable"] * 2
    report = _verify(db)
    assert report.ok, report.problem


def _verify(db: str) -> Any:
    store = open_warden_store(db)
    try:
        return Tenancy(store, "test").verify_audit()
    finally:
        store.close()
