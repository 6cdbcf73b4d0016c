"""Plain records for warden's tables: organizations, grants, keys, audit rows.

Column names equal field names, as for runs and samples. ``org`` on grants and keys
is the organization's name, joined in by the store for convenience.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

KEY_STATUSES = ("active", "revoked")
GENESIS_HASH = "0" * 64


@dataclass(slots=True)
class OrgRecord:
    id: int
    name: str
    created_at: datetime


@dataclass(slots=True)
class GrantRecord:
    """What an organization may do with one model. ``purposes`` holds ``"*"`` for any
    purpose; ``None`` limits mean unlimited."""

    id: int
    org_id: int
    org: str
    model: str
    purposes: list[str]
    rpm: int | None
    tpm: int | None
    max_concurrency: int | None
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    # set while the provider has suspended access (the terms above are kept)
    suspended_at: datetime | None = None
    suspend_reason: str | None = None


@dataclass(slots=True)
class KeyRecord:
    """An API key as stored: its public id and the SHA-256 of the whole secret, never
    the secret. Empty ``purposes`` means the key adds no restriction to its grants."""

    key_id: str
    org_id: int
    org: str
    sha256: str
    purposes: list[str]
    status: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    revoke_reason: str | None = None


@dataclass(slots=True)
class Access:
    """Everything one request needs to be decided, read in one SELECT: the key (with
    its organization) and the organization's grant for the model asked, if any."""

    key: KeyRecord
    grant: GrantRecord | None


@dataclass(slots=True)
class AuditRow:
    """One record of the audit chain, as stored. ``hash`` covers every other field."""

    seq: int
    ts: datetime
    actor: str
    action: str
    decision: str
    org: str | None = None
    key_id: str | None = None
    model: str | None = None
    purpose: str | None = None
    code: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    request_sha256: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    prev_hash: str = GENESIS_HASH
    hash: str = ""
