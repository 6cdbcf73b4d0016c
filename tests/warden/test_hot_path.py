"""The request path's shortcuts keep every guarantee (issue 19).

- The terms read on the event loop (``terms_read``) returns what the store's read
  returns, for keys and grants in every state; no cache: a revocation made through
  the CLI, in another process, is refused on the very next request.
- Audit records appended through the plain driver (``sqlite_append``) form the same
  chain the store writes: it verifies, reads back identical, interleaves with admin
  changes, and a deleted head row still falls back to the store's recovery.
- The canonical bytes a record's hash covers did not change.
- warden's own 429s carry the grant's rate-limit headers, as upstream 429s do.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2 as httpx
import pytest

from benchwarden.store.warden_store import open_warden_store
from benchwarden.warden.audit import AuditEntry, canonical, seal
from benchwarden.warden.sequencer import DbAuditSequencer
from benchwarden.warden.tenancy import GrantTerms, Tenancy
from benchwarden.warden.terms_read import ReadFallback, SqliteTermsReader, sqlite_reader
from tests.warden.conftest import Warden

ROOT = Path(__file__).resolve().parents[2]
PURPOSE = {"Benchwarden-Purpose": "benchmarking"}
CHAT = {"model": "mock-gpt", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}


def test_the_loop_read_returns_what_the_store_reads(tmp_path: Path) -> None:
    store = open_warden_store(str(tmp_path / "w.db"))
    admin = Tenancy(store, "test")
    later = datetime.now(UTC) + timedelta(days=3)
    admin.create_org("acme")
    admin.create_org("other")
    admin.add_grant("acme", "m1", GrantTerms(("benchmarking", "red-team"), 60, 9000, 4, later))
    admin.add_grant("acme", "m2", GrantTerms())
    admin.add_grant("other", "m1", GrantTerms(rpm=5))
    plain, _ = admin.create_key("acme")
    narrow, _ = admin.create_key("acme", ["benchmarking"], expires_at=later)
    revoked, _ = admin.create_key("other")
    admin.revoke_key(revoked.key_id, "contract ended — über")
    with sqlite3.connect(tmp_path / "w.db") as conn:  # a suspended grant, as the monitor sets
        conn.execute(
            "UPDATE warden_grants SET suspended_at = '2026-01-02 03:04:05.000006', "
            "suspend_reason = 'abuse' WHERE model = 'm2'"
        )
    reader = sqlite_reader(store)
    assert isinstance(reader, SqliteTermsReader)
    cases = [
        (key, model)
        for key in (plain.key_id, narrow.key_id, revoked.key_id, "ffffffff")
        for model in ("m1", "m2", "nope", None)
    ]
    for key_id, model in cases:
        assert reader.access(key_id, model) == store.access(key_id, model), (key_id, model)
    found = reader.access(narrow.key_id, "m1")
    assert found is not None and found.grant is not None
    assert found.key.expires_at == later and found.key.expires_at.tzinfo is not None
    assert found.grant.suspended_at is None and found.grant.purposes == ["benchmarking", "red-team"]
    suspended = reader.access(plain.key_id, "m2")
    assert suspended is not None and suspended.grant is not None
    assert suspended.grant.suspended_at == datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    # Changes by another connection show at once: nothing is kept between reads.
    admin.revoke_key(plain.key_id)
    again = reader.access(plain.key_id, "m1")
    assert again is not None and again.key.status == "revoked"
    reader.close()
    store.close()


async def test_a_loop_read_that_fails_falls_back_to_the_stores_read(warden: Warden) -> None:
    tenant = warden.tenant()
    broken = SqliteTermsReader(str(Path(warden.db).parent / "no-such-dir" / "w.db"))
    with pytest.raises(ReadFallback):
        broken.access(tenant.key_id, "mock-gpt")
    warden.runtime.gate.reader = broken  # every read now fails on the loop
    headers = {"authorization": f"Bearer {tenant.key}", **PURPOSE}
    async with httpx.AsyncClient(base_url=warden.url, timeout=10) as http:
        ok = await http.post("/v1/chat/completions", headers=headers, json=CHAT)
        assert ok.status_code == 200  # read the store's way, on a worker
        warden.runtime.tenancy.revoke_key(tenant.key_id)
        refused = await http.post("/v1/chat/completions", headers=headers, json=CHAT)
        assert refused.json()["error"]["code"] == "key_revoked"


def test_no_loop_read_for_a_database_only_the_store_can_see() -> None:
    store = open_warden_store("sqlite:///:memory:")
    assert sqlite_reader(store) is None
    store.close()


def _entry(i: int, **detail: object) -> AuditEntry:
    return AuditEntry(
        actor=f"key:{i:08x}",
        action="chat.completions",
        decision="allow",
        ts=datetime.now(UTC),
        org="acme",
        key_id=f"{i:08x}",
        model="m1",
        purpose="benchmarking",
        input_tokens=i,
        request_sha256="ab" * 32,
        detail={"stream": False, "reserved_tokens": 98 + i, **detail},
    )


def test_driver_appends_make_the_chain_the_store_makes(tmp_path: Path) -> None:
    store = open_warden_store(str(tmp_path / "w.db"))
    sequencer = DbAuditSequencer(store)
    admin = Tenancy(store, "test", sequencer)
    admin.create_org("acme")  # an admin change: the store's path
    first = sequencer.append([_entry(1), _entry(2, note="ünïcode ✓", wait=0.25)])
    admin.create_org("beta")
    second = sequencer.append([_entry(3)])
    assert [r.seq for r in first + second] == [2, 3, 5]
    assert second[0].prev_hash == admin.audit_tail(2)[0].hash  # chained onto the admin record
    stored = {r.seq: r for r in admin.audit_tail(100)}
    for row in first + second:
        assert stored[row.seq] == row  # read back identical (ts, detail, every field)
    report = admin.verify_audit()
    assert report.ok and report.records == 5 and report.head_seq == 5
    # A deleted head row: the driver path steps aside and the store recreates it.
    with sqlite3.connect(tmp_path / "w.db") as conn:
        conn.execute("DELETE FROM warden_audit_head")
    (recovered,) = sequencer.append([_entry(4)])
    assert recovered.seq == 6
    after = admin.verify_audit()
    assert after.ok and after.records == 6 and after.head_seq == 6
    sequencer.close()
    store.close()


def test_the_hashed_bytes_are_unchanged() -> None:
    row = seal(
        _entry(7, note='é\u2028"x"', nested={"b": [1e16, 0.1, None], "a": True}), 9, "0" * 64
    )
    fields = json.loads(canonical(row))
    expected = json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()
    assert canonical(row) == expected
    with pytest.raises(ValueError, match="JSON compliant"):
        canonical(seal(_entry(8, bad=float("nan")), 10, "0" * 64))


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.warden.cli_app", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
        check=False,
    )


async def test_a_cli_revocation_is_refused_on_the_very_next_request(warden: Warden) -> None:
    tenant = warden.tenant()
    headers = {"authorization": f"Bearer {tenant.key}", **PURPOSE}
    async with httpx.AsyncClient(base_url=warden.url, timeout=10) as http:
        for _ in range(5):  # whatever could warm up is warm
            ok = await http.post("/v1/chat/completions", headers=headers, json=CHAT)
            assert ok.status_code == 200
        done = _cli("key", "revoke", tenant.key_id, "--reason", "ended", "--db", warden.db)
        assert done.returncode == 0, done.stderr
        refused = await http.post("/v1/chat/completions", headers=headers, json=CHAT)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "key_revoked"
        # And a grant removed through the CLI, for another tenant's very next request.
        other = warden.tenant()
        headers = {"authorization": f"Bearer {other.key}", **PURPOSE}
        assert (await http.post("/v1/chat/completions", headers=headers, json=CHAT)).is_success
        done = _cli("grant", "remove", "--org", other.org, "--model", "mock-gpt", "--db", warden.db)
        assert done.returncode == 0, done.stderr
        gone = await http.post("/v1/chat/completions", headers=headers, json=CHAT)
        assert (gone.status_code, gone.json()["error"]["code"]) == (403, "model_not_granted")


async def test_wardens_own_429s_carry_the_grants_headers(warden: Warden) -> None:
    tenant = warden.tenant(rpm=2, tpm=100_000)
    headers = {"authorization": f"Bearer {tenant.key}", **PURPOSE}
    async with httpx.AsyncClient(base_url=warden.url, timeout=10) as http:
        for left in ("1", "0"):
            ok = await http.post("/v1/chat/completions", headers=headers, json=CHAT)
            assert ok.headers["x-ratelimit-remaining-requests"] == left
        refused = await http.post("/v1/chat/completions", headers=headers, json=CHAT)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limited"
        assert refused.headers["x-ratelimit-limit-requests"] == "2"
        assert refused.headers["x-ratelimit-remaining-requests"] == "0"
        assert refused.headers["x-ratelimit-reset-requests"].endswith("s")
        assert refused.headers["x-ratelimit-limit-tokens"] == "100000"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        claude = {"x-api-key": tenant.key, "anthropic-version": "2023-06-01", **PURPOSE}
        body = {"model": "mock-claude", "max_tokens": 4, "messages": CHAT["messages"]}
        other = warden.tenant(rpm=1)
        claude["x-api-key"] = other.key
        assert (await http.post("/v1/messages", headers=claude, json=body)).is_success
        limited = await http.post("/v1/messages", headers=claude, json=body)
        assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
        assert limited.headers["anthropic-ratelimit-requests-limit"] == "1"
        assert limited.headers["anthropic-ratelimit-requests-remaining"] == "0"
        assert limited.headers["anthropic-ratelimit-requests-reset"].endswith("Z")
        assert "retry-after" in limited.headers
        # A token-limit refusal too (one that alone needs more than the TPM).
        small = warden.tenant(tpm=200)
        headers = {"authorization": f"Bearer {small.key}", **PURPOSE}
        big = {**CHAT, "max_tokens": 150}  # 150 + the prompt's bound (74) > 200
        tokens = await http.post("/v1/chat/completions", headers=headers, json=big)
        assert (tokens.status_code, tokens.json()["error"]["code"]) == (429, "token_limit")
        assert tokens.headers["x-ratelimit-limit-tokens"] == "200"
        assert tokens.headers["x-ratelimit-remaining-tokens"] == "200"
        assert tokens.headers["x-should-retry"] == "false"
