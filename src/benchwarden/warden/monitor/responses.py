"""Graduated responses to a finding: flag, throttle, suspend, revoke (and dismiss,
restore).

Each is one transaction through the audit sequencer: the change to grants or keys,
the finding's new status, and the audit records (the ordinary ``grant.add`` /
``grant.suspend`` / ``key.revoke`` records, plus ``monitor.<action>`` naming the
finding) commit together.

- flag: a record only;
- throttle: every grant of the organization gets its RPM, TPM and max concurrency
  multiplied by ``factor``; an unlimited one starts from that grant's own peak in the
  finding's window, counting served requests only (refusals are not capacity used);
- suspend: every grant is marked suspended (terms kept): requests are refused with
  ``grant_suspended`` until ``restore``;
- revoke: every active key of the organization is revoked;
- dismiss: the finding is closed with no change;
- restore: on a finding whose suspension was applied, lifts the suspension of the
  organization's grants, which serve again under the terms they had.

A finding is acted on once: only an ``open`` finding may be applied or dismissed
(anything else is a 409). Escalation is a new finding: every evaluation records one,
and its automatic response, or an admin's, applies to that new finding.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from benchwarden.store.monitor_store import FindingRow, UsageRow
from benchwarden.store.warden_records import GrantRecord
from benchwarden.store.warden_store import WardenStore
from benchwarden.warden.audit import AuditEntry
from benchwarden.warden.monitor.signals import SERVED
from benchwarden.warden.sequencer import AuditSequencer

ACTIONS = ("flag", "throttle", "suspend", "revoke", "dismiss", "restore")


class ResponseError(Exception):
    def __init__(self, message: str, status: int = 400, code: str = "monitor_error") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True, slots=True)
class Applied:
    finding: FindingRow
    action: str
    changes: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Peaks:
    """One grant's busiest minute of served requests, and its most calls in flight."""

    rpm: int = 0
    tpm: int = 0
    in_flight: int = 0


def served_peaks(rows: Sequence[UsageRow]) -> dict[str, Peaks]:
    """Pure: per model, the peaks of served requests (refused ones left out)."""
    per_minute: dict[str, Counter[int]] = defaultdict(Counter)
    tokens: dict[str, Counter[int]] = defaultdict(Counter)
    in_flight: Counter[str] = Counter()
    for r in rows:
        if r.outcome not in SERVED or r.model is None:
            continue
        minute = int(r.ts.timestamp() // 60)
        per_minute[r.model][minute] += 1
        tokens[r.model][minute] += r.input_tokens + r.output_tokens
        in_flight[r.model] = max(in_flight[r.model], r.in_flight)
    return {
        m: Peaks(max(per_minute[m].values()), max(tokens[m].values()), in_flight[m])
        for m in per_minute
    }


def _scaled(current: int | None, peak: int, factor: float) -> int:
    base = current if current is not None else max(1, peak)
    return max(1, math.floor(base * factor))


def throttled_terms(grant: GrantRecord, peaks: Peaks, factor: float) -> dict[str, Any]:
    """Pure: the grant's terms with limits lowered by ``factor`` (an unlimited one from
    this grant's own served peak)."""
    return {
        "purposes": list(grant.purposes),
        "rpm": _scaled(grant.rpm, peaks.rpm, factor),
        "tpm": _scaled(grant.tpm, peaks.tpm, factor),
        "max_concurrency": _scaled(grant.max_concurrency, peaks.in_flight, factor),
        "expires_at": grant.expires_at,
    }


def _terms(grant: GrantRecord) -> dict[str, Any]:
    return {
        "purposes": list(grant.purposes),
        "rpm": grant.rpm,
        "tpm": grant.tpm,
        "max_concurrency": grant.max_concurrency,
        "expires_at": grant.expires_at.isoformat() if grant.expires_at else None,
        "suspended": grant.suspended_at is not None,
    }


def check_allowed(finding: FindingRow, action: str) -> None:
    """Pure: raise a 409 unless ``action`` may be taken on ``finding`` now."""
    done = f"Finding {finding.id} is {finding.status}"
    if finding.action:
        done += f" ({finding.action} by {finding.applied_by})"
    if action == "restore":
        if finding.status == "applied" and finding.action == "suspend":
            return
        raise ResponseError(
            f"{done}: only a finding whose suspension was applied can be restored.",
            409,
            "finding_not_suspended",
        )
    if finding.status != "open":
        hint = (
            "restore it to lift the suspension"
            if finding.status == "applied" and finding.action == "suspend"
            else "set the grant's terms with 'grant add' to change them back"
        )
        raise ResponseError(
            f"{done}; only open findings can be applied or dismissed. To escalate, act on "
            f"a newer open finding ('monitor evaluate' records one); to undo, {hint}.",
            409,
            "finding_not_open",
        )


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
    seen = store.monitor.get_finding(finding_id)
    if seen is None:
        raise ResponseError(f"No finding {finding_id}.", 404, "finding_not_found")
    check_allowed(seen, action)
    peaks = (
        served_peaks(store.monitor.usage(seen.window_start, seen.window_end, seen.org))
        if action == "throttle"
        else {}
    )

    def change(conn: Connection) -> tuple[Applied, list[AuditEntry]]:
        finding = store.monitor.finding(conn, finding_id)
        if finding is None:
            raise ResponseError(f"No finding {finding_id}.", 404, "finding_not_found")
        check_allowed(finding, action)  # again, inside the transaction: no double apply
        org = store.find_org(conn, finding.org)
        if org is None:
            raise ResponseError(f"Organization {finding.org!r} no longer exists.", 404)
        entries: list[AuditEntry] = []
        changes: list[dict[str, Any]] = []
        extra: dict[str, Any]

        def entry(name: str, **fields: Any) -> AuditEntry:
            return AuditEntry(actor=actor, action=name, decision="done", ts=now, **fields)

        if action in ("throttle", "suspend", "restore"):
            for listed in store.org_grants_in(conn, org.id):
                grant = store.find_grant(conn, org, listed.model)
                assert grant is not None
                if action == "throttle":
                    terms = throttled_terms(grant, peaks.get(grant.model, Peaks()), factor)
                    new = store.put_grant(conn, org, grant.model, terms, now)
                    name, extra = "grant.add", {"replaced": True}
                elif action == "suspend":
                    why = f"monitor finding {finding_id}" + (f": {reason}" if reason else "")
                    new = store.set_suspended(conn, grant, now, why)
                    name, extra = "grant.suspend", {"reason": why}
                else:
                    if grant.suspended_at is None:
                        continue
                    new = store.set_suspended(conn, grant, now, None)
                    name, extra = "grant.restore", {}
                detail = {
                    **_terms(new),
                    **extra,
                    "grant_id": new.id,
                    "previous": _terms(grant),
                    "finding": finding_id,
                }
                entries.append(entry(name, org=org.name, model=new.model, detail=detail))
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
        summary = {
            "finding": finding_id,
            "score": finding.score,
            "kind": finding.kind,
            "changes": len(changes),
        }
        if reason:
            summary["reason"] = reason
        entries.append(entry(f"monitor.{action}", org=org.name, detail=summary))
        if action == "restore":  # the suspension's own record (who, when) stays
            finding.status = "restored"
            store.monitor.update_finding(conn, finding_id, status="restored")
        else:
            status = "dismissed" if action == "dismiss" else "applied"
            store.monitor.update_finding(
                conn, finding_id, status=status, action=action, applied_by=actor, applied_at=now
            )
            finding.status, finding.action = status, action
            finding.applied_by, finding.applied_at = actor, now
        return Applied(finding, action, changes), entries

    applied, _ = sequencer.commit(change)
    return applied
