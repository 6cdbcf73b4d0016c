"""Graduated responses to a finding: flag, throttle, suspend, revoke.

Each is one transaction through the audit sequencer: the change to grants or keys,
the finding's new status, and the audit records (the ordinary ``grant.add`` /
``key.revoke`` records, plus ``monitor.<action>`` naming the finding) commit together.

- flag: a record only;
- throttle: every grant of the organization gets its RPM, TPM and max concurrency
  multiplied by ``factor`` (unlimited ones start from the peak seen in the finding's
  window), so the very next request meets the lower limits;
- suspend: every grant expires now (its previous terms are in the audit record;
  ``grant add`` restores them);
- revoke: every active key of the organization is revoked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from benchwarden.store.monitor_store import FindingRow
from benchwarden.store.warden_records import GrantRecord
from benchwarden.store.warden_store import WardenStore
from benchwarden.warden.audit import AuditEntry
from benchwarden.warden.sequencer import AuditSequencer

ACTIONS = ("flag", "throttle", "suspend", "revoke", "dismiss")


class ResponseError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Applied:
    finding: FindingRow
    action: str
    changes: list[dict[str, Any]]


def _scaled(current: int | None, peak: int, factor: float) -> int:
    base = current if current is not None else max(1, peak)
    return max(1, math.floor(base * factor))


def throttled_terms(grant: GrantRecord, observed: dict[str, Any], factor: float) -> dict[str, Any]:
    """Pure: the grant's terms with limits lowered by ``factor``."""
    return {
        "purposes": list(grant.purposes),
        "rpm": _scaled(grant.rpm, int(observed.get("peak_rpm", 0)), factor),
        "tpm": _scaled(grant.tpm, int(observed.get("peak_tpm", 0)), factor),
        "max_concurrency": _scaled(
            grant.max_concurrency, int(observed.get("peak_in_flight", 0)), factor
        ),
        "expires_at": grant.expires_at,
    }


def _terms(grant: GrantRecord) -> dict[str, Any]:
    return {
        "purposes": list(grant.purposes),
        "rpm": grant.rpm,
        "tpm": grant.tpm,
        "max_concurrency": grant.max_concurrency,
        "expires_at": grant.expires_at.isoformat() if grant.expires_at else None,
    }


def apply_response(
    store: WardenStore,
    sequencer: AuditSequencer,
    finding_id: int,
    action: str,
    *,
    actor: str,
    now: datetime,
    factor: float = 0.5,
    reason: str | None = None,
) -> Applied:
    if action not in ACTIONS:
        raise ResponseError(f"Unknown action {action!r}: use one of {', '.join(ACTIONS)}.")
    if not 0 < factor < 1:
        raise ResponseError("The throttle factor must be between 0 and 1.")

    def change(conn: Connection) -> tuple[Applied, list[AuditEntry]]:
        finding = store.monitor.finding(conn, finding_id)
        if finding is None:
            raise ResponseError(f"No finding {finding_id}.", 404)
        org = store.find_org(conn, finding.org)
        if org is None:
            raise ResponseError(f"Organization {finding.org!r} no longer exists.", 404)
        entries: list[AuditEntry] = []
        changes: list[dict[str, Any]] = []

        def entry(name: str, **fields: Any) -> AuditEntry:
            return AuditEntry(actor=actor, action=name, decision="done", ts=now, **fields)

        observed = finding.signals.get("volume", {})
        if action in ("throttle", "suspend"):
            for listed in store.org_grants_in(conn, org.id):
                grant = store.find_grant(conn, org, listed.model)
                assert grant is not None
                terms = (
                    throttled_terms(grant, observed, factor)
                    if action == "throttle"
                    else {
                        **_terms(grant),
                        "expires_at": now,
                    }
                )
                new = store.put_grant(conn, org, grant.model, terms, now)
                detail = {
                    **_terms(new),
                    "grant_id": new.id,
                    "replaced": True,
                    "previous": _terms(grant),
                    "finding": finding_id,
                }
                entries.append(entry("grant.add", org=org.name, model=new.model, detail=detail))
                changes.append({"model": new.model, "before": _terms(grant), "after": _terms(new)})
        elif action == "revoke":
            why = reason or f"monitor finding {finding_id}"
            for key in store.org_keys_in(conn, org.id):
                if key.status == "revoked":
                    continue
                store.mark_revoked(conn, key.key_id, why, now)
                entries.append(
                    entry("key.revoke", org=org.name, key_id=key.key_id, detail={"reason": why})
                )
                changes.append({"key_id": key.key_id, "revoked": True})
        status = "dismissed" if action == "dismiss" else "applied"
        store.monitor.update_finding(
            conn, finding_id, status=status, action=action, applied_by=actor, applied_at=now
        )
        summary = {
            "finding": finding_id,
            "score": finding.score,
            "kind": finding.kind,
            "changes": len(changes),
        }
        if reason:
            summary["reason"] = reason
        entries.append(entry(f"monitor.{action}", org=org.name, detail=summary))
        finding.status, finding.action, finding.applied_by, finding.applied_at = (
            status,
            action,
            actor,
            now,
        )
        return Applied(finding, action, changes), entries

    applied, _ = sequencer.commit(change)
    return applied
