"""Admin actions: organizations, grants, keys, and reading the audit chain.

Used alike by the CLI and the admin HTTP API. Every change commits together with
its audit record (see ``sequencer.commit``). Blocking: call from a thread in async code.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.engine import Connection

from benchwarden.store.guard import Conflict
from benchwarden.store.warden_records import AuditRow, GrantRecord, KeyRecord, OrgRecord
from benchwarden.store.warden_store import WardenStore
from benchwarden.warden import keys
from benchwarden.warden.audit import AuditEntry, VerifyReport, verify_chain
from benchwarden.warden.policy import ANY_PURPOSE
from benchwarden.warden.sequencer import AuditSequencer, DbAuditSequencer

T = TypeVar("T")
_PURPOSE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_KEY_ID = re.compile(r"(?:bw_)?([0-9a-f]{8})")


class WardenError(Exception):
    """An admin request that cannot be done as asked; ``status`` for the HTTP API."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class GrantTerms:
    purposes: tuple[str, ...] = (ANY_PURPOSE,)
    rpm: int | None = None
    tpm: int | None = None
    max_concurrency: int | None = None
    expires_at: datetime | None = None

    def check(self) -> GrantTerms:
        for name in ("rpm", "tpm", "max_concurrency"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or value < 1):
                raise WardenError(f"{name} must be a positive integer (or unset: unlimited).")
        return GrantTerms(
            check_purposes(self.purposes) or (ANY_PURPOSE,),
            self.rpm,
            self.tpm,
            self.max_concurrency,
            utc(self.expires_at),
        )

    def columns(self) -> dict[str, Any]:
        return {
            "purposes": list(self.purposes),
            "rpm": self.rpm,
            "tpm": self.tpm,
            "max_concurrency": self.max_concurrency,
            "expires_at": self.expires_at,
        }


def utc(moment: datetime | None) -> datetime | None:
    """A naive time is taken to be UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def check_purposes(purposes: Sequence[str]) -> tuple[str, ...]:
    out: list[str] = []
    for purpose in purposes:
        if purpose != ANY_PURPOSE and not _PURPOSE.fullmatch(purpose):
            raise WardenError(
                f"Purpose {purpose!r} is not a purpose name (letters, digits, '.', '_', '-'; "
                "at most 64 characters), nor '*' for any purpose."
            )
        if purpose not in out:
            out.append(purpose)
    return tuple(out)


def normalize_key_id(text: str) -> str:
    """``bw_1a2b3c4d``, ``1a2b3c4d`` or a whole key -> ``1a2b3c4d``."""
    found = keys.key_id_of(text.strip())
    if found is not None:
        return found
    match = _KEY_ID.fullmatch(text.strip())
    if match is None:
        raise WardenError(f"{text[:12]!r}... is not a key id (8 hex characters).", 400)
    return match.group(1)


class Tenancy:
    def __init__(
        self,
        store: WardenStore,
        actor: str,
        sequencer: AuditSequencer | None = None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.actor = actor
        self.sequencer = sequencer or DbAuditSequencer(store)
        self._clock = clock

    def _entry(self, action: str, **fields: Any) -> AuditEntry:
        return AuditEntry(
            actor=self.actor, action=action, decision="done", ts=self._clock(), **fields
        )

    def _org(self, conn: Connection, name: str) -> OrgRecord:
        org = self.store.find_org(conn, name)
        if org is None:
            raise WardenError(f"No organization {name!r}. Create it first: org create {name}", 404)
        return org

    # -- organizations -----------------------------------------------------------------

    def create_org(self, name: str) -> OrgRecord:
        name = name.strip()
        if not name or len(name) > 100 or any(ch < " " for ch in name):
            raise WardenError("An organization name is 1 to 100 printable characters.")

        def change(conn: Connection) -> tuple[OrgRecord, list[AuditEntry]]:
            if self.store.find_org(conn, name) is not None:
                raise WardenError(f"Organization {name!r} already exists.", 409)
            org = self.store.insert_org(conn, name, self._clock())
            return org, [self._entry("org.create", org=name)]

        return self._commit(change)

    def list_orgs(self) -> list[OrgRecord]:
        return self.store.list_orgs()

    # -- grants ------------------------------------------------------------------------

    def add_grant(self, org: str, model: str, terms: GrantTerms) -> GrantRecord:
        """Grant ``model`` to ``org``; an existing grant for the pair has its terms
        replaced (that is how capacity is cut or raised), keeping its id."""
        terms = terms.check()
        if not model.strip():
            raise WardenError("A grant names a model.")

        def change(conn: Connection) -> tuple[GrantRecord, list[AuditEntry]]:
            found = self._org(conn, org)
            replaced = self.store.find_grant(conn, found, model) is not None
            grant = self.store.put_grant(conn, found, model, terms.columns(), self._clock())
            detail = {**_terms_detail(grant), "grant_id": grant.id, "replaced": replaced}
            return grant, [self._entry("grant.add", org=org, model=model, detail=detail)]

        return self._commit(change)

    def remove_grant(self, org: str, model: str) -> GrantRecord:
        def change(conn: Connection) -> tuple[GrantRecord, list[AuditEntry]]:
            found = self._org(conn, org)
            grant = self.store.find_grant(conn, found, model)
            if grant is None:
                raise WardenError(f"Organization {org!r} has no grant for {model!r}.", 404)
            self.store.delete_grant(conn, grant)
            entry = self._entry("grant.remove", org=org, model=model, detail={"grant_id": grant.id})
            return grant, [entry]

        return self._commit(change)

    def list_grants(self, org: str | None = None) -> list[GrantRecord]:
        return self.store.list_grants(org)

    # -- keys --------------------------------------------------------------------------

    def create_key(
        self, org: str, purposes: Sequence[str] = (), expires_at: datetime | None = None
    ) -> tuple[KeyRecord, str]:
        """A new key for ``org``: its record and the secret, which exists nowhere else."""
        checked = list(check_purposes(purposes))
        expires = utc(expires_at)

        def change(conn: Connection) -> tuple[tuple[KeyRecord, str], list[AuditEntry]]:
            found = self._org(conn, org)
            made = keys.new_key()
            while self.store.key_id_taken(conn, made.key_id):
                made = keys.new_key()
            record = KeyRecord(
                key_id=made.key_id,
                org_id=found.id,
                org=found.name,
                sha256=made.sha256,
                purposes=checked,
                status="active",
                created_at=self._clock(),
                expires_at=expires,
            )
            self.store.insert_key(conn, record)
            detail: dict[str, Any] = {"purposes": checked}
            if expires is not None:
                detail["expires_at"] = expires.isoformat()
            entry = self._entry("key.create", org=org, key_id=made.key_id, detail=detail)
            return (record, made.secret), [entry]

        return self._commit(change)

    def revoke_key(self, key_id: str, reason: str | None = None) -> tuple[KeyRecord, bool]:
        """Revoke; returns the key and whether this call revoked it (False: it already was)."""
        wanted = normalize_key_id(key_id)

        def change(conn: Connection) -> tuple[tuple[KeyRecord, bool], list[AuditEntry]]:
            found = self.store.find_key(conn, wanted)
            if found is None:
                raise WardenError(f"No key {wanted}. List keys with: key list", 404)
            if found.status == "revoked":
                return (found, False), []
            now = self._clock()
            self.store.mark_revoked(conn, wanted, reason, now)
            found.status, found.revoked_at, found.revoke_reason = "revoked", now, reason
            detail = {"reason": reason} if reason else {}
            entry = self._entry("key.revoke", org=found.org, key_id=wanted, detail=detail)
            return (found, True), [entry]

        return self._commit(change)

    def list_keys(self, org: str | None = None) -> list[KeyRecord]:
        return self.store.list_keys(org)

    # -- audit -------------------------------------------------------------------------

    def verify_audit(self) -> VerifyReport:
        with self.store.audit.snapshot() as reader:
            return verify_chain(reader.rows(), reader.head(), reader.seqs_with_hash)

    def audit_tail(self, n: int = 20) -> list[AuditRow]:
        return self.store.audit.tail(n)

    def _commit(self, change: Callable[[Connection], tuple[T, list[AuditEntry]]]) -> T:
        try:
            result, _ = self.sequencer.commit(change)
        except Conflict as exc:
            raise WardenError(
                f"{exc} Another admin change raced this one; try again.", 409
            ) from exc
        return result


def _terms_detail(grant: GrantRecord) -> dict[str, Any]:
    return {
        "purposes": list(grant.purposes),
        "rpm": grant.rpm,
        "tpm": grant.tpm,
        "max_concurrency": grant.max_concurrency,
        "expires_at": grant.expires_at.isoformat() if grant.expires_at else None,
    }
