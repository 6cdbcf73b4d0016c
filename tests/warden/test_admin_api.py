"""The admin HTTP API: behind BENCHWARDEN_ADMIN_TOKEN, absent without it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx2 as httpx
import openai
import pytest

from tests.warden.conftest import Warden

TOKEN = "admin-token-for-tests-0123456789"


@pytest.fixture
def admin(warden_factory: Callable[..., Warden]) -> Warden:
    return warden_factory(admin_token=TOKEN)


def _call(
    warden: Warden, method: str, path: str, token: str | None = TOKEN, **kwargs: Any
) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return httpx.request(method, f"{warden.url}{path}", headers=headers, timeout=30, **kwargs)


def test_disabled_without_a_token(warden: Warden) -> None:
    for method, path in (
        ("GET", "/admin/orgs"),
        ("POST", "/admin/keys"),
        ("GET", "/admin/audit/verify"),
    ):
        response = _call(warden, method, path)
        assert response.status_code == 404


def test_wrong_or_missing_token(admin: Warden) -> None:
    assert _call(admin, "GET", "/admin/orgs", token=None).status_code == 401
    assert _call(admin, "GET", "/admin/orgs", token="nope").status_code == 401
    response = _call(admin, "GET", "/admin/orgs", token=TOKEN + "x")
    assert response.json()["error"]["code"] == "invalid_admin_token"


def test_full_cycle(admin: Warden) -> None:
    assert _call(admin, "POST", "/admin/orgs", json={"name": "acme"}).status_code == 201
    assert _call(admin, "POST", "/admin/orgs", json={"name": "acme"}).status_code == 409
    grant = _call(
        admin,
        "POST",
        "/admin/grants",
        json={
            "org": "acme",
            "model": "mock-gpt",
            "purposes": ["benchmarking"],
            "rpm": 100,
            "expires_at": "2099-01-01T00:00:00Z",
        },
    )
    assert grant.status_code == 201, grant.text
    assert grant.json()["purposes"] == ["benchmarking"] and grant.json()["rpm"] == 100
    created = _call(
        admin, "POST", "/admin/keys", json={"org": "acme", "purposes": ["benchmarking"]}
    )
    assert created.status_code == 201
    key, key_id = created.json()["key"], created.json()["key_id"]
    assert key.startswith(f"bw_{key_id}_")

    client = admin.openai(key, purpose=None)  # the key implies its one purpose
    client.chat.completions.create(
        model="mock-gpt", messages=[{"role": "user", "content": "x"}], max_tokens=4
    )

    listed = _call(admin, "GET", "/admin/keys?org=acme").json()["data"]
    assert [k["key_id"] for k in listed] == [key_id]
    assert key not in str(listed) and "sha256" not in listed[0]
    assert [g["model"] for g in _call(admin, "GET", "/admin/grants").json()["data"]] == ["mock-gpt"]
    assert [o["name"] for o in _call(admin, "GET", "/admin/orgs").json()["data"]] == ["acme"]

    revoked = _call(admin, "POST", f"/admin/keys/{key_id}/revoke", json={"reason": "test"})
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert revoked.json()["revoked_now"] is True
    with pytest.raises(openai.PermissionDeniedError):
        client.chat.completions.create(
            model="mock-gpt", messages=[{"role": "user", "content": "x"}], max_tokens=4
        )
    assert _call(admin, "POST", "/admin/keys/ffffffff/revoke").status_code == 404

    removed = _call(
        admin, "POST", "/admin/grants/remove", json={"org": "acme", "model": "mock-gpt"}
    )
    assert removed.status_code == 200
    verify = _call(admin, "GET", "/admin/audit/verify").json()
    assert verify["ok"] is True and verify["problem"] is None and verify["records"] >= 7
    tail = _call(admin, "GET", "/admin/audit/tail?n=3").json()["data"]
    assert [r["action"] for r in tail][-1] == "grant.remove"
    assert all(r["actor"] == "admin-api" for r in tail if r["action"].startswith(("grant", "key")))


def test_admin_errors_are_4xx(admin: Warden) -> None:
    assert _call(admin, "POST", "/admin/orgs", content=b"{").status_code == 400
    assert _call(admin, "POST", "/admin/orgs", json={"name": 5}).status_code == 400
    assert (
        _call(admin, "POST", "/admin/grants", json={"org": "nobody", "model": "m"}).status_code
        == 404
    )
    response = _call(admin, "POST", "/admin/grants", json={"org": "x", "model": "m", "rpm": 0})
    assert response.status_code == 400
    assert _call(admin, "GET", "/admin/audit/tail?n=abc").status_code == 400
    response = _call(admin, "POST", "/admin/keys", json={"org": "x", "expires_at": "soon"})
    assert response.status_code == 400
