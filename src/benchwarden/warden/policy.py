"""Pure decisions: may this request be served, and if not, which refusal.

``decide`` takes plain data (the key and grant as read from the database, the facts
of the request, the time) and returns ``Allow`` or ``Refuse``. It does no I/O, so
every combination can be tested directly; the gate does the reading and the writing.

Order matters and follows what a client can act on: no key or an unknown key (401)
first, then the key's own state (revoked, expired: 403), then a malformed body (400),
then the grant (not granted, suspended, expired: 403), the model (404) and the purpose (403).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from benchwarden.api.errors import ApiError
from benchwarden.store.warden_records import GrantRecord, KeyRecord
from benchwarden.warden.limit_headers import LimitRefusal, LimitSnapshot

ANY_PURPOSE = "*"
_PURPOSE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What the request says about itself, before anything is read."""

    key_given: bool
    model: str | None
    model_served: bool
    purpose_header: str | None
    body_error: ApiError | None = None


@dataclass(frozen=True, slots=True)
class Allow:
    purpose: str


@dataclass(frozen=True, slots=True)
class Refuse:
    status: int
    code: str
    message: str
    retry_after_s: float | None = None
    retryable: bool | None = None
    snapshot: LimitSnapshot | None = None  # a limit's refusal: the grant's headers

    def error(self) -> ApiError:
        if self.snapshot is not None:
            return LimitRefusal(
                self.status,
                self.code,
                self.message,
                self.snapshot,
                retry_after_s=self.retry_after_s,
                retryable=self.retryable,
            )
        return ApiError(
            self.status,
            self.code,
            self.message,
            retry_after_s=self.retry_after_s,
            retryable=self.retryable,
        )

    @staticmethod
    def of(error: ApiError) -> Refuse:
        return Refuse(error.status, error.code, error.message, error.retry_after_s, error.retryable)


Decision = Allow | Refuse


def _when(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def key_refusal(key: KeyRecord, now: datetime) -> Refuse | None:
    """Why this (authentic) key may not be used at all, if it may not."""
    if key.status != "active":
        when = f" at {_when(key.revoked_at)}" if key.revoked_at else ""
        return Refuse(
            403,
            "key_revoked",
            f"API key {key.key_id} was revoked{when}. Ask the provider for a new key.",
            retryable=False,
        )
    if key.expires_at is not None and key.expires_at <= now:
        return Refuse(
            403,
            "key_expired",
            f"API key {key.key_id} expired at {_when(key.expires_at)}. "
            "Ask the provider to renew it.",
            retryable=False,
        )
    return None


def grant_refusal(
    key: KeyRecord, grant: GrantRecord | None, model: str, now: datetime
) -> Refuse | None:
    """Why the key's organization may not use ``model``, if it may not."""
    if grant is None:
        return Refuse(
            403,
            "model_not_granted",
            f"Organization {key.org!r} has no grant for model {model!r}. "
            "Ask the provider for a grant, or use a granted model (GET /v1/models).",
            retryable=False,
        )
    if grant.suspended_at is not None:  # a state, not a moment: holds at once
        return Refuse(
            403,
            "grant_suspended",
            f"Access of organization {key.org!r} to model {model!r} was suspended by the "
            f"provider at {_when(grant.suspended_at)} after a review of its usage against "
            "the terms of the grant. The suspension is recorded in the provider's audit "
            "log; contact the provider's administrator (whoever issued your API key) to "
            "have it reviewed. Retrying will not help.",
            retryable=False,
        )
    if grant.expires_at is not None and grant.expires_at <= now:
        return Refuse(
            403,
            "key_expired",
            f"The grant of organization {key.org!r} for model {model!r} expired at "
            f"{_when(grant.expires_at)}. Ask the provider to renew it.",
            retryable=False,
        )
    return None


def permitted_purposes(key: KeyRecord, grant: GrantRecord) -> list[str]:
    """The grant's purposes, narrowed by the key's own purposes when it has any."""
    if not key.purposes:
        return list(grant.purposes)
    if ANY_PURPOSE in grant.purposes:
        return list(key.purposes)
    return [p for p in grant.purposes if p in key.purposes or ANY_PURPOSE in key.purposes]


def _permits(purposes: list[str], purpose: str) -> bool:
    return ANY_PURPOSE in purposes or purpose in purposes


def purpose_decision(
    key: KeyRecord, grant: GrantRecord, header: str | None, model: str
) -> Decision:
    """The declared purpose (or the one the key implies), checked against the terms."""
    allowed = permitted_purposes(key, grant)
    shown = ", ".join(allowed) if allowed else "none"
    if header is None or not header.strip():
        if len(key.purposes) == 1 and key.purposes[0] != ANY_PURPOSE:
            purpose = key.purposes[0]
        else:
            return Refuse(
                403,
                "purpose_not_permitted",
                "No purpose declared: send the header Benchwarden-Purpose with one of "
                f"the purposes permitted for {model!r} ({shown}).",
                retryable=False,
            )
    else:
        purpose = header.strip()
        if not _PURPOSE.fullmatch(purpose):
            return Refuse(
                400,
                "invalid_request",
                "Header Benchwarden-Purpose must be a purpose name: letters, digits, "
                "'.', '_' or '-', at most 64 characters.",
                retryable=False,
            )
    if not (
        _permits(grant.purposes, purpose) and (not key.purposes or _permits(key.purposes, purpose))
    ):
        return Refuse(
            403,
            "purpose_not_permitted",
            f"Purpose {purpose!r} is not permitted for model {model!r} with this key "
            f"(permitted: {shown}).",
            retryable=False,
        )
    return Allow(purpose)


def decide(
    key: KeyRecord | None, grant: GrantRecord | None, facts: RequestFacts, now: datetime
) -> Decision:
    """Allow (with the purpose in force) or Refuse (status, code, message).

    ``key`` is None when no key with the presented id exists or its digest did not
    match: both are "invalid_key", and say nothing more to the caller.
    """
    if not facts.key_given:
        return Refuse(
            401,
            "invalid_key",
            "No API key: send it as 'Authorization: Bearer KEY' or 'x-api-key: KEY'.",
            retryable=False,
        )
    if key is None:
        return Refuse(
            401,
            "invalid_key",
            "The API key is not valid. Check it, or ask the provider for a key.",
            retryable=False,
        )
    refused = key_refusal(key, now)
    if refused is not None:
        return refused
    if facts.body_error is not None:
        return Refuse.of(facts.body_error)
    model = facts.model or ""
    refused = grant_refusal(key, grant, model, now)
    if refused is not None:
        return refused
    assert grant is not None
    if not facts.model_served:
        return Refuse(
            404,
            "model_not_found",
            f"Model {model!r} is granted but not served here right now. Ask the provider.",
            retryable=False,
        )
    return purpose_decision(key, grant, facts.purpose_header, model)


def recheck(
    key: KeyRecord | None, grant: GrantRecord | None, model: str, now: datetime
) -> Refuse | None:
    """For a call in flight: a refusal if its key or grant no longer allow it (the key
    revoked, expired or deleted; the grant removed, suspended or expired)."""
    if key is None:
        return Refuse(403, "key_revoked", "The API key was deleted.", retryable=False)
    return key_refusal(key, now) or grant_refusal(key, grant, model, now)
