"""warden sends its grants' rate-limit headers, as the providers do, and bench paces
itself on them: under a grant's RPM (and TPM) bench is never refused."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx2 as httpx
import pytest

from benchwarden.models.config import ModelSpec
from benchwarden.models.errors import ModelError
from benchwarden.models.factory import open_client
from benchwarden.models.pacing.headers import read_limits
from benchwarden.models.types import GenerateRequest
from benchwarden.warden.limit_headers import LimitSnapshot, Window, limit_headers
from benchwarden.warden.limits import Limits, SlidingWindowLimiter
from tests.warden.conftest import Warden

KEY_ENV = "WARDEN_PACING_TEST_KEY"
PURPOSE = {"Benchwarden-Purpose": "benchmarking"}
NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)


def test_headers_in_each_apis_names() -> None:
    snap = LimitSnapshot(Window(600, 598, 59.95), Window(10000, 9000, 0.25))
    assert limit_headers("openai", snap, NOW) == {
        "x-ratelimit-limit-requests": "600",
        "x-ratelimit-remaining-requests": "598",
        "x-ratelimit-reset-requests": "59950ms",
        "x-ratelimit-limit-tokens": "10000",
        "x-ratelimit-remaining-tokens": "9000",
        "x-ratelimit-reset-tokens": "250ms",
    }
    anthropic = limit_headers("anthropic", snap, NOW)
    assert anthropic["anthropic-ratelimit-requests-limit"] == "600"
    assert anthropic["anthropic-ratelimit-requests-remaining"] == "598"
    assert anthropic["anthropic-ratelimit-requests-reset"] == "2026-11-25T12:01:00Z"  # rounded up
    assert anthropic["anthropic-ratelimit-tokens-reset"] == "2026-11-25T12:00:01Z"
    assert (
        limit_headers("openai", LimitSnapshot(Window(60, -3, 1.0)), NOW)[
            "x-ratelimit-remaining-requests"
        ]
        == "0"
    )  # an overshoot settled late is never a negative count
    assert limit_headers("openai", LimitSnapshot(), NOW) == {}
    assert limit_headers("anthropic", None, NOW) == {}


@pytest.mark.parametrize("dialect", ["openai", "anthropic"])
def test_what_warden_sends_is_what_bench_reads(dialect: str) -> None:
    snap = LimitSnapshot(Window(600, 598, 2.0), Window(10000, 9000, 1.0))
    read = read_limits(limit_headers(dialect, snap, NOW), NOW)  # type: ignore[arg-type]
    assert {d: (r.limit, r.remaining) for d, r in read.items()} == {
        "requests": (600, 598),
        "tokens": (10000, 9000),
    }
    assert read["requests"].reset_s == pytest.approx(2.0)


def test_the_limiter_fills_the_snapshot_from_its_window() -> None:
    limiter = SlidingWindowLimiter(window_s=60.0)
    limiter.set_limits(1, Limits(rpm=3, tpm=100))
    first = limiter.reserve(1, 10, 0.0)
    second = limiter.reserve(1, 20, 5.0)
    assert not isinstance(first, Exception) and not isinstance(second, Exception)
    assert second.snapshot == LimitSnapshot(Window(3, 1, 60.0), Window(100, 70, 60.0))  # type: ignore[union-attr]
    limiter.set_limits(2, Limits(max_concurrency=2))
    unlimited = limiter.reserve(2, 10, 0.0)
    assert unlimited.snapshot == LimitSnapshot()  # type: ignore[union-attr]


async def test_answers_carry_the_grants_headers(warden: Warden) -> None:
    tenant = warden.tenant(models=("quick",), rpm=120, tpm=50000)
    async with httpx.AsyncClient(base_url=warden.url, timeout=10) as http:
        chat = await http.post(
            "/v1/chat/completions",
            headers={"authorization": f"Bearer {tenant.key}", **PURPOSE},
            json={"model": "quick", "messages": [{"role": "user", "content": "hi"}]},
        )
        messages = await http.post(
            "/v1/messages",
            headers={"x-api-key": tenant.key, **PURPOSE},
            json={
                "model": "quick",
                "max_tokens": 5,
                "messages": [{"role": "user", "content": "hi"}],
            },
        )
    assert chat.status_code == 200 and messages.status_code == 200
    assert chat.headers["x-ratelimit-limit-requests"] == "120"
    assert chat.headers["x-ratelimit-remaining-requests"] == "119"
    assert chat.headers["x-ratelimit-limit-tokens"] == "50000"
    assert int(chat.headers["x-ratelimit-remaining-tokens"]) < 50000
    assert messages.headers["anthropic-ratelimit-requests-limit"] == "120"
    assert messages.headers["anthropic-ratelimit-requests-remaining"] == "118"
    assert "anthropic-ratelimit-tokens-reset" in messages.headers


@pytest.mark.parametrize(
    ("provider", "rpm", "tpm"), [("openai", 1200, None), ("anthropic", None, 12000)]
)
async def test_bench_through_warden_is_never_refused(
    warden: Warden,
    monkeypatch: pytest.MonkeyPatch,
    provider: str,
    rpm: int | None,
    tpm: int | None,
) -> None:
    """60 calls at concurrency 10 under a grant of 1,200 requests/min (20/s), or of
    12,000 tokens/min (each call reserves its prompt bound + 8): paced, not refused."""
    tenant = warden.tenant(models=("quick",), rpm=rpm, tpm=tpm)
    monkeypatch.setenv(KEY_ENV, tenant.key)
    spec = ModelSpec(
        name=f"via-warden/{provider}",
        provider=provider,  # type: ignore[arg-type]
        upstream_model="quick",
        base_url=f"{warden.url}/v1" if provider == "openai" else warden.url,
        api_key_env=KEY_ENV,
        max_concurrency=10,
    )
    client = open_client(spec, use_cache=False)
    request = GenerateRequest.from_prompt("hi", max_tokens=8, purpose="benchmarking")
    queue = list(range(60))
    errors: list[ModelError] = []

    async def worker() -> None:
        while queue:
            queue.pop()
            try:
                await client.generate(request)
            except ModelError as exc:
                errors.append(exc)

    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(10))), 120)
    pacer = client.pacer  # type: ignore[attr-defined]
    await client.aclose()
    assert not errors
    assert pacer.mode == "advertised"
    assert pacer.refusals == 0, pacer.describe()
