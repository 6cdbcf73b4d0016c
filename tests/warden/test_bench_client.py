"""benchwarden's own model clients (what bench uses) reaching models through warden:
the HTTP line the demo runs on. Refusals arrive as typed errors bench can act on."""

from __future__ import annotations

import os

import pytest

from benchwarden.models.config import ModelSpec
from benchwarden.models.errors import AccessDenied, RateLimited
from benchwarden.models.factory import open_client
from benchwarden.models.pacing.retry import RetryPolicy
from benchwarden.models.types import GenerateRequest, Mode
from tests.warden.conftest import Warden

KEY_ENV = "WARDEN_TEST_CLIENT_KEY"


def _spec(warden: Warden, provider: str, model: str, mode: Mode = Mode.CHAT) -> ModelSpec:
    base = f"{warden.url}/v1" if provider == "openai" else warden.url
    return ModelSpec(
        name=f"via-warden/{model}",
        provider=provider,  # type: ignore[arg-type]
        upstream_model=model,
        base_url=base,
        api_key_env=KEY_ENV,
        mode=mode,
    )


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_bench_clients_through_warden(
    warden: Warden, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = warden.tenant(models=("quick", "mock-gpt"), purposes=("benchmarking",))
    monkeypatch.setenv(KEY_ENV, tenant.key)
    client = open_client(_spec(warden, provider, "quick"), use_cache=False)
    request = GenerateRequest.from_prompt("hi", max_tokens=3, purpose="benchmarking")
    result = await client.generate(request)
    assert result.text == "w0 w1 w2" and result.usage.output_tokens == 3
    pieces = [d.text async for d in client.stream(request) if d.text]
    assert "".join(pieces).split() == ["w0", "w1", "w2"]

    with pytest.raises(AccessDenied) as info:
        await client.generate(GenerateRequest.from_prompt("hi", purpose="marketing"))
    assert info.value.code == "purpose_not_permitted"
    assert "permitted --purpose" in info.value.hint

    warden.runtime.tenancy.revoke_key(tenant.key_id)
    with pytest.raises(AccessDenied) as info:
        await client.generate(request)
    assert info.value.code == "key_revoked" and info.value.status == 403
    assert tenant.key not in str(info.value)
    await client.aclose()


async def test_bench_completion_mode_through_warden(
    warden: Warden, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = warden.tenant(models=("mock-gpt",))
    monkeypatch.setenv(KEY_ENV, tenant.key)
    client = open_client(_spec(warden, "openai", "mock-gpt", Mode.COMPLETION), use_cache=False)
    request = GenerateRequest(prompt="def f():", max_tokens=4, purpose="benchmarking")
    result = await client.generate(request)
    assert result.mode is Mode.COMPLETION and result.text
    await client.aclose()


async def test_bench_sees_warden_rate_limits(
    warden: Warden, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = warden.tenant(models=("quick",), rpm=1)
    monkeypatch.setenv(KEY_ENV, tenant.key)
    client = open_client(
        _spec(warden, "openai", "quick"),
        use_cache=False,
        policy=RetryPolicy(max_attempts=1, time_budget_s=5.0),
    )
    request = GenerateRequest.from_prompt("hi", max_tokens=2, purpose="benchmarking")
    await client.generate(request)
    # The answer named the grant's limit: the next call's turn is a minute away, past
    # its time budget, so it ends at once without being sent (no 429 asked for).
    with pytest.raises(RateLimited) as info:
        await client.generate(request)
    assert info.value.code == "rate_limited"
    assert info.value.retry_after_s is not None and 50 <= info.value.retry_after_s <= 62
    await client.aclose()
    assert os.environ[KEY_ENV] == tenant.key
