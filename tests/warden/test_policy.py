"""The pure policy, exhaustively over key state, grant state and request facts."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from benchwarden.api.errors import invalid
from benchwarden.store.warden_records import GrantRecord, KeyRecord
from benchwarden.warden.policy import (
    Allow,
    Refuse,
    RequestFacts,
    decide,
    permitted_purposes,
    recheck,
)

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
PAST = NOW - timedelta(seconds=1)
LATER = NOW + timedelta(days=1)


def key(
    *, status: str = "active", purposes: tuple[str, ...] = (), expires: datetime | None = None
) -> KeyRecord:
    return KeyRecord(
        key_id="1a2b3c4d",
        org_id=1,
        org="acme",
        sha256="0" * 64,
        purposes=list(purposes),
        status=status,
        created_at=PAST,
        expires_at=expires,
        revoked_at=PAST if status == "revoked" else None,
    )


def grant(
    *,
    purposes: tuple[str, ...] = ("benchmarking", "safety-evaluation"),
    expires: datetime | None = None,
) -> GrantRecord:
    return GrantRecord(7, 1, "acme", "m", list(purposes), None, None, None, expires, PAST, PAST)


def facts(
    purpose: str | None = "benchmarking",
    *,
    served: bool = True,
    given: bool = True,
    body_error: bool = False,
) -> RequestFacts:
    return RequestFacts(given, "m", served, purpose, invalid("Bad body.") if body_error else None)


def code(decision: Allow | Refuse) -> str:
    return "allow" if isinstance(decision, Allow) else decision.code


def test_allowed() -> None:
    decision = decide(key(), grant(), facts(), NOW)
    assert decision == Allow("benchmarking")


@pytest.mark.parametrize(
    ("the_key", "the_grant", "the_facts", "expected", "status"),
    [
        (None, grant(), facts(given=False), "invalid_key", 401),
        (None, grant(), facts(), "invalid_key", 401),
        (key(status="revoked"), grant(), facts(), "key_revoked", 403),
        (key(expires=PAST), grant(), facts(), "key_expired", 403),
        (key(expires=NOW), grant(), facts(), "key_expired", 403),
        (key(), grant(), facts(body_error=True), "invalid_request", 400),
        (key(), None, facts(), "model_not_granted", 403),
        (key(), grant(expires=PAST), facts(), "key_expired", 403),
        (key(), grant(), facts(served=False), "model_not_found", 404),
        (key(), grant(), facts("marketing"), "purpose_not_permitted", 403),
        (key(), grant(), facts(None), "purpose_not_permitted", 403),
        (key(), grant(), facts("  "), "purpose_not_permitted", 403),
        (key(), grant(), facts("no spaces allowed"), "invalid_request", 400),
        (
            key(purposes=("benchmarking",)),
            grant(),
            facts("safety-evaluation"),
            "purpose_not_permitted",
            403,
        ),
    ],
)
def test_refusals(
    the_key: KeyRecord | None,
    the_grant: GrantRecord | None,
    the_facts: RequestFacts,
    expected: str,
    status: int,
) -> None:
    decision = decide(the_key, the_grant, the_facts, NOW)
    assert isinstance(decision, Refuse)
    assert (decision.code, decision.status) == (expected, status)
    assert decision.retryable is False
    assert decision.message.endswith(".") or decision.message.endswith(")")


def test_refusal_order_is_what_a_client_can_act_on() -> None:
    """Every combination: the first failing check, in a fixed order, decides."""
    keys = [None, key(status="revoked"), key(expires=PAST), key()]
    grants = [None, grant(expires=PAST), grant()]
    bodies = [True, False]
    served = [False, True]
    purposes = ["marketing", "benchmarking"]
    for k, g, bad, srv, p in itertools.product(keys, grants, bodies, served, purposes):
        got = code(decide(k, g, facts(p, served=srv, body_error=bad), NOW))
        if k is None:
            want = "invalid_key"
        elif k.status == "revoked":
            want = "key_revoked"
        elif k.expires_at is not None:
            want = "key_expired"
        elif bad:
            want = "invalid_request"
        elif g is None:
            want = "model_not_granted"
        elif g.expires_at is not None:
            want = "key_expired"
        elif not srv:
            want = "model_not_found"
        elif p == "marketing":
            want = "purpose_not_permitted"
        else:
            want = "allow"
        assert got == want, (k, g, bad, srv, p)


def test_implied_purpose() -> None:
    one = key(purposes=("safety-evaluation",))
    assert decide(one, grant(), facts(None), NOW) == Allow("safety-evaluation")
    two = key(purposes=("benchmarking", "safety-evaluation"))
    assert code(decide(two, grant(), facts(None), NOW)) == "purpose_not_permitted"
    # The implied purpose still has to be granted.
    assert (
        code(decide(key(purposes=("marketing",)), grant(), facts(None), NOW))
        == "purpose_not_permitted"
    )


def test_any_purpose() -> None:
    assert decide(key(), grant(purposes=("*",)), facts("anything"), NOW) == Allow("anything")
    narrowed = key(purposes=("benchmarking",))
    assert permitted_purposes(narrowed, grant(purposes=("*",))) == ["benchmarking"]
    assert (
        code(decide(narrowed, grant(purposes=("*",)), facts("other"), NOW))
        == "purpose_not_permitted"
    )
    assert permitted_purposes(key(), grant()) == ["benchmarking", "safety-evaluation"]


def test_recheck_for_calls_in_flight() -> None:
    assert recheck(key(), grant(), "m", NOW) is None
    assert code(recheck(key(status="revoked"), grant(), "m", NOW)) == "key_revoked"  # type: ignore[arg-type]
    assert code(recheck(None, grant(), "m", NOW)) == "key_revoked"  # type: ignore[arg-type]
    assert code(recheck(key(), None, "m", NOW)) == "model_not_granted"  # type: ignore[arg-type]
    assert code(recheck(key(), grant(expires=PAST), "m", NOW)) == "key_expired"  # type: ignore[arg-type]
    assert recheck(key(expires=LATER), grant(expires=LATER), "m", NOW) is None


def test_a_suspended_grant_has_its_own_refusal() -> None:
    suspended = grant(expires=LATER)
    suspended.suspended_at, suspended.suspend_reason = PAST, "monitor finding 3"
    refused = decide(key(), suspended, facts(), NOW)
    assert isinstance(refused, Refuse)
    assert (refused.status, refused.code, refused.retryable) == (403, "grant_suspended", False)
    assert "suspended by the provider" in refused.message and "audit log" in refused.message
    assert "expired" not in refused.message and "renew" not in refused.message
    # it comes before expiry (a suspended, expired grant says suspended) and holds in flight
    suspended.expires_at = PAST
    assert code(decide(key(), suspended, facts(), NOW)) == "grant_suspended"
    assert code(recheck(key(), suspended, "m", NOW)) == "grant_suspended"  # type: ignore[arg-type]
    # the key's own state still comes first
    assert code(decide(key(status="revoked"), suspended, facts(), NOW)) == "key_revoked"
