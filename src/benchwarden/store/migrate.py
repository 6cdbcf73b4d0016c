"""Bringing a database to the current schema with Alembic, on open.

The migrations ship inside the package (``migrations/``) and run from code; no
alembic.ini is needed. When the database is already current, which is every open but
the first, a single query confirms it and Alembic is not even imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from benchwarden.store.engine import create_engine, write_transaction
from benchwarden.store.records import StoreError
from benchwarden.store.urls import default_db_url, display_url, resolve_url, scrub, sentence

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# The newest revision under migrations/versions; a test keeps the two in step.
SCHEMA_HEAD = "0005_suspension"
# Serialises concurrent migrations on one PostgreSQL database (any constant will do).
PG_MIGRATION_LOCK = 0x62776D67


def alembic_config() -> Config:
    """Alembic settings built in code, pointing at the packaged migrations."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def current_revision(conn: Connection) -> str | None:
    """The revision the database is at; None for an empty database."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database to ``revision`` in one transaction (a no-op when current).

    Concurrent openers are serialised: SQLite by the write lock BEGIN IMMEDIATE takes,
    PostgreSQL by a transaction-level advisory lock, so a second process finds the
    schema already there instead of racing to create it.
    """
    from alembic import command

    config = alembic_config()
    with write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(PG_MIGRATION_LOCK)))
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def open_engine(location: str | None) -> tuple[Engine, URL]:
    """Resolve ``location``, connect, and migrate to head when needed.

    Raises StoreError that says what to do, with any password masked.
    """
    raw = default_db_url() if location is None else location
    url = resolve_url(location)
    shown = display_url(url)
    try:
        engine = create_engine(url)
    except (SQLAlchemyError, ImportError, OSError) as exc:
        reason = sentence(scrub(str(exc), raw, url))
        raise StoreError(f"Cannot set up database {shown}: {reason} Check the path.") from exc
    try:
        with engine.connect() as conn:
            current = current_revision(conn)
        if current != SCHEMA_HEAD:
            _migrate_or_explain(engine, shown, current)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreError(_open_failure(url, shown, exc, raw)) from exc
    except BaseException:
        engine.dispose()
        raise
    return engine, url


def _migrate_or_explain(engine: Engine, shown: str, current: str | None) -> None:
    from alembic.util.exc import CommandError

    try:
        migrate(engine)
    except CommandError as exc:
        # Typically a revision this version does not know: a newer benchwarden wrote it.
        raise StoreError(
            f"Cannot migrate database {shown} (at revision {current!r}): {sentence(str(exc))} "
            "If a newer benchwarden created it, upgrade benchwarden to open it."
        ) from exc


def _open_failure(url: URL, shown: str, exc: SQLAlchemyError, raw: str) -> str:
    reason = sentence(scrub(str(getattr(exc, "orig", None) or exc), raw, url))
    if url.get_backend_name() == "sqlite":
        return (
            f"Cannot open SQLite database {shown}: {reason} Check that the file is "
            "writable and is a SQLite database (or pass another path)."
        )
    return (
        f"Cannot open PostgreSQL database {shown}: {reason} Check that the server is "
        "running and reachable from here, and that the user, password and database name "
        "are right (the database must exist); or pass a SQLite file path instead."
    )
