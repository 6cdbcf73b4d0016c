"""warden's tables: organizations, grants, keys (and the audit chain, in ``audit``).

Writes take a connection from :meth:`WardenStore.write`, so that an admin change
and its audit record commit together or not at all. The request path reads with
:meth:`WardenStore.access`: one SELECT by primary key (the key id) joining the
organization and its grant for the model asked, on every request, with no cache,
so a revocation or a cut grant holds from the very next request on every replica.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine

from benchwarden.store import schema
from benchwarden.store.audit_store import AuditLog
from benchwarden.store.engine import SINGLE_READ_OPTION, write_transaction
from benchwarden.store.guard import Guard
from benchwarden.store.migrate import open_engine
from benchwarden.store.monitor_store import MonitorStore
from benchwarden.store.warden_records import Access, GrantRecord, KeyRecord, OrgRecord

_ORGS = schema.warden_orgs
_GRANTS = schema.warden_grants
_KEYS = schema.warden_keys

# PostgreSQL channel of admin changes that can end calls in flight (revocations, grants
# removed, suspended or re-termed). NOTIFY is transactional: sent when the change commits.
CHANGES_CHANNEL = "benchwarden_terms"
_NOTIFY = sa.text("SELECT pg_notify(:channel, :payload)")

_GRANT_COLS = [c.label(f"g_{c.name}") for c in _GRANTS.c]
_KEY_COLS = [c.label(f"k_{c.name}") for c in _KEYS.c]

# The request path's one read, built once: constructing the statement costs ~0.3 ms a
# request, executing the (cached) compiled form on SQLite well under 0.1 ms.
_ACCESS = (
    sa.select(*_KEY_COLS, _ORGS.c.name.label("org_name"), *_GRANT_COLS)
    .select_from(
        _KEYS.join(_ORGS, _ORGS.c.id == _KEYS.c.org_id).outerjoin(
            _GRANTS,
            sa.and_(_GRANTS.c.org_id == _KEYS.c.org_id, _GRANTS.c.model == sa.bindparam("model")),
        )
    )
    .where(_KEYS.c.key_id == sa.bindparam("key_id"))
)


def open_warden_store(url: str | None = None) -> WardenStore:
    """Open (creating and migrating as needed) the database at ``url``; same rules as
    ``open_store``: None is the SQLite file under BENCHWARDEN_HOME."""
    engine, resolved = open_engine(url)
    return WardenStore(engine, resolved, url or "")


def _grant(row: Any, org: str, prefix: str = "") -> GrantRecord:
    def get(name: str) -> Any:
        return row[f"{prefix}{name}"]

    return GrantRecord(
        id=int(get("id")),
        org_id=int(get("org_id")),
        org=org,
        model=get("model"),
        purposes=list(get("purposes") or []),
        rpm=get("rpm"),
        tpm=get("tpm"),
        max_concurrency=get("max_concurrency"),
        expires_at=get("expires_at"),
        created_at=get("created_at"),
        updated_at=get("updated_at"),
        suspended_at=get("suspended_at"),
        suspend_reason=get("suspend_reason"),
    )


def _key(row: Any, org: str, prefix: str = "") -> KeyRecord:
    def get(name: str) -> Any:
        return row[f"{prefix}{name}"]

    return KeyRecord(
        key_id=get("key_id"),
        org_id=int(get("org_id")),
        org=org,
        sha256=get("sha256"),
        purposes=list(get("purposes") or []),
        status=get("status"),
        created_at=get("created_at"),
        expires_at=get("expires_at"),
        revoked_at=get("revoked_at"),
        revoke_reason=get("revoke_reason"),
    )


class WardenStore:
    """Thread-safe; one per process. Blocking: call from a thread in async code."""

    def __init__(self, engine: Engine, url: URL, given: str = "") -> None:
        self._engine = engine
        self._url = url
        self._guard = Guard(url, given)
        self.url = self._guard.shown
        self.dialect = engine.dialect.name
        self.audit = AuditLog(engine, self._guard)
        self.monitor = MonitorStore(engine, self._guard)

    def __enter__(self) -> WardenStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._engine.dispose()

    @contextmanager
    def write(self, action: str = "write") -> Iterator[Connection]:
        """One write transaction (SQLite: BEGIN IMMEDIATE); rolls back on any exception."""
        with self._guard.errors(action), write_transaction(self._engine) as conn:
            yield conn

    def listen_url(self) -> str | None:
        """A libpq URL for LISTEN (PostgreSQL only; None on SQLite)."""
        if self.dialect != "postgresql":
            return None
        plain = self._url.set(drivername="postgresql")
        return plain.render_as_string(hide_password=False)

    def notify_change(self, conn: Connection, what: str) -> None:
        """Tell every replica, when this transaction commits, that terms changed."""
        if self.dialect == "postgresql":
            conn.execute(_NOTIFY, {"channel": CHANGES_CHANNEL, "payload": what[:200]})

    def ping(self) -> None:
        with self._guard.errors("reach the database"), self._engine.connect() as conn:
            conn.execute(sa.select(1))

    # -- organizations ----------------------------------------------------------------

    def insert_org(self, conn: Connection, name: str, now: datetime) -> OrgRecord:
        new_id = conn.execute(
            sa.insert(_ORGS).values(name=name, created_at=now).returning(_ORGS.c.id)
        ).scalar_one()
        return OrgRecord(int(new_id), name, now)

    def find_org(self, conn: Connection, name: str) -> OrgRecord | None:
        row = conn.execute(sa.select(_ORGS).where(_ORGS.c.name == name)).first()
        return None if row is None else OrgRecord(int(row.id), row.name, row.created_at)

    def list_orgs(self) -> list[OrgRecord]:
        with self._guard.errors("list organizations"), self._engine.connect() as conn:
            rows = conn.execute(sa.select(_ORGS).order_by(_ORGS.c.name)).all()
        return [OrgRecord(int(r.id), r.name, r.created_at) for r in rows]

    # -- grants -------------------------------------------------------------------------

    def find_grant(self, conn: Connection, org: OrgRecord, model: str) -> GrantRecord | None:
        query = sa.select(_GRANTS).where(_GRANTS.c.org_id == org.id, _GRANTS.c.model == model)
        row = conn.execute(query.with_for_update()).first()
        return None if row is None else _grant(row._mapping, org.name)

    def put_grant(
        self, conn: Connection, org: OrgRecord, model: str, terms: dict[str, Any], now: datetime
    ) -> GrantRecord:
        """Insert the grant, or replace the terms of the existing one (same id)."""
        existing = self.find_grant(conn, org, model)
        if existing is None:
            conn.execute(
                sa.insert(_GRANTS).values(
                    org_id=org.id, model=model, created_at=now, updated_at=now, **terms
                )
            )
        else:
            conn.execute(
                sa.update(_GRANTS)
                .where(_GRANTS.c.id == existing.id)
                .values(updated_at=now, **terms)
            )
            self.notify_change(conn, f"grant {existing.id}")
        found = self.find_grant(conn, org, model)
        assert found is not None
        return found

    def set_suspended(
        self, conn: Connection, grant: GrantRecord, now: datetime, reason: str | None
    ) -> GrantRecord:
        """Suspend the grant (``reason`` given) or restore it (None); its terms are
        untouched. ``updated_at`` moves to ``now``: the grant changed."""
        at = now if reason is not None else None
        conn.execute(
            sa.update(_GRANTS)
            .where(_GRANTS.c.id == grant.id)
            .values(suspended_at=at, suspend_reason=reason, updated_at=now)
        )
        self.notify_change(conn, f"grant {grant.id}")
        return replace(grant, suspended_at=at, suspend_reason=reason, updated_at=now)

    def delete_grant(self, conn: Connection, grant: GrantRecord) -> None:
        conn.execute(sa.delete(_GRANTS).where(_GRANTS.c.id == grant.id))
        self.notify_change(conn, f"grant {grant.id}")

    def list_grants(self, org: str | None = None) -> list[GrantRecord]:
        query = sa.select(_GRANTS, _ORGS.c.name.label("org_name")).join(
            _ORGS, _ORGS.c.id == _GRANTS.c.org_id
        )
        if org is not None:
            query = query.where(_ORGS.c.name == org)
        query = query.order_by(_ORGS.c.name, _GRANTS.c.model)
        with self._guard.errors("list grants"), self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [_grant(r._mapping, r.org_name) for r in rows]

    def org_grants(self, org_id: int) -> list[GrantRecord]:
        query = sa.select(_GRANTS).where(_GRANTS.c.org_id == org_id).order_by(_GRANTS.c.model)
        with self._guard.errors("read grants"), self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [_grant(r._mapping, "") for r in rows]

    def org_grants_in(self, conn: Connection, org_id: int) -> list[GrantRecord]:
        """The organization's grants, inside the caller's transaction."""
        query = sa.select(_GRANTS).where(_GRANTS.c.org_id == org_id).order_by(_GRANTS.c.model)
        return [_grant(r._mapping, "") for r in conn.execute(query).all()]

    # -- keys ---------------------------------------------------------------------------

    def org_keys_in(self, conn: Connection, org_id: int) -> list[KeyRecord]:
        """The organization's keys, inside the caller's transaction."""
        query = (
            sa.select(_KEYS, _ORGS.c.name.label("org_name"))
            .join(_ORGS, _ORGS.c.id == _KEYS.c.org_id)
            .where(_KEYS.c.org_id == org_id)
            .order_by(_KEYS.c.key_id)
        )
        return [_key(r._mapping, r.org_name) for r in conn.execute(query).all()]

    def key_id_taken(self, conn: Connection, key_id: str) -> bool:
        query = sa.select(_KEYS.c.key_id).where(_KEYS.c.key_id == key_id)
        return conn.execute(query).first() is not None

    def insert_key(self, conn: Connection, key: KeyRecord) -> None:
        values = {c.name: getattr(key, c.name) for c in _KEYS.c}
        conn.execute(sa.insert(_KEYS).values(**values))

    def find_key(self, conn: Connection, key_id: str) -> KeyRecord | None:
        query = (
            sa.select(_KEYS, _ORGS.c.name.label("org_name"))
            .join(_ORGS, _ORGS.c.id == _KEYS.c.org_id)
            .where(_KEYS.c.key_id == key_id)
        )
        row = conn.execute(query).first()
        return None if row is None else _key(row._mapping, row.org_name)

    def mark_revoked(
        self, conn: Connection, key_id: str, reason: str | None, now: datetime
    ) -> None:
        conn.execute(
            sa.update(_KEYS)
            .where(_KEYS.c.key_id == key_id)
            .values(status="revoked", revoked_at=now, revoke_reason=reason)
        )
        self.notify_change(conn, f"key {key_id}")

    def list_keys(self, org: str | None = None) -> list[KeyRecord]:
        query = sa.select(_KEYS, _ORGS.c.name.label("org_name")).join(
            _ORGS, _ORGS.c.id == _KEYS.c.org_id
        )
        if org is not None:
            query = query.where(_ORGS.c.name == org)
        query = query.order_by(_KEYS.c.created_at, _KEYS.c.key_id)
        with self._guard.errors("list keys"), self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [_key(r._mapping, r.org_name) for r in rows]

    # -- the request path -------------------------------------------------------------------

    def access(self, key_id: str, model: str | None) -> Access | None:
        """The key, its organization and that organization's grant for ``model``, in one
        SELECT by primary key; None when no key has this id."""
        with self._guard.errors("read the key"), self._engine.connect() as conn:
            conn = conn.execution_options(**{SINGLE_READ_OPTION: True})
            row = conn.execute(_ACCESS, {"key_id": key_id, "model": model}).first()
        if row is None:
            return None
        mapping = row._mapping
        grant = None if mapping["g_id"] is None else _grant(mapping, row.org_name, "g_")
        return Access(_key(mapping, row.org_name, "k_"), grant)

    def live_state(
        self, key_ids: Collection[str], grant_ids: Collection[int]
    ) -> tuple[dict[str, KeyRecord], dict[int, GrantRecord]]:
        """Current keys and grants among those given (missing ones are absent): what the
        revocation watch re-reads for every in-flight call, two queries in all."""
        keys: dict[str, KeyRecord] = {}
        grants: dict[int, GrantRecord] = {}
        with self._guard.errors("re-read keys and grants"), self._engine.connect() as conn:
            if key_ids:
                query = (
                    sa.select(_KEYS, _ORGS.c.name.label("org_name"))
                    .join(_ORGS, _ORGS.c.id == _KEYS.c.org_id)
                    .where(_KEYS.c.key_id.in_(list(key_ids)))
                )
                for r in conn.execute(query):
                    keys[r.key_id] = _key(r._mapping, r.org_name)
            if grant_ids:
                query = (
                    sa.select(_GRANTS, _ORGS.c.name.label("org_name"))
                    .join(_ORGS, _ORGS.c.id == _GRANTS.c.org_id)
                    .where(_GRANTS.c.id.in_(list(grant_ids)))
                )
                for r in conn.execute(query):
                    grants[int(r.id)] = _grant(r._mapping, r.org_name)
        return keys, grants
