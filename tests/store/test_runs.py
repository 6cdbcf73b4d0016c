"""Opening, migrating, and the runs table; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from benchwarden.store import Store, StoreError, open_store
from benchwarden.store.engine import create_engine
from benchwarden.store.migrate import SCHEMA_HEAD
from benchwarden.store.schema import metadata
from benchwarden.store.urls import resolve_url
from tests.store.helpers import make_run, make_sample


def _inspect(db_url: str) -> tuple[set[str], list[str], list[tuple[str, object]]]:
    engine = create_engine(resolve_url(db_url))
    try:
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            versions = [
                r[0] for r in conn.execute(sa.text("SELECT version_num FROM alembic_version"))
            ]
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()
    return tables, versions, diff


def test_open_creates_schema_matching_the_code(store: Store, db_url: str) -> None:
    tables, versions, diff = _inspect(db_url)
    assert {"runs", "samples", "alembic_version"} <= tables
    assert {"warden_orgs", "warden_grants", "warden_keys", "warden_audit"} <= tables
    assert versions == [SCHEMA_HEAD]
    # The hand-written migration and schema.py describe the same tables.
    assert diff == []


def test_reopening_is_a_no_op(store: Store, db_url: str) -> None:
    store.create_run(make_run())
    store.add_samples([make_sample("a")])
    store.close()
    again = open_store(db_url)
    try:
        assert again.get_run("run-1") is not None
        assert len(again.samples("run-1")) == 1
    finally:
        again.close()
    _, versions, _ = _inspect(db_url)
    assert versions == [SCHEMA_HEAD]


def test_dialect_and_url(store: Store, db_url: str) -> None:
    assert store.dialect in ("sqlite", "postgresql")
    assert store.url.startswith(store.dialect)


def test_sqlite_pragmas(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/p.db")
    try:
        with store._engine.connect() as conn:
            pragma = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
            }
    finally:
        store.close()
    assert pragma == {
        "journal_mode": "wal",
        "synchronous": 1,
        "busy_timeout": 30000,
        "foreign_keys": 1,
    }


def test_create_and_get_run(store: Store) -> None:
    run = make_run(note="first try")
    store.create_run(run)
    assert run.created_at is not None and run.created_at.tzinfo is not None
    got = store.get_run("run-1")
    assert got == run
    assert got is not None and got.created_at is not None
    assert got.created_at.utcoffset() == timedelta(0)
    assert got.updated_at == got.created_at
    assert got.settings == {"limit": 5, "epochs": 2, "max_tokens": 256}
    assert store.get_run("nope") is None


def test_given_timestamps_are_kept_and_normalised_to_utc(store: Store) -> None:
    paris = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=ZoneInfo("Europe/Paris"))
    naive = datetime(2026, 3, 2, 8, 0, 0)
    store.create_run(make_run(created_at=paris, updated_at=naive))
    got = store.get_run("run-1")
    assert got is not None
    assert got.created_at == paris and got.created_at.tzinfo == UTC
    assert got.updated_at == naive.replace(tzinfo=UTC) and got.updated_at.tzinfo == UTC


def test_duplicate_run_id_is_refused(store: Store) -> None:
    store.create_run(make_run())
    with pytest.raises(StoreError, match="already exists"):
        store.create_run(make_run(purpose="safety-evaluation"))
    got = store.get_run("run-1")
    assert got is not None and got.purpose == "benchmarking"


def test_invalid_run_status_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="status"):
        store.create_run(make_run(status="done"))
    store.create_run(make_run())
    with pytest.raises(StoreError, match="status"):
        store.update_run("run-1", status="paused")


def test_list_runs_newest_first(store: Store) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i, run_id in enumerate(["b", "c", "a"]):
        store.create_run(make_run(run_id, created_at=start + timedelta(minutes=i)))
    assert [r.run_id for r in store.list_runs()] == ["a", "c", "b"]
    assert [r.run_id for r in store.list_runs(limit=2)] == ["a", "c"]
    assert store.list_runs(limit=0) == []


def test_update_run(store: Store) -> None:
    store.create_run(make_run(created_at=datetime(2026, 1, 1, tzinfo=UTC)))
    store.update_run("run-1", status="stopped", note="budget cap reached")
    got = store.get_run("run-1")
    assert got is not None and got.updated_at is not None and got.created_at is not None
    assert (got.status, got.note) == ("stopped", "budget cap reached")
    assert got.settings == make_run().settings
    assert got.updated_at > got.created_at

    store.update_run("run-1", settings={"limit": 10, "budget": {"usd": 2.5}})
    got = store.get_run("run-1")
    assert got is not None
    assert got.settings == {"limit": 10, "budget": {"usd": 2.5}}
    assert (got.status, got.note) == ("stopped", "budget cap reached")


def test_update_unknown_run_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="No run 'ghost'"):
        store.update_run("ghost", status="complete")
