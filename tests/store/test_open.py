"""Where a store can live, how it is opened, and what opening errors say."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from benchwarden.store import StoreError, default_db_url, open_store
from benchwarden.store.engine import create_engine
from benchwarden.store.migrate import SCHEMA_HEAD, alembic_config
from benchwarden.store.urls import mask_url, resolve_url, scrub
from tests.store.helpers import make_run
from tests.store.pg import PgServer, free_port


def test_packaged_migrations_are_found_and_head_is_known() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_heads() == [SCHEMA_HEAD]
    assert [r.revision for r in script.walk_revisions()][-1] == "0001_initial"


def test_default_location_is_under_benchwarden_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BENCHWARDEN_HOME", str(tmp_path / "home"))
    assert default_db_url() == f"sqlite:///{tmp_path / 'home' / 'benchwarden.db'}"
    with open_store() as store:
        store.create_run(make_run())
        assert store.dialect == "sqlite"
    assert (tmp_path / "home" / "benchwarden.db").is_file()


@pytest.mark.parametrize("form", ["path", "relative path", "url"])
def test_sqlite_location_forms(tmp_path: Path, form: str, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "sub" / "dir" / "runs.db"  # missing folders are created
    if form == "path":
        location = str(target)
    elif form == "url":
        location = f"sqlite:///{target}"
    else:
        monkeypatch.chdir(tmp_path)
        location = "sub/dir/runs.db"
    with open_store(location) as store:
        store.create_run(make_run())
        assert store.url == f"sqlite:///{target}"
    with open_store(str(target)) as store:
        assert store.get_run("run-1") is not None


def test_in_memory_sqlite_is_one_database() -> None:
    with open_store("sqlite://") as store:
        store.create_run(make_run())
        assert store.get_run("run-1") is not None


def test_postgres_url_forms_use_psycopg() -> None:
    for given in ("postgresql://u:p@h/db", "postgres://u:p@h/db", "postgresql+psycopg://u@h/db"):
        assert resolve_url(given).drivername == "postgresql+psycopg"


def test_postgresql_by_each_spelling(pg_server: PgServer) -> None:
    url = pg_server.create_database()
    with open_store(url) as store:
        store.create_run(make_run())
        assert store.dialect == "postgresql"
    with open_store(url.replace("postgresql://", "postgres://")) as store:
        assert store.get_run("run-1") is not None


@pytest.mark.parametrize(
    "location", ["mysql://u:hunter2@h/db", "postgresql+psycopg2://u:hunter2@h/db", "   "]
)
def test_unsupported_locations(location: str) -> None:
    with pytest.raises(StoreError) as info:
        open_store(location)
    message = str(info.value)
    assert "hunter2" not in message
    assert "sqlite:///PATH" in message


def test_unreachable_postgresql_never_shows_the_password() -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql://bench:s3cr%3At-pw@127.0.0.1:{port}/runs?password=other-pw"
    with pytest.raises(StoreError) as info:
        open_store(url)
    text = str(info.value)
    for secret in ("s3cr", "s3cr%3At-pw", "s3cr:t-pw", "other-pw"):
        assert secret not in text
    assert "***" in text
    assert "running and reachable" in text
    chained = repr(info.value.__cause__)
    assert "s3cr:t-pw" not in chained and "other-pw" not in chained


def test_wrong_password_on_a_real_server_is_masked(pg_server: PgServer) -> None:
    # Trust auth accepts any password; a missing database still fails the open.
    url = f"postgresql://postgres:TopSecret99@127.0.0.1:{pg_server.port}/no_such_db"
    with pytest.raises(StoreError) as info:
        open_store(url)
    assert "TopSecret99" not in str(info.value)
    assert "no_such_db" in str(info.value)


def test_masking_helpers() -> None:
    assert mask_url("postgresql://u:pw@h:5432/d") == "postgresql://u:***@h:5432/d"
    assert mask_url("postgresql://u@h/d?sslmode=require&password=x") == (
        "postgresql://u@h/d?sslmode=require&password=***"
    )
    raw = "postgresql://u:p%40ss@h/d"
    assert scrub("auth failed for p@ss and p%40ss", raw, resolve_url(raw)) == (
        "auth failed for *** and ***"
    )


def test_not_a_database_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="SQLite database"):
        open_store(str(junk))


def test_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "future.db"
    open_store(str(db)).close()
    engine = create_engine(resolve_url(str(db)))
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099_future'"))
    engine.dispose()
    with pytest.raises(StoreError, match="upgrade benchwarden"):
        open_store(str(db))


def test_opening_a_current_database_does_not_load_alembic(tmp_path: Path) -> None:
    db = tmp_path / "fast.db"
    open_store(str(db)).close()
    code = (
        "import sys; from benchwarden.store import open_store; "
        f"open_store({str(db)!r}).close(); print('alembic' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
