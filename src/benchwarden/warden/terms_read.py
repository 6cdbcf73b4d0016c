"""The per-request terms read on SQLite, without the thread-pool hop.

Every request reads its key, organization and grant afresh (no cache: a revocation
holds from the very next request). ``WardenStore.access`` does that through
SQLAlchemy on a worker thread; profiled under load, the hop (submit, wake, future
chaining) and SQLAlchemy's per-execution work were a fifth of warden's CPU per
request, for a query SQLite answers in a few microseconds. ``SqliteTermsReader`` runs
the same SELECT on the event loop's thread through one plain ``sqlite3`` connection
of its own (the statement compiled once and kept by the driver's statement cache).

Why blocking the loop is fine here: the database is in WAL mode, where a reader never
waits for a writer (it reads the last committed snapshot), so the call costs the
query's few microseconds. A short busy timeout covers the rare cases where SQLite
still asks a reader to wait (a WAL reset in progress); past it, the read falls back
to the store's own read on a worker thread, which waits as long as the store does.

The rows become the same records ``WardenStore.access`` returns (a test compares the
two on keys and grants in every state).
"""

from __future__ import annotations

import functools
import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import make_url

from benchwarden.store.warden_records import Access, GrantRecord, KeyRecord
from benchwarden.store.warden_store import WardenStore

_KEY_COLS = (
    "key_id",
    "org_id",
    "sha256",
    "purposes",
    "status",
    "created_at",
    "expires_at",
    "revoked_at",
    "revoke_reason",
)
_GRANT_COLS = (
    "id",
    "org_id",
    "model",
    "purposes",
    "rpm",
    "tpm",
    "max_concurrency",
    "expires_at",
    "created_at",
    "updated_at",
    "suspended_at",
    "suspend_reason",
)
# Column names from the constants above only; values are bound parameters.
_SQL = (
    "SELECT "  # noqa: S608
    + ", ".join(f"k.{c}" for c in _KEY_COLS)
    + ", o.name, "
    + ", ".join(f"g.{c}" for c in _GRANT_COLS)
    + " FROM warden_keys AS k JOIN warden_orgs AS o ON o.id = k.org_id"
    " LEFT OUTER JOIN warden_grants AS g ON g.org_id = k.org_id AND g.model = ?"
    " WHERE k.key_id = ?"
)
# Milliseconds a read may wait for SQLite before falling back to the worker thread.
BUSY_TIMEOUT_MS = 20


class ReadFallback(Exception):
    """The fast read could not answer now (locked, I/O error): read the slow way."""


# Decoding memos: the same key's row comes back with the same text on every request,
# and parsing it (seven timestamps, two JSON lists) cost more than the query. These map
# text to its parsed value only (immutable values: a datetime, a tuple); the row itself
# is read afresh every time, so nothing here can keep a revoked key alive.
@functools.lru_cache(maxsize=4096)
def _parse_time(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@functools.lru_cache(maxsize=1024)
def _parse_list(text: str) -> tuple[str, ...]:
    return tuple(json.loads(text) or ())


def _time(value: Any) -> datetime | None:
    """SQLite keeps naive UTC text (see ``store.schema.UTCDateTime``)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return _parse_time(str(value))


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return list(_parse_list(value))  # a fresh list: records are mutable
    found = json.loads(value) if isinstance(value, bytes) else value
    return list(found or [])


def _record(row: tuple[Any, ...]) -> Access:
    k = dict(zip(_KEY_COLS, row[: len(_KEY_COLS)], strict=True))
    org = row[len(_KEY_COLS)]
    g = dict(zip(_GRANT_COLS, row[len(_KEY_COLS) + 1 :], strict=True))
    key = KeyRecord(
        key_id=k["key_id"],
        org_id=int(k["org_id"]),
        org=org,
        sha256=k["sha256"],
        purposes=_list(k["purposes"]),
        status=k["status"],
        created_at=_time(k["created_at"]),  # type: ignore[arg-type]  # never null
        expires_at=_time(k["expires_at"]),
        revoked_at=_time(k["revoked_at"]),
        revoke_reason=k["revoke_reason"],
    )
    grant = None
    if g["id"] is not None:
        grant = GrantRecord(
            id=int(g["id"]),
            org_id=int(g["org_id"]),
            org=org,
            model=g["model"],
            purposes=_list(g["purposes"]),
            rpm=g["rpm"],
            tpm=g["tpm"],
            max_concurrency=g["max_concurrency"],
            expires_at=_time(g["expires_at"]),
            created_at=_time(g["created_at"]),  # type: ignore[arg-type]
            updated_at=_time(g["updated_at"]),  # type: ignore[arg-type]
            suspended_at=_time(g["suspended_at"]),
            suspend_reason=g["suspend_reason"],
        )
    return Access(key, grant)


class SqliteTermsReader:
    """One connection, used from one thread at a time (the event loop's)."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(
                self._path,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,  # autocommit: each SELECT is its own snapshot
                check_same_thread=False,  # built on one thread, used on the loop's
                cached_statements=16,
            )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._conn = conn
        return self._conn

    def access(self, key_id: str, model: str | None) -> Access | None:
        """What ``WardenStore.access`` returns, read now; raises ``ReadFallback`` when
        SQLite cannot answer at once (the caller then reads the store's way)."""
        try:
            row = self._connection().execute(_SQL, (model, key_id)).fetchone()
        except sqlite3.Error as exc:
            self.close()  # a fresh connection next time
            raise ReadFallback(str(exc)) from exc
        return None if row is None else _record(row)

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()


def sqlite_file(store: WardenStore) -> str | None:
    """The path of a store on a SQLite file; None for anything else (PostgreSQL, an
    in-memory database only the store's own connection can see)."""
    if store.dialect != "sqlite":
        return None
    database = make_url(store.url).database
    if database in (None, "", ":memory:") or str(database).startswith("file:"):
        return None
    return str(database)


def sqlite_reader(store: WardenStore) -> SqliteTermsReader | None:
    path = sqlite_file(store)
    return SqliteTermsReader(path) if path is not None else None
