"""warden's tables on SQLite and PostgreSQL: tenancy, the per-request read, the audit
sequencer under concurrent appenders (several handles, as several replicas would be),
and tampering done in SQL, caught by verify at the first record touched."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from benchwarden.store import schema
from benchwarden.store.engine import create_engine
from benchwarden.store.urls import resolve_url
from benchwarden.store.warden_store import WardenStore, open_warden_store
from benchwarden.warden.audit import AuditEntry, seal
from benchwarden.warden.tenancy import GrantTerms, Tenancy, WardenError

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def wstore(db_url: str) -> Iterator[WardenStore]:
    opened = open_warden_store(db_url)
    yield opened
    opened.close()


def _sql(db_url: str, *statements: str) -> None:
    engine = create_engine(resolve_url(db_url))
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(sa.text(statement))
    finally:
        engine.dispose()


def test_tenancy_round_trip(wstore: WardenStore) -> None:
    admin = Tenancy(wstore, "tester")
    org = admin.create_org("acme")
    with pytest.raises(WardenError, match="already exists"):
        admin.create_org("acme")
    grant = admin.add_grant("acme", "m1", GrantTerms(("benchmarking",), rpm=5, tpm=100))
    replaced = admin.add_grant("acme", "m1", GrantTerms(("benchmarking",), rpm=1, expires_at=NOW))
    assert replaced.id == grant.id and replaced.rpm == 1 and replaced.tpm is None
    assert replaced.expires_at == NOW
    admin.add_grant("acme", "m2", GrantTerms())
    record, secret = admin.create_key("acme", ["benchmarking"], NOW + timedelta(days=1))
    assert secret.startswith(f"bw_{record.key_id}_")

    access = wstore.access(record.key_id, "m1")
    assert access is not None and access.grant is not None
    assert access.key.org == "acme" and access.key.org_id == org.id
    assert access.key.purposes == ["benchmarking"] and access.key.sha256 == record.sha256
    assert access.grant.id == grant.id and access.grant.rpm == 1
    no_grant = wstore.access(record.key_id, "other")
    assert no_grant is not None and no_grant.grant is None
    assert wstore.access("ffffffff", "m1") is None

    assert [g.model for g in admin.list_grants("acme")] == ["m1", "m2"]
    admin.remove_grant("acme", "m2")
    assert [g.model for g in admin.list_grants()] == ["m1"]
    revoked, changed = admin.revoke_key(f"bw_{record.key_id}", "done")
    assert changed and revoked.status == "revoked"
    assert admin.revoke_key(record.key_id)[1] is False
    listed = admin.list_keys("acme")
    assert [(k.key_id, k.status, k.revoke_reason) for k in listed] == [
        (record.key_id, "revoked", "done")
    ]
    keys, grants = wstore.live_state({record.key_id, "ffffffff"}, {grant.id, 999})
    assert set(keys) == {record.key_id} and set(grants) == {grant.id}
    assert grants[grant.id].org == "acme"

    actions = [r.action for r in admin.audit_tail(100)]
    assert actions == [
        "org.create",
        "grant.add",
        "grant.add",
        "grant.add",
        "key.create",
        "grant.remove",
        "key.revoke",
    ]
    assert admin.verify_audit().ok


def test_admin_change_and_its_record_commit_together(wstore: WardenStore) -> None:
    admin = Tenancy(wstore, "tester")
    with pytest.raises(WardenError):
        admin.add_grant("nobody", "m", GrantTerms())
    assert admin.audit_tail(10) == []
    assert wstore.audit.tail(1) == []


def test_concurrent_appenders_share_one_chain(db_url: str) -> None:
    """Four handles (separate engines and locks, like four replicas), appending at once."""
    stores = [open_warden_store(db_url) for _ in range(4)]
    per_writer, batch = 15, 3
    errors: list[BaseException] = []

    def write(store: WardenStore, writer: int) -> None:
        try:
            admin = Tenancy(store, f"writer-{writer}")
            for i in range(per_writer):
                entries = [
                    AuditEntry(
                        actor=f"w{writer}",
                        action="test",
                        decision="done",
                        ts=NOW,
                        detail={"i": i, "j": j},
                    )
                    for j in range(batch)
                ]
                admin.sequencer.append(entries)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(s, n)) for n, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    admin = Tenancy(stores[0], "checker")
    report = admin.verify_audit()
    assert report.ok, report.problem
    assert report.records == report.head_seq == 4 * per_writer * batch
    rows = admin.audit_tail(1000)
    # A batch is contiguous: appended in one transaction.
    for first in range(0, len(rows), batch):
        assert len({r.actor for r in rows[first : first + batch]}) == 1
    for store in stores:
        store.close()


def test_verify_while_appending_never_raises_a_false_alarm(db_url: str) -> None:
    writer_store, reader_store = open_warden_store(db_url), open_warden_store(db_url)
    stop = threading.Event()

    def append() -> None:
        admin = Tenancy(writer_store, "writer")
        while not stop.is_set():
            admin.sequencer.append(
                [AuditEntry(actor="w", action="test", decision="done", ts=NOW)] * 5
            )

    thread = threading.Thread(target=append)
    thread.start()
    try:
        reader = Tenancy(reader_store, "reader")
        for _ in range(15):
            report = reader.verify_audit()
            assert report.ok, report.problem
    finally:
        stop.set()
        thread.join()
        writer_store.close()
        reader_store.close()


def _seeded(wstore: WardenStore, n: int = 8) -> Tenancy:
    admin = Tenancy(wstore, "tester")
    admin.sequencer.append(
        [
            AuditEntry(
                actor="key:1",
                action="chat.completions",
                decision="allow",
                ts=NOW,
                input_tokens=i,
                detail={"i": i},
            )
            for i in range(n)
        ]
    )
    assert admin.verify_audit().ok
    return admin


@pytest.mark.parametrize(
    ("statements", "seq", "kind"),
    [
        (["UPDATE warden_audit SET decision = 'refuse' WHERE seq = 3"], 3, "altered"),
        (["UPDATE warden_audit SET output_tokens = 99 WHERE seq = 8"], 8, "altered"),
        (["DELETE FROM warden_audit WHERE seq = 4"], 4, "removed"),
        (["DELETE FROM warden_audit WHERE seq IN (2, 3)"], 2, "removed"),
        (["DELETE FROM warden_audit WHERE seq = 8"], 8, "removed"),
        (
            [
                "UPDATE warden_audit SET seq = -5 WHERE seq = 5",
                "UPDATE warden_audit SET seq = 5 WHERE seq = 6",
                "UPDATE warden_audit SET seq = 6 WHERE seq = -5",
            ],
            5,
            "reordered",
        ),
        (["DELETE FROM warden_audit_head"], 9, "removed"),
    ],
    ids=["edit", "edit-last", "delete", "delete-two", "delete-last", "reorder", "head"],
)
def test_tampering_in_sql_is_caught(
    wstore: WardenStore, db_url: str, statements: list[str], seq: int, kind: str
) -> None:
    admin = _seeded(wstore)
    _sql(db_url, *statements)
    report = admin.verify_audit()
    assert report.problem is not None
    assert (report.problem.seq, report.problem.kind) == (seq, kind), report.problem.message


def test_inserted_record_is_caught(wstore: WardenStore) -> None:
    admin = _seeded(wstore)
    last = admin.audit_tail(1)[0]
    # A forged record after the last one, with a valid link and hash, the head untouched.
    forged = seal(AuditEntry(actor="x", action="key.create", decision="done", ts=NOW), 9, last.hash)
    with wstore.write() as conn:
        conn.execute(sa.insert(schema.warden_audit), [dataclasses.asdict(forged)])
    report = admin.verify_audit()
    assert report.problem is not None
    assert (report.problem.seq, report.problem.kind) == (9, "inserted")


def test_appending_continues_after_the_head_row_is_lost(wstore: WardenStore, db_url: str) -> None:
    admin = _seeded(wstore, 3)
    _sql(db_url, "DELETE FROM warden_audit_head")
    admin.sequencer.append([AuditEntry(actor="x", action="y", decision="z", ts=NOW)])
    report = admin.verify_audit()
    assert report.ok and report.head_seq == 4
