"""The chain's format and verify, on plain rows: every kind of tampering is named at
the first record it touches."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from benchwarden.store.warden_records import GENESIS_HASH, AuditRow
from benchwarden.warden.audit import AuditEntry, record_hash, seal, verify_chain

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def chain(n: int) -> list[AuditRow]:
    rows: list[AuditRow] = []
    prev = GENESIS_HASH
    for i in range(n):
        entry = AuditEntry(
            actor="key:1a2b3c4d",
            action="chat.completions",
            decision="allow" if i % 3 else "refuse",
            ts=T0 + timedelta(milliseconds=i),
            org="acme",
            key_id="1a2b3c4d",
            model="m",
            purpose="benchmarking",
            code=None if i % 3 else "rate_limited",
            input_tokens=i,
            output_tokens=2 * i,
            request_sha256="ab" * 32,
            detail={"n": i, "nested": {"b": [1, 2], "a": "é"}},
        )
        row = seal(entry, i + 1, prev)
        rows.append(row)
        prev = row.hash
    return rows


def check(rows: list[AuditRow], head: tuple[int, str] | None = None) -> tuple[int, str] | None:
    if head is None and rows:
        head = (rows[-1].seq, rows[-1].hash)
    if not rows and head is None:
        head = (0, GENESIS_HASH)

    def find(digest: str) -> list[int]:
        return [r.seq for r in rows if r.hash == digest]

    report = verify_chain(rows, head, find)
    return None if report.problem is None else (report.problem.seq, report.problem.kind)


def test_intact_chains_verify() -> None:
    assert check([]) is None
    rows = chain(10)
    assert check(rows) is None
    report = verify_chain(rows, (10, rows[-1].hash), lambda _h: [])
    assert report.ok and report.records == 10 and report.head_seq == 10


def test_the_hash_covers_every_field() -> None:
    row = chain(1)[0]
    changes = {
        "seq": 2,
        "ts": T0 + timedelta(microseconds=1),
        "actor": "x",
        "action": "x",
        "decision": "x",
        "org": "x",
        "key_id": "x",
        "model": "x",
        "purpose": "x",
        "code": "x",
        "input_tokens": 1,
        "output_tokens": 1,
        "request_sha256": "cd" * 32,
        "detail": {"n": 1},
        "prev_hash": "1" * 64,
    }
    for name, value in changes.items():
        assert record_hash(dataclasses.replace(row, **{name: value})) != row.hash, name


def test_timestamps_hash_the_same_in_any_zone() -> None:
    row = chain(1)[0]
    elsewhere = row.ts.astimezone(datetime.now().astimezone().tzinfo)
    assert record_hash(dataclasses.replace(row, ts=elsewhere)) == row.hash


def test_edit() -> None:
    rows = chain(10)
    assert rows[3].decision == "refuse"
    rows[3] = dataclasses.replace(rows[3], decision="allow", code=None)
    assert check(rows) == (4, "altered")


def test_edit_and_rehash() -> None:
    rows = chain(10)
    forged = dataclasses.replace(rows[4], output_tokens=0)
    forged.hash = record_hash(forged)
    rows[4] = forged
    assert check(rows) == (5, "broken")


def test_delete_in_the_middle_and_at_the_end() -> None:
    rows = chain(10)
    assert check(rows[:3] + rows[4:]) == (4, "removed")
    assert check(rows[:2] + rows[5:]) == (3, "removed")
    assert check(rows[:9], head=(10, rows[9].hash)) == (10, "removed")


def test_reorder() -> None:
    rows = chain(10)
    a, b = rows[3], rows[4]
    rows[3] = dataclasses.replace(b, seq=4)
    rows[4] = dataclasses.replace(a, seq=5)
    assert check(rows) == (4, "reordered")


def test_insert_with_renumbering() -> None:
    rows = chain(10)
    forged = seal(
        AuditEntry(actor="x", action="key.create", decision="done", ts=T0), 4, rows[2].hash
    )
    shifted = [dataclasses.replace(r, seq=r.seq + 1) for r in rows[3:]]
    assert check([*rows[:3], forged, *shifted]) == (4, "inserted")


def test_append_beyond_the_head() -> None:
    rows = chain(5)
    extra = seal(AuditEntry(actor="x", action="y", decision="z", ts=T0), 6, rows[-1].hash)
    assert check([*rows, extra], head=(5, rows[-1].hash)) == (6, "inserted")


def test_missing_head() -> None:
    rows = chain(3)
    report = verify_chain(rows, None, lambda _h: [])
    assert report.problem is not None and report.problem.kind == "removed"
