"""The audit chain's persistence: sequenced appends and ordered reads.

The store does not know how records are hashed: ``append`` takes a ``seal`` function
(``benchwarden.warden.audit.seal``) that turns an entry, its sequence number and the
previous record's hash into a sealed row. What the store guarantees is the order:
inside the caller's write transaction it locks the head row (``warden_audit_head``;
``SELECT ... FOR UPDATE`` on PostgreSQL, the database write lock on SQLite), so two
appenders, in one process or on several replicas, can never take the same number
or chain onto the same predecessor.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from benchwarden.store import schema
from benchwarden.store.guard import Guard
from benchwarden.store.warden_records import GENESIS_HASH, AuditRow

E = TypeVar("E")
Seal = Callable[[E, int, str], AuditRow]

_AUDIT = schema.warden_audit
_HEAD = schema.warden_audit_head
_FIELDS = tuple(f.name for f in dataclasses.fields(AuditRow))

# Built once: every request appends, and building statements per call cost more than
# executing them.
_LOCK_HEAD = sa.select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1).with_for_update()
_INSERT = sa.insert(_AUDIT)
_MOVE_HEAD = (
    sa.update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(seq=sa.bindparam("new_seq"), hash=sa.bindparam("new_hash"))
)


def _row(mapping: Any) -> AuditRow:
    return AuditRow(**{name: mapping[name] for name in _FIELDS})


class AuditLog:
    def __init__(self, engine: Engine, guard: Guard) -> None:
        self._engine = engine
        self._guard = guard

    def append(self, conn: Connection, entries: Sequence[E], seal: Seal[E]) -> list[AuditRow]:
        """Sequence, seal and insert ``entries`` in the caller's write transaction."""
        if not entries:
            return []
        with self._guard.errors("append to the audit chain"):
            head = conn.execute(_LOCK_HEAD).first()
            if head is None:
                # The head row was deleted: continue from the last record, and recreate it.
                # (verify reports the missing head; appending must not stop the service.)
                last = conn.execute(
                    sa.select(_AUDIT.c.seq, _AUDIT.c.hash).order_by(_AUDIT.c.seq.desc()).limit(1)
                ).first()
                seq, prev = (int(last[0]), str(last[1])) if last else (0, GENESIS_HASH)
                conn.execute(sa.insert(_HEAD), {"id": 1, "seq": seq, "hash": prev})
            else:
                seq, prev = int(head[0]), str(head[1])
            rows = []
            for entry in entries:
                row = seal(entry, seq + 1, prev)
                rows.append(row)
                seq, prev = row.seq, row.hash
            # Shallow field copies: dataclasses.asdict deep-copies every detail dict.
            conn.execute(_INSERT, [{n: getattr(r, n) for n in _FIELDS} for r in rows])
            conn.execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": prev})
        return rows

    @contextmanager
    def snapshot(self) -> Iterator[AuditReader]:
        """A reader over one consistent snapshot of the chain and its head (one read
        transaction; REPEATABLE READ on PostgreSQL), so appends made meanwhile by a
        running server neither show up half-way nor look like tampering."""
        with self._guard.errors("read the audit chain"), self._engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield AuditReader(conn, self._guard)

    def tail(self, n: int) -> list[AuditRow]:
        """The last ``n`` records, oldest first."""
        query = sa.select(_AUDIT).order_by(_AUDIT.c.seq.desc()).limit(max(n, 0))
        with self._guard.errors("read the audit chain"), self._engine.connect() as conn:
            found = [_row(r._mapping) for r in conn.execute(query)]
        return found[::-1]


class AuditReader:
    """Reads of the chain on one connection (see ``AuditLog.snapshot``)."""

    def __init__(self, conn: Connection, guard: Guard) -> None:
        self._conn = conn
        self._guard = guard

    def rows(self, after_seq: int = 0, batch: int = 1000) -> Iterator[AuditRow]:
        """Every record with ``seq > after_seq``, in sequence order, read in batches."""
        last = after_seq
        while True:
            query = sa.select(_AUDIT).where(_AUDIT.c.seq > last).order_by(_AUDIT.c.seq).limit(batch)
            with self._guard.errors("read the audit chain"):
                chunk = [_row(r._mapping) for r in self._conn.execute(query)]
            yield from chunk
            if len(chunk) < batch:
                return
            last = chunk[-1].seq

    def head(self) -> tuple[int, str] | None:
        """(seq, hash) of the last record as the head row records it; None if missing."""
        query = sa.select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1)
        with self._guard.errors("read the audit head"):
            found = self._conn.execute(query).first()
        return None if found is None else (int(found[0]), str(found[1]))

    def seqs_with_hash(self, digest: str) -> list[int]:
        """Sequence numbers of the records whose hash is ``digest`` (for verify's report)."""
        query = sa.select(_AUDIT.c.seq).where(_AUDIT.c.hash == digest).order_by(_AUDIT.c.seq)
        with self._guard.errors("read the audit chain"):
            return [int(r[0]) for r in self._conn.execute(query)]
