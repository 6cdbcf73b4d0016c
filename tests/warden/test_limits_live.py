"""Limits on a running server: RPM and TPM never exceeded under concurrent load,
429 with Retry-After, concurrency caps, one organization cut without touching another,
and streams ended cleanly at their limits."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx2 as httpx
import openai
import pytest

from benchwarden.warden.tenancy import GrantTerms
from tests.warden.conftest import Tenant, Warden

MESSAGES = [{"role": "user", "content": "hi"}]


def _async_client(warden: Warden, tenant: Tenant) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        base_url=f"{warden.url}/v1",
        api_key=tenant.key,
        max_retries=0,
        default_headers={"Benchwarden-Purpose": "benchmarking"},
    )


async def _fire(
    client: openai.AsyncOpenAI, n: int, model: str = "quick", max_tokens: int = 5
) -> list[Any]:
    async def one() -> Any:
        try:
            return await client.chat.completions.create(
                model=model, messages=MESSAGES, max_tokens=max_tokens
            )
        except openai.APIStatusError as exc:
            return exc

    return list(await asyncio.gather(*(one() for _ in range(n))))


def _refusals(results: list[Any]) -> list[openai.APIStatusError]:
    return [r for r in results if isinstance(r, openai.APIStatusError)]


async def test_rpm_is_exact_under_concurrent_load(warden: Warden) -> None:
    tenant = warden.tenant(models=("quick",), rpm=5)
    async with _async_client(warden, tenant) as client:
        results = await _fire(client, 25)
    refused = _refusals(results)
    assert len(results) - len(refused) == 5
    assert len(refused) == 20
    for error in refused:
        assert error.status_code == 429
        body = error.response.json()["error"]
        assert (body["type"], body["code"]) == ("rate_limit_error", "rate_limited")
        retry_after = error.response.headers["retry-after"]
        assert retry_after.isdigit() and 1 <= int(retry_after) <= 60
    assert warden.fakes["quick"].started == 5


async def test_tpm_is_never_exceeded_under_concurrent_load(warden: Warden) -> None:
    # Each call reserves its prompt bound (2 bytes + 8 + 64 = 74) + max_tokens (5) = 79,
    # and settles at its actual 11 + 5 = 16 tokens.
    tpm = 300
    tenant = warden.tenant(models=("quick",), tpm=tpm)
    async with _async_client(warden, tenant) as client:
        results: list[Any] = []
        for _ in range(6):  # waves: refunds let later waves in, up to the limit
            results += await _fire(client, 8)
    admitted = [r for r in results if not isinstance(r, openai.APIStatusError)]
    refused = _refusals(results)
    used = sum(r.usage.total_tokens for r in admitted)
    assert used <= tpm
    assert refused and all(e.response.json()["error"]["code"] == "token_limit" for e in refused)
    assert len(admitted) >= 3
    grant_id = warden.runtime.tenancy.list_grants(tenant.org)[0].id
    limiter = warden.runtime.gate.limiter
    assert limiter.usage(grant_id, warden.runtime.gate.monotonic())[1] <= tpm  # type: ignore[attr-defined]


def test_request_larger_than_the_grant_is_refused_for_good(warden: Warden) -> None:
    tenant = warden.tenant(models=("quick",), tpm=100)
    with pytest.raises(openai.RateLimitError) as info:
        warden.openai(tenant.key).chat.completions.create(
            model="quick", messages=MESSAGES, max_tokens=500
        )
    response = info.value.response
    assert response.json()["error"]["code"] == "token_limit"
    assert response.headers["x-should-retry"] == "false"
    assert "retry-after" not in response.headers
    assert "lower max_tokens" in response.json()["error"]["message"].lower()


def test_max_concurrency_per_grant(warden: Warden) -> None:
    tenant = warden.tenant(models=("slow", "quick"), max_concurrency=2)
    client = warden.openai(tenant.key)
    streams = [
        client.chat.completions.create(model="slow", messages=MESSAGES, max_tokens=300, stream=True)
        for _ in range(2)
    ]
    for stream in streams:
        next(iter(stream))  # both are in flight
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model="slow", messages=MESSAGES, max_tokens=5)
    assert info.value.response.json()["error"]["code"] == "rate_limited"
    assert info.value.response.headers["retry-after"] == "1"
    # Grants are per model: another model of the same organization is not held up.
    assert client.chat.completions.create(model="quick", messages=MESSAGES, max_tokens=5)
    for stream in streams:
        stream.close()
    for _ in range(100):  # closing frees the slots as soon as the server sees it
        try:
            client.chat.completions.create(model="slow", messages=MESSAGES, max_tokens=2)
            break
        except openai.RateLimitError:
            time.sleep(0.05)
    else:
        pytest.fail("slots were not freed after the streams closed")


async def test_cutting_one_org_leaves_others_untouched(warden: Warden) -> None:
    cut = warden.tenant(models=("quick",), rpm=100)
    other = warden.tenant(models=("quick",), rpm=100)
    async with _async_client(warden, cut) as a, _async_client(warden, other) as b:
        assert not _refusals(await _fire(a, 3))
        # Capacity cut: new terms for the same grant, effective on the next request.
        warden.runtime.tenancy.add_grant(cut.org, "quick", GrantTerms(("*",), rpm=4))
        after_cut = await _fire(a, 5)
        assert len(_refusals(after_cut)) == 4  # 3 already counted in this minute + 1 = 4
        assert not _refusals(await _fire(b, 20))
        # And raised again.
        warden.runtime.tenancy.add_grant(cut.org, "quick", GrantTerms(("*",), rpm=1000))
        assert not _refusals(await _fire(a, 5))


def test_overlong_stream_is_ended_cleanly_at_max_tokens(warden: Warden) -> None:
    """The 'chatty' backend ignores max_tokens; warden ends the stream itself, with the
    API's proper final events."""
    tenant = warden.tenant(models=("chatty",))
    chunks = list(
        warden.openai(tenant.key).chat.completions.create(
            model="chatty",
            messages=MESSAGES,
            max_tokens=7,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.split() == [f"w{i}" for i in range(7)]
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 7

    with warden.anthropic(tenant.key).messages.stream(
        model="chatty", max_tokens=4, messages=MESSAGES
    ) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "max_tokens" and final.usage.output_tokens == 4
    rows = warden.audit_rows(lambda rs: sum(r.decision == "cut" for r in rs) == 2)
    cuts = [r for r in rows if r.decision == "cut"]
    assert [(r.code, r.output_tokens) for r in cuts] == [("max_tokens", 7), ("max_tokens", 4)]


def test_429_carries_retry_after_in_the_anthropic_format(warden: Warden) -> None:
    tenant = warden.tenant(models=("quick",), rpm=1)
    headers = {
        "x-api-key": tenant.key,
        "anthropic-version": "2023-06-01",
        "benchwarden-purpose": "benchmarking",
    }
    body = {"model": "quick", "max_tokens": 4, "messages": MESSAGES}
    assert httpx.post(f"{warden.url}/v1/messages", json=body, headers=headers).status_code == 200
    refused = httpx.post(f"{warden.url}/v1/messages", json=body, headers=headers)
    assert refused.status_code == 429
    assert refused.json() == {
        "type": "error",
        "error": {
            "type": "rate_limit_error",
            "message": refused.json()["error"]["message"],
            "code": "rate_limited",
        },
    }
    assert 55 <= int(refused.headers["retry-after"]) <= 60
