"""The audit sequencer: the one place records get their number and their link.

``AuditSequencer`` is the interface; ``DbAuditSequencer`` is the implementation for
one process or many: an in-process lock (threads of one replica take turns instead of
contending for the database lock) around one database transaction that locks the
chain's head row, sequences, seals and inserts. It works unchanged on SQLite (the
write lock) and PostgreSQL (``SELECT ... FOR UPDATE`` on the head), so several
stateless replicas can share one chain.

``commit`` runs an admin change and appends its records in the same transaction: a
key is never revoked without the record saying so, nor recorded revoked when it is not.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from sqlalchemy.engine import Connection

from benchwarden.store.warden_records import AuditRow
from benchwarden.store.warden_store import WardenStore
from benchwarden.warden.audit import AuditEntry, seal
from benchwarden.warden.sqlite_append import SqliteAppender
from benchwarden.warden.terms_read import sqlite_file

T = TypeVar("T")
Change = Callable[[Connection], tuple[T, Sequence[AuditEntry]]]


class AuditSequencer(Protocol):
    def append(self, entries: Sequence[AuditEntry]) -> list[AuditRow]: ...

    def commit(self, change: Change[T]) -> tuple[T, list[AuditRow]]: ...


class DbAuditSequencer:
    """Blocking; thread-safe. Call from a worker thread in async code."""

    def __init__(self, store: WardenStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        path = sqlite_file(store)
        self._fast = SqliteAppender(path) if path is not None else None

    def append(self, entries: Sequence[AuditEntry]) -> list[AuditRow]:
        if self._fast is not None:  # a SQLite file: the driver directly (sqlite_append.py)
            with self._lock:
                rows = self._fast.append(entries, seal)
            if rows is not None:
                return rows
        _, stored = self.commit(lambda _conn: (None, entries))
        return stored

    def close(self) -> None:
        if self._fast is not None:
            with self._lock:
                self._fast.close()

    def commit(self, change: Change[T]) -> tuple[T, list[AuditRow]]:
        with self._lock, self._store.write("record to the audit chain") as conn:
            result, entries = change(conn)
            rows = self._store.audit.append(conn, entries, seal)
        return result, rows
