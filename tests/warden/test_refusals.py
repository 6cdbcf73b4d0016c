"""Refusals: each reason with its status, its code, the called API's error body, and
a record in the audit chain."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import anthropic
import httpx2 as httpx
import openai
import pytest

from benchwarden.warden.tenancy import GrantTerms
from tests.warden.conftest import Warden

MESSAGES = [{"role": "user", "content": "Hello"}]


def _openai_error(
    warden: Warden, key: str, *, model: str = "mock-gpt", purpose: str | None = "benchmarking"
) -> openai.APIStatusError:
    with pytest.raises(openai.APIStatusError) as info:
        warden.openai(key, purpose).chat.completions.create(
            model=model, messages=MESSAGES, max_tokens=8
        )
    return info.value


def _anthropic_error(
    warden: Warden, key: str, *, model: str = "mock-claude", purpose: str | None = "benchmarking"
) -> anthropic.APIStatusError:
    with pytest.raises(anthropic.APIStatusError) as info:
        warden.anthropic(key, purpose).messages.create(model=model, max_tokens=8, messages=MESSAGES)
    return info.value


def _codes(error: openai.APIStatusError | anthropic.APIStatusError) -> tuple[int, str, str]:
    body = error.response.json()
    if "type" in body:  # Anthropic: {"type": "error", "error": {"type", "message", "code"}}
        assert body["type"] == "error"
        return error.status_code, body["error"]["type"], body["error"]["code"]
    return error.status_code, body["error"]["type"], body["error"]["code"]


def test_unknown_key(warden: Warden) -> None:
    tenant = warden.tenant()
    forged = tenant.key[:-4] + ("AAAA" if not tenant.key.endswith("AAAA") else "BBBB")
    for key in ("sk-not-a-warden-key", "bw_00000000_" + "A" * 43, forged):
        error = _openai_error(warden, key)
        assert isinstance(error, openai.AuthenticationError)
        assert _codes(error) == (401, "authentication_error", "invalid_key")
        assert key not in error.response.text
        a_error = _anthropic_error(warden, key)
        assert isinstance(a_error, anthropic.AuthenticationError)
        assert _codes(a_error) == (401, "authentication_error", "invalid_key")


def test_missing_key(warden: Warden) -> None:
    response = httpx.post(f"{warden.url}/v1/chat/completions", json={"model": "mock-gpt"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_key"
    assert response.headers["x-should-retry"] == "false"


def test_revoked_key(warden: Warden) -> None:
    tenant = warden.tenant()
    warden.openai(tenant.key).chat.completions.create(
        model="mock-gpt", messages=MESSAGES, max_tokens=8
    )
    warden.runtime.tenancy.revoke_key(tenant.key_id, "contract ended")
    error = _openai_error(warden, tenant.key)
    assert isinstance(error, openai.PermissionDeniedError)
    assert _codes(error) == (403, "permission_error", "key_revoked")
    assert tenant.key_id in error.message
    assert _codes(_anthropic_error(warden, tenant.key)) == (403, "permission_error", "key_revoked")


def test_expired_key_and_expired_grant(warden: Warden) -> None:
    soon = datetime.now(UTC) + timedelta(seconds=1)
    tenant = warden.tenant(expires_at=soon)
    warden.openai(tenant.key).chat.completions.create(
        model="mock-gpt", messages=MESSAGES, max_tokens=8
    )
    time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.05)
    assert _codes(_openai_error(warden, tenant.key))[2] == "key_expired"
    assert _codes(_anthropic_error(warden, tenant.key))[2] == "key_expired"

    other = warden.tenant()
    past = datetime.now(UTC) - timedelta(minutes=1)
    warden.runtime.tenancy.add_grant(other.org, "mock-gpt", GrantTerms(("*",), expires_at=past))
    error = _openai_error(warden, other.key)
    assert _codes(error) == (403, "permission_error", "key_expired")
    assert "grant" in error.message and "expired" in error.message


def test_model_not_granted(warden: Warden) -> None:
    tenant = warden.tenant(models=("mock-gpt",))
    error = _openai_error(warden, tenant.key, model="mock-claude")
    assert _codes(error) == (403, "permission_error", "model_not_granted")
    assert tenant.org in error.message
    a_error = _anthropic_error(warden, tenant.key, model="mock-claude")
    assert _codes(a_error) == (403, "permission_error", "model_not_granted")
    # A model nobody serves is not granted either (and says nothing about what exists).
    assert _codes(_openai_error(warden, tenant.key, model="gpt-9"))[2] == "model_not_granted"


def test_granted_but_not_served(warden: Warden) -> None:
    tenant = warden.tenant(models=("retired-model",))
    error = _openai_error(warden, tenant.key, model="retired-model")
    assert _codes(error) == (404, "not_found_error", "model_not_found")


def test_purpose_not_permitted(warden: Warden) -> None:
    tenant = warden.tenant(purposes=("benchmarking",))
    error = _openai_error(warden, tenant.key, purpose="marketing")
    assert _codes(error) == (403, "permission_error", "purpose_not_permitted")
    assert "marketing" in error.message and "benchmarking" in error.message
    a_error = _anthropic_error(warden, tenant.key, purpose="marketing")
    assert _codes(a_error) == (403, "permission_error", "purpose_not_permitted")


def test_purpose_is_required_unless_the_key_implies_it(warden: Warden) -> None:
    general = warden.tenant()
    assert _codes(_openai_error(warden, general.key, purpose=None))[2] == "purpose_not_permitted"
    # A key with exactly one purpose implies it.
    single = warden.tenant(key_purposes=("safety-evaluation",))
    reply = warden.openai(single.key, purpose=None).chat.completions.create(
        model="mock-gpt", messages=MESSAGES, max_tokens=8
    )
    assert reply.choices[0].message.content
    # ... and a key's purposes narrow its grant.
    error = _openai_error(warden, single.key, purpose="benchmarking")
    assert _codes(error)[2] == "purpose_not_permitted"
    rows = warden.audit_rows(lambda rs: any(r.action.endswith(".settle") for r in rs))
    allowed = [r for r in rows if r.key_id == single.key_id and r.decision == "allow"]
    assert allowed[0].purpose == "safety-evaluation"


def test_malformed_purpose_header(warden: Warden) -> None:
    tenant = warden.tenant()
    error = _openai_error(warden, tenant.key, purpose="bench marking!")
    assert _codes(error) == (400, "invalid_request_error", "invalid_request")


def test_every_refusal_is_audited_with_its_reason(warden: Warden) -> None:
    tenant = warden.tenant(models=("mock-gpt",), purposes=("benchmarking",))
    _openai_error(warden, "bw_00000000_" + "A" * 43)
    _openai_error(warden, tenant.key, purpose="marketing")
    _openai_error(warden, tenant.key, model="mock-claude")
    rows = warden.audit_rows()
    refusals = [(r.action, r.decision, r.code) for r in rows if r.decision == "refuse"]
    assert refusals == [
        ("chat.completions", "refuse", "invalid_key"),
        ("chat.completions", "refuse", "purpose_not_permitted"),
        ("chat.completions", "refuse", "model_not_granted"),
    ]
    unknown = next(r for r in rows if r.code == "invalid_key")
    assert unknown.key_id == "00000000" and unknown.org is None and unknown.actor == "anonymous"
    assert unknown.detail["status"] == 401
    assert unknown.request_sha256 and len(unknown.request_sha256) == 64
