"""Appending audit records on a SQLite file through a plain ``sqlite3`` connection.

Every request appends two records (its decision, awaited before the answer, and its
outcome), in group commits. Through SQLAlchemy, a commit of a few dozen records spent
most of its time in per-statement and per-row Python work (compiling parameters,
type processors), holding the GIL the event loop needs; the same statements through
the driver directly cost a fraction of it. ``SqliteAppender.append`` does exactly what
``AuditLog.append`` does in its own transaction: ``BEGIN IMMEDIATE`` (SQLite's write
lock, which serialises writers in every process), read the head, seal, insert, move
the head, commit. Values are stored in the forms SQLAlchemy stores (naive UTC text
timestamps, JSON text), so every reader sees the same rows; a test checks that the
chain it writes verifies and reads back identical to the store's.

A missing head row (someone deleted it) is left to the store's own path, which
recreates it: the appender reports ``None`` and the caller falls back.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from benchwarden.store.records import StoreError
from benchwarden.store.warden_records import AuditRow
from benchwarden.warden.audit import AuditEntry

Seal = Callable[[AuditEntry, int, str], AuditRow]
_COLUMNS = (
    "seq",
    "ts",
    "actor",
    "action",
    "org",
    "key_id",
    "model",
    "purpose",
    "decision",
    "code",
    "input_tokens",
    "output_tokens",
    "request_sha256",
    "detail",
    "prev_hash",
    "hash",
)
_INSERT = (
    f"INSERT INTO warden_audit ({', '.join(_COLUMNS)}) "  # noqa: S608 (constant names)
    f"VALUES ({', '.join('?' for _ in _COLUMNS)})"
)
_HEAD = "SELECT seq, hash FROM warden_audit_head WHERE id = 1"
_MOVE_HEAD = "UPDATE warden_audit_head SET seq = ?, hash = ? WHERE id = 1"
BUSY_TIMEOUT_S = 30  # as the store's engine: wait this long for another writer


def _stored_time(ts: datetime) -> str:
    """SQLAlchemy's SQLite DATETIME text for ``UTCDateTime``: naive UTC, microseconds."""
    utc = ts.astimezone(UTC) if ts.tzinfo is not None else ts
    return utc.strftime("%Y-%m-%d %H:%M:%S.") + f"{utc.microsecond:06d}"


def _params(row: AuditRow) -> tuple[Any, ...]:
    return (
        row.seq,
        _stored_time(row.ts),
        row.actor,
        row.action,
        row.org,
        row.key_id,
        row.model,
        row.purpose,
        row.decision,
        row.code,
        row.input_tokens,
        row.output_tokens,
        row.request_sha256,
        json.dumps(row.detail, allow_nan=False),  # the engine's json_serializer
        row.prev_hash,
        row.hash,
    )


class SqliteAppender:
    """Blocking; one connection, used under the sequencer's lock only."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(
                self._path,
                timeout=BUSY_TIMEOUT_S,
                isolation_level=None,  # transactions are ours: BEGIN IMMEDIATE below
                check_same_thread=False,  # any worker thread, one at a time (the lock)
            )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
            conn.execute("PRAGMA synchronous = NORMAL")  # as the store's connections
            conn.execute("PRAGMA foreign_keys = ON")
            self._conn = conn
        return self._conn

    def append(self, entries: Sequence[AuditEntry], seal: Seal) -> list[AuditRow] | None:
        """The sealed rows, committed; None when the head row is missing (nothing done:
        the caller appends the store's way). Raises ``StoreError`` when SQLite fails."""
        if not entries:
            return []
        try:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            self.close()
            raise StoreError(f"Cannot append to the audit chain: {exc}") from exc
        try:
            head = conn.execute(_HEAD).fetchone()
            if head is None:
                conn.execute("ROLLBACK")
                return None
            seq, prev = int(head[0]), str(head[1])
            rows = []
            for entry in entries:
                row = seal(entry, seq + 1, prev)
                rows.append(row)
                seq, prev = row.seq, row.hash
            conn.executemany(_INSERT, [_params(r) for r in rows])
            conn.execute(_MOVE_HEAD, (seq, prev))
            conn.execute("COMMIT")
        except BaseException as exc:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                self.close()
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"Cannot append to the audit chain: {exc}") from exc
            raise
        return rows

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()
