"""Records as JSON-ready dicts, for the admin API (and any caller wanting JSON).
Keys appear by id, organization, purposes and status: never a secret or its hash."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from benchwarden.store.warden_records import AuditRow, GrantRecord, KeyRecord, OrgRecord
from benchwarden.warden.audit import VerifyReport


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def org_view(org: OrgRecord) -> dict[str, Any]:
    return {"id": org.id, "name": org.name, "created_at": _iso(org.created_at)}


def grant_view(grant: GrantRecord) -> dict[str, Any]:
    return {
        "id": grant.id,
        "org": grant.org,
        "model": grant.model,
        "purposes": list(grant.purposes),
        "rpm": grant.rpm,
        "tpm": grant.tpm,
        "max_concurrency": grant.max_concurrency,
        "expires_at": _iso(grant.expires_at),
        "suspended_at": _iso(grant.suspended_at),
        "created_at": _iso(grant.created_at),
        "updated_at": _iso(grant.updated_at),
    }


def key_view(key: KeyRecord) -> dict[str, Any]:
    return {
        "key_id": key.key_id,
        "org": key.org,
        "purposes": list(key.purposes),
        "status": key.status,
        "created_at": _iso(key.created_at),
        "expires_at": _iso(key.expires_at),
        "revoked_at": _iso(key.revoked_at),
        "revoke_reason": key.revoke_reason,
    }


def audit_view(row: AuditRow) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "ts": _iso(row.ts),
        "actor": row.actor,
        "action": row.action,
        "decision": row.decision,
        "code": row.code,
        "org": row.org,
        "key_id": row.key_id,
        "model": row.model,
        "purpose": row.purpose,
        "input_tokens": row.input_tokens,
        "output_tokens": row.output_tokens,
        "request_sha256": row.request_sha256,
        "detail": row.detail,
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    }


def verify_view(report: VerifyReport) -> dict[str, Any]:
    problem = report.problem
    return {
        "ok": report.ok,
        "records": report.records,
        "head_seq": report.head_seq,
        "head_hash": report.head_hash,
        "problem": None
        if problem is None
        else {"seq": problem.seq, "kind": problem.kind, "message": problem.message},
    }
