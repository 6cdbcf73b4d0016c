"""The monitor on a live server: usage recorded off the request path with no prompt
text, then a finding's graduated responses change the terms the very next request
meets, each step in the audit chain, which still verifies."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import httpx2 as httpx
import openai
import pytest
from typer.testing import CliRunner

from benchwarden.cli.app import app as cli_app
from benchwarden.store.monitor_store import UsageRow
from benchwarden.warden.monitor.scoring import Policy
from tests.warden.conftest import Tenant, Warden
from tests.warden.test_cli import _run

TOKEN = "admin-token-for-monitor-tests-0123"
SECRET_PROMPT = "Describe the lighthouse keeper's seventh notebook in detail"


@pytest.fixture
def admin(warden_factory: Callable[..., Warden]) -> Warden:
    warden = warden_factory(admin_token=TOKEN)
    # every organization with any traffic gets a finding recommending a throttle
    warden.runtime.monitor.policy = Policy(
        flag=0, throttle=0, suspend=101, revoke=101, auto_max="none"
    )
    return warden


def _admin(warden: Warden, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"authorization": f"Bearer {TOKEN}"}
    return httpx.request(method, f"{warden.url}{path}", headers=headers, timeout=30, **kwargs)


def _usage(warden: Warden, org: str, count: int) -> list[UsageRow]:
    deadline = time.monotonic() + 10
    while True:
        rows = [r for r in _all_usage(warden) if r.org == org]
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


def _all_usage(warden: Warden) -> list[UsageRow]:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    return warden.runtime.store.monitor.usage(now - timedelta(days=1), now + timedelta(hours=1))


def _ask(warden: Warden, tenant: Tenant, n: int, text: str = "Tell me about item") -> None:
    client = warden.openai(tenant.key)
    for i in range(n):
        client.chat.completions.create(
            model="mock-gpt", messages=[{"role": "user", "content": f"{text} {i}"}], max_tokens=8
        )


def test_usage_records_keep_hashes_not_text(admin: Warden) -> None:
    tenant = admin.tenant(models=("mock-gpt",))
    client = admin.openai(tenant.key)
    client.chat.completions.create(
        model="mock-gpt", messages=[{"role": "user", "content": SECRET_PROMPT}], max_tokens=8
    )
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model="mock-gpt",
            messages=[{"role": "user", "content": SECRET_PROMPT}],
            max_tokens=8,
            logprobs=True,
            # logprobs alone is now relayed to the OpenAI backend; legacy functions are not
            extra_body={"functions": [{"name": "f", "parameters": {}}]},
        )
    rows = _usage(admin, tenant.org, 2)
    served = next(r for r in rows if r.outcome == "completed")
    refused = next(r for r in rows if r.outcome == "refused")
    assert served.prompt_sha256 == hashlib.sha256(SECRET_PROMPT.encode()).hexdigest()
    assert served.minhash is not None and len(served.minhash) == 256
    assert served.key_id == tenant.key_id and served.purpose == "benchmarking"
    assert served.output_tokens == 5 and served.max_tokens == 8 and served.in_flight == 1
    assert refused.code == "unsupported" and "logprobs" in refused.flags
    # nothing of the prompt in the database files (main file and write-ahead log)
    raw = b"".join(p.read_bytes() for p in Path(admin.db).parent.glob(Path(admin.db).name + "*"))
    assert b"lighthouse keeper" not in raw


def test_throttle_holds_from_the_next_request_and_is_audited(admin: Warden) -> None:
    tenant = admin.tenant(models=("mock-gpt",), rpm=10, tpm=100_000, max_concurrency=4)
    _ask(admin, tenant, 6)
    _usage(admin, tenant.org, 6)
    made = _admin(admin, "POST", "/admin/monitor/evaluate", json={"org": tenant.org})
    assert made.status_code == 200, made.text
    (finding,) = made.json()["data"]
    assert finding["recommended"] == "throttle" and finding["status"] == "open"
    assert finding["evidence"]["requests"] == 6
    # before approval nothing changed: a 7th request is still admitted
    _ask(admin, tenant, 1, "One more")
    applied = _admin(
        admin, "POST", f"/admin/monitor/findings/{finding['id']}/apply", json={"action": "throttle"}
    )
    assert applied.status_code == 200, applied.text
    (change,) = applied.json()["changes"]
    assert change["before"]["rpm"] == 10 and change["after"]["rpm"] == 5
    assert change["after"]["max_concurrency"] == 2 and change["after"]["tpm"] == 50_000
    # 7 requests in this minute, the throttled grant allows 5: the next one is refused
    with pytest.raises(openai.RateLimitError) as refused:
        _ask(admin, tenant, 1, "After the throttle")
    assert refused.value.body["code"] == "rate_limited"  # type: ignore[index]
    other = admin.tenant(models=("mock-gpt",), rpm=10)
    _ask(admin, other, 1)  # another organization is untouched
    actions = [(r.actor, r.action) for r in admin.audit_rows() if r.org == tenant.org]
    assert ("monitor", "monitor.finding") in actions
    assert ("admin-api", "grant.add") in actions
    assert ("admin-api", "monitor.throttle") in actions
    assert admin.runtime.tenancy.verify_audit().ok
    assert _run("audit", "verify", "--db", admin.db)[0] == 0


@pytest.mark.parametrize(
    ("action", "code"), [("suspend", "grant_suspended"), ("revoke", "key_revoked")]
)
def test_suspend_and_revoke(admin: Warden, action: str, code: str) -> None:
    tenant = admin.tenant(models=("mock-gpt",))
    _ask(admin, tenant, 3)
    _usage(admin, tenant.org, 3)
    (finding,) = admin.runtime.monitor.evaluate(org=tenant.org)
    assert finding.id is not None
    response = _admin(
        admin,
        "POST",
        f"/admin/monitor/findings/{finding.id}/apply",
        json={"action": action, "reason": "test"},
    )
    assert response.status_code == 200, response.text
    with pytest.raises(openai.PermissionDeniedError) as refused:
        _ask(admin, tenant, 1)
    assert refused.value.body["code"] == code  # type: ignore[index]
    rows = [r for r in admin.audit_rows() if r.action == f"monitor.{action}"]
    assert rows and rows[-1].detail["finding"] == finding.id
    listed = _admin(admin, "GET", f"/admin/monitor/findings?org={tenant.org}").json()["data"]
    assert listed[0]["status"] == "applied" and listed[0]["action"] == action
    assert admin.runtime.tenancy.verify_audit().ok


def test_report_endpoint_and_guard(admin: Warden, warden: Warden) -> None:
    tenant = admin.tenant(models=("mock-gpt",))
    _ask(admin, tenant, 2)
    _usage(admin, tenant.org, 2)
    body = _admin(admin, "GET", "/admin/monitor/report?hours=2").json()
    mine = next(o for o in body["orgs"] if o["org"] == tenant.org)
    assert mine["evidence"]["requests"] == 2 and "signals" in mine
    assert _admin(admin, "GET", "/admin/monitor/report?hours=-1").status_code == 400
    unauthorized = httpx.get(f"{admin.url}/admin/monitor/report", timeout=10)
    assert unauthorized.status_code == 401
    assert httpx.get(f"{warden.url}/admin/monitor/report", timeout=10).status_code == 404


def _apply(warden: Warden, finding_id: int, action: str) -> httpx.Response:
    path = f"/admin/monitor/findings/{finding_id}/apply"
    return _admin(warden, "POST", path, json={"action": action})


def test_an_applied_finding_is_refused_with_409_and_by_the_cli(admin: Warden) -> None:
    tenant = admin.tenant(models=("mock-gpt",), rpm=40)
    _ask(admin, tenant, 2)
    _usage(admin, tenant.org, 2)
    (finding,) = admin.runtime.monitor.evaluate(org=tenant.org)
    assert finding.id is not None
    assert _apply(admin, finding.id, "throttle").status_code == 200
    again = _apply(admin, finding.id, "throttle")
    assert again.status_code == 409
    error = again.json()["error"]
    assert error["code"] == "finding_not_open"
    assert f"Finding {finding.id} is applied (throttle by admin-api)" in error["message"]
    assert "only open findings" in error["message"]
    assert _apply(admin, finding.id, "dismiss").status_code == 409
    args = ["monitor", "apply", str(finding.id), "throttle", "--db", admin.db]
    result = CliRunner().invoke(cli_app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 1 and "only open findings" in result.stderr
    (grant,) = admin.runtime.store.list_grants(tenant.org)
    assert grant.rpm == 20  # halved once
    listed = _admin(admin, "GET", f"/admin/monitor/findings?org={tenant.org}").json()["data"]
    assert (listed[0]["status"], listed[0]["action"]) == ("applied", "throttle")


def test_suspension_has_its_own_refusal_in_both_formats_and_restore_lifts_it(
    admin: Warden,
) -> None:
    tenant = admin.tenant(models=("mock-gpt", "mock-claude"), rpm=30, tpm=90_000)
    _ask(admin, tenant, 2)
    _usage(admin, tenant.org, 2)
    (finding,) = admin.runtime.monitor.evaluate(org=tenant.org)
    assert finding.id is not None
    assert _apply(admin, finding.id, "suspend").status_code == 200
    with pytest.raises(openai.PermissionDeniedError) as by_openai:
        _ask(admin, tenant, 1)
    body = by_openai.value.body
    assert isinstance(body, dict) and body["code"] == "grant_suspended"
    for words in ("suspended by the provider", "audit log", "contact the provider"):
        assert words in body["message"]
    assert "expired" not in body["message"] and "renew" not in body["message"]
    claude = admin.anthropic(tenant.key)
    with pytest.raises(anthropic.PermissionDeniedError) as by_anthropic:
        claude.messages.create(
            model="mock-claude", max_tokens=8, messages=[{"role": "user", "content": "hi"}]
        )
    error = by_anthropic.value.body
    assert isinstance(error, dict) and error["type"] == "error"
    assert error["error"]["type"] == "permission_error"
    assert "suspended by the provider" in error["error"]["message"]
    restored = _apply(admin, finding.id, "restore")
    assert restored.status_code == 200, restored.text
    assert restored.json()["finding"]["status"] == "restored"
    _ask(admin, tenant, 1, "Back again")
    claude.messages.create(
        model="mock-claude", max_tokens=8, messages=[{"role": "user", "content": "hi"}]
    )
    terms = {(g.model, g.rpm, g.tpm, g.suspended_at) for g in admin.runtime.store.list_grants()}
    assert {t for t in terms if t[0] in ("mock-gpt", "mock-claude")} >= {
        ("mock-gpt", 30, 90_000, None),
        ("mock-claude", 30, 90_000, None),
    }
    actions = [(r.actor, r.action) for r in admin.audit_rows() if r.org == tenant.org]
    assert ("admin-api", "monitor.suspend") in actions
    assert ("admin-api", "grant.restore") in actions
    assert ("admin-api", "monitor.restore") in actions
    assert admin.runtime.tenancy.verify_audit().ok
