"""Engines: per-connection settings for SQLite, timeouts for PostgreSQL, and the
write transaction every store write goes through."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.pool import StaticPool

SQLITE_BUSY_TIMEOUT_S = 30
PG_CONNECT_TIMEOUT_S = 10
# Execution option that makes SQLite open the transaction with BEGIN IMMEDIATE.
WRITE_OPTION = "benchwarden_write"
# Execution option for a connection that runs exactly one SELECT: SQLite then runs it
# in its own implicit transaction (already a consistent snapshot) with no BEGIN and
# ROLLBACK around it; on warden's request path that was a quarter of the read's cost.
SINGLE_READ_OPTION = "benchwarden_single_read"
# Connections kept open: warden reads from a pool of threads; opening a SQLite
# connection (and its pragmas) per overflowing request cost more than the query, and
# with PostgreSQL's default of 5 one replica under load opened a new session (a backend
# process) for about one request in twenty.
POOL_SIZE = 16


def _sqlite_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:")


def _on_sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # Autocommit at the driver level: SQLAlchemy's "begin" hook below issues BEGIN
    # itself, so the driver never opens (or implicitly commits) transactions behind it.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    try:
        # busy_timeout first: switching to WAL may itself have to wait for a lock.
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA journal_mode = WAL")
        # In WAL mode NORMAL never corrupts and survives a killed process; only a
        # power loss can roll back the last commits.
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _on_sqlite_begin(conn: Connection) -> None:
    # A write transaction takes the write lock up front, waiting up to busy_timeout.
    # A deferred one that reads first and writes later can fail at once with
    # SQLITE_BUSY when another process committed in between (no wait applies then).
    options = conn.get_execution_options()
    if options.get(SINGLE_READ_OPTION, False):
        return
    conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get(WRITE_OPTION, False) else "BEGIN")


def _json_dumps(value: Any) -> str:
    # NaN/Infinity are not JSON: PostgreSQL rejects them, SQLite would keep them.
    # Refusing them everywhere keeps both backends alike.
    return json.dumps(value, allow_nan=False)


def create_engine(url: URL) -> Engine:
    """An engine for ``url`` (from ``urls.resolve_url``), with the per-connection settings."""
    if url.get_backend_name() == "sqlite":
        kwargs: dict[str, Any] = {
            "connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}
        }
        if _sqlite_memory(url):
            kwargs["poolclass"] = StaticPool  # one shared connection, or each sees its own DB
        else:
            Path(str(url.database)).parent.mkdir(parents=True, exist_ok=True)
            kwargs["pool_size"] = POOL_SIZE
        engine = sa.create_engine(url, json_serializer=_json_dumps, **kwargs)
        sa.event.listen(engine, "connect", _on_sqlite_connect)
        sa.event.listen(engine, "begin", _on_sqlite_begin)
        return engine
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
    return sa.create_engine(
        url,
        json_serializer=_json_dumps,
        pool_pre_ping=True,
        pool_size=POOL_SIZE,
        connect_args=connect_args,
    )


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction that commits on success and rolls back on any exception."""
    with engine.connect() as conn:
        conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            yield conn
