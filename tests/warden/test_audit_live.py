"""The audit chain of a server under mixed concurrent traffic: one record per decision
and per outcome, hashes and counts only, intact; then tampered and caught."""

from __future__ import annotations

import asyncio
import hashlib
import json

import openai
import sqlalchemy as sa

from benchwarden.store.engine import create_engine
from benchwarden.store.urls import resolve_url
from tests.warden.conftest import Warden
from tests.warden.test_cli import _run

PROMPT = "A prompt that must never be stored."


async def test_chain_under_concurrent_traffic(warden: Warden) -> None:
    good = warden.tenant(models=("quick",), rpm=30)
    async with openai.AsyncOpenAI(
        base_url=f"{warden.url}/v1",
        api_key=good.key,
        max_retries=0,
        default_headers={"Benchwarden-Purpose": "benchmarking"},
    ) as client:

        async def one(i: int) -> str:
            try:
                if i % 4 == 0:
                    stream = await client.chat.completions.create(
                        model="quick",
                        messages=[{"role": "user", "content": PROMPT}],
                        max_tokens=3,
                        stream=True,
                    )
                    async for _ in stream:
                        pass
                else:
                    await client.chat.completions.create(
                        model="quick" if i % 5 else "mock-gpt",
                        messages=[{"role": "user", "content": PROMPT}],
                        max_tokens=3,
                    )
            except openai.APIStatusError as exc:
                return str(exc.response.json()["error"]["code"])
            return "ok"

        outcomes = await asyncio.gather(*(one(i) for i in range(60)))
    allowed = outcomes.count("ok")
    # 9 calls name an ungranted model; of the 51 others, exactly the grant's 30 pass.
    assert (allowed, outcomes.count("model_not_granted"), outcomes.count("rate_limited")) == (
        30,
        9,
        21,
    )

    rows = warden.audit_rows(lambda rs: sum(r.action.endswith(".settle") for r in rs) == allowed)
    decisions = [r for r in rows if r.action == "chat.completions"]
    settles = [r for r in rows if r.action == "chat.completions.settle"]
    assert len(decisions) == 60 and len(settles) == allowed
    assert sum(r.decision == "allow" for r in decisions) == allowed
    assert all(r.decision == "completed" and r.output_tokens == 3 for r in settles)
    body_hashes = {r.request_sha256 for r in decisions}
    assert len(body_hashes) >= 2  # stream and plain bodies differ
    dump = json.dumps([r.detail for r in rows]) + repr(rows)
    assert PROMPT not in dump and good.key not in dump
    report = warden.runtime.tenancy.verify_audit()
    assert report.ok and report.records == len(rows)

    # Tampering with the live database is caught, naming the record.
    target = settles[0].seq
    engine = create_engine(resolve_url(warden.db))
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE warden_audit SET output_tokens = 0 WHERE seq = {target}"))
    engine.dispose()
    code, _, err = _run("audit", "verify", "--db", warden.db)
    assert code == 1 and f"record {target} (altered)" in err


def test_request_hash_is_the_body_hash(warden: Warden) -> None:
    import httpx2 as httpx

    tenant = warden.tenant(models=("quick",))
    body = json.dumps(
        {"model": "quick", "messages": [{"role": "user", "content": "x"}], "max_tokens": 2}
    ).encode()
    response = httpx.post(
        f"{warden.url}/v1/chat/completions",
        content=body,
        headers={"authorization": f"Bearer {tenant.key}", "benchwarden-purpose": "benchmarking"},
    )
    assert response.status_code == 200
    row = next(r for r in warden.audit_rows() if r.action == "chat.completions")
    assert row.request_sha256 == hashlib.sha256(body).hexdigest()
    assert row.detail["reserved_tokens"] == 1 + 8 + 64 + 2
