"""Fixtures: every store test runs once on a SQLite file and once on a real PostgreSQL
server (started once per session; each test gets its own fresh database)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from benchwarden.store import Store, open_store
from tests.store.pg import PgServer, PgUnavailable, running_pg_server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    # Fail, never skip: a missing server must not turn the PostgreSQL half green.
    try:
        with running_pg_server() as server:
            yield server
    except PgUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A location for a store that does not exist yet (an empty database)."""
    if request.param == "sqlite":
        return str(tmp_path / "bw.db")
    server: PgServer = request.getfixturevalue("pg_server")
    return server.create_database()


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = open_store(db_url)
    yield opened
    opened.close()
