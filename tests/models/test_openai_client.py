"""The OpenAI transport, paced, against a real loopback server that misbehaves on cue."""

from __future__ import annotations

import asyncio
import time

import pytest

from benchwarden.models.config import ModelSpec
from benchwarden.models.errors import (
    AccessDenied,
    BadRequest,
    ModelTimeout,
    RateLimited,
    UpstreamError,
)
from benchwarden.models.factory import open_client
from benchwarden.models.pacing.retry import RetryPolicy
from benchwarden.models.protocol import ModelClient
from benchwarden.models.types import FinishReason, GenerateRequest, Message, Mode
from benchwarden.testing.mock_upstream import Fault, MockUpstream

FAST = RetryPolicy(
    max_attempts=4, base_delay_s=0.01, max_delay_s=0.05, time_budget_s=10.0, attempt_timeout_s=2.0
)


def client_for(mock: MockUpstream, policy: RetryPolicy = FAST, **spec_args: object) -> ModelClient:
    spec = ModelSpec(
        name="mock-openai",
        provider="openai",
        upstream_model="served-name",
        base_url=f"{mock.base_url}/v1",
        **spec_args,
    )  # type: ignore[arg-type]
    return open_client(spec, use_cache=False, policy=policy)


REQ = GenerateRequest(
    messages=(Message("user", "hi"),),
    system="be brief",
    max_tokens=20,
    temperature=0.3,
    top_p=0.9,
    stop=("END",),
    seed=7,
    purpose="benchmarking",
)


async def test_success_sends_every_parameter(mock: MockUpstream) -> None:
    client = client_for(mock)
    result = await client.generate(REQ)
    await client.aclose()
    assert result.text == "Hello from the mock."
    assert result.finish_reason is FinishReason.STOP
    assert (result.usage.input_tokens, result.usage.output_tokens) == (7, 5)
    assert result.latency_s > 0 and result.mode is Mode.CHAT
    assert result.endpoint == f"{mock.base_url}/v1"
    body = mock.stats.bodies[0]
    assert body["model"] == "served-name"
    assert body["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
    ]
    assert (body["max_tokens"], body["temperature"], body["top_p"]) == (20, 0.3, 0.9)
    assert (body["stop"], body["seed"]) == (["END"], 7)
    assert mock.stats.purposes == ["benchmarking"]


async def test_n_and_completion_mode(mock: MockUpstream) -> None:
    client = client_for(mock)
    many = await client.generate(GenerateRequest.from_prompt("x", n=3))
    base = await client.generate(GenerateRequest(prompt="def f():", max_tokens=5))
    await client.aclose()
    assert [c.text for c in many.choices] == [f"Hello from the mock. #{i}" for i in range(3)]
    assert base.mode is Mode.COMPLETION and base.text == "Hello from the mock."
    assert mock.stats.bodies[1]["prompt"] == "def f():"


async def test_streaming(mock: MockUpstream) -> None:
    client = client_for(mock)
    deltas = [d async for d in client.stream(REQ)]
    await client.aclose()
    assert "".join(d.text for d in deltas) == "Hello from the mock."
    assert deltas[-1].finish_reason is FinishReason.STOP
    assert deltas[-1].usage is not None and deltas[-1].usage.output_tokens == 4


async def test_429_with_retry_after_is_waited_out_then_succeeds(mock: MockUpstream) -> None:
    mock.script(Fault.rate_limited(0.3))
    client = client_for(mock)
    started = time.monotonic()
    result = await client.generate(REQ)
    await client.aclose()
    assert result.text == "Hello from the mock."
    assert time.monotonic() - started >= 0.3
    assert mock.stats.requests == 2


async def test_transient_failures_are_retried(mock: MockUpstream) -> None:
    mock.script(Fault.server_error(500), Fault("malformed"), Fault("drop"), Fault.server_error(503))
    client = client_for(
        mock,
        RetryPolicy(max_attempts=5, base_delay_s=0.01, time_budget_s=10.0, attempt_timeout_s=2.0),
    )
    result = await client.generate(REQ)
    await client.aclose()
    assert result.text == "Hello from the mock."
    assert mock.stats.requests == 5


async def test_retries_are_bounded(mock: MockUpstream) -> None:
    mock.script(*[Fault.server_error(500)] * 10)
    client = client_for(mock)
    with pytest.raises(UpstreamError) as info:
        await client.generate(REQ)
    await client.aclose()
    assert mock.stats.requests == FAST.max_attempts
    assert "gave up after 4 attempts" in str(info.value)


@pytest.mark.parametrize(
    ("fault", "error", "code"),
    [
        (Fault.denied(401, "invalid_key"), AccessDenied, "invalid_key"),
        (Fault.denied(403, "key_revoked", "Key was revoked"), AccessDenied, "key_revoked"),
        (Fault.denied(403, "purpose_not_permitted"), AccessDenied, "purpose_not_permitted"),
        (
            Fault("status", 400, {"error": {"message": "bad", "code": "invalid"}}),
            BadRequest,
            "invalid",
        ),
    ],
)
async def test_client_errors_are_not_retried(
    mock: MockUpstream, fault: Fault, error: type[Exception], code: str
) -> None:
    mock.script(fault)
    client = client_for(mock)
    with pytest.raises(error) as info:
        await client.generate(REQ)
    await client.aclose()
    assert mock.stats.requests == 1
    assert getattr(info.value, "code", None) == code


async def test_hang_times_out_and_nothing_hangs(mock: MockUpstream) -> None:
    mock.script(Fault("hang"), Fault("hang"), Fault("hang"))
    client = client_for(
        mock,
        RetryPolicy(max_attempts=3, base_delay_s=0.01, time_budget_s=1.0, attempt_timeout_s=0.3),
    )
    started = time.monotonic()
    with pytest.raises(ModelTimeout):
        await client.generate(REQ)
    await client.aclose()
    assert time.monotonic() - started < 2.0


async def test_time_budget_caps_rate_limit_waits(mock: MockUpstream) -> None:
    mock.script(Fault.rate_limited(5.0))
    client = client_for(mock, RetryPolicy(time_budget_s=1.0, attempt_timeout_s=1.0))
    started = time.monotonic()
    with pytest.raises(RateLimited) as info:
        await client.generate(REQ)
    await client.aclose()
    assert time.monotonic() - started < 0.5  # gave up at once instead of sleeping 5 s
    assert info.value.retry_after_s == pytest.approx(5.0)


async def test_stream_retried_before_first_delta_not_after(mock: MockUpstream) -> None:
    mock.script(Fault.server_error(502))
    client = client_for(mock)
    text = "".join([d.text async for d in client.stream(REQ)])
    assert text == "Hello from the mock."
    mock.script(Fault("cut_stream"))
    got: list[str] = []
    with pytest.raises(UpstreamError):
        async for delta in client.stream(REQ):
            got.append(delta.text)
    await client.aclose()
    assert got and "".join(got) != "Hello from the mock."  # partial, not replayed


async def test_concurrency_shrinks_on_429_and_grows_back(mock: MockUpstream) -> None:
    client = client_for(mock, max_concurrency=16)
    limiter = client.limiter  # type: ignore[attr-defined]
    mock.script(*[Fault.rate_limited(0.05)] * 8)
    await asyncio.gather(*(client.generate(REQ) for _ in range(16)))
    assert limiter.rate_limit_events >= 1
    shrunk = limiter.limit
    assert shrunk < 16
    await asyncio.gather(*(client.generate(REQ) for _ in range(400)))
    await client.aclose()
    assert limiter.limit > shrunk


async def test_rate_limited_run_keeps_up_with_the_limit() -> None:
    """Under a fixed-window limit, every call eventually succeeds within bounded retries."""
    mock = MockUpstream(rate_limit=40, window_s=0.25)
    await mock.start()
    client = client_for(
        mock,
        RetryPolicy(max_attempts=12, time_budget_s=20.0, attempt_timeout_s=2.0),
        max_concurrency=16,
    )
    results = await asyncio.gather(*(client.generate(REQ) for _ in range(300)))
    await client.aclose()
    await mock.stop()
    assert len(results) == 300 and mock.stats.accepted == 300
    assert mock.stats.rate_limited < 300  # paced: the cool-down stops a 429 storm


async def test_cancelled_calls_give_their_slots_back() -> None:
    mock = MockUpstream(latency_s=0.3)
    await mock.start()
    client = client_for(mock, max_concurrency=2)
    for _ in range(4):
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.generate(REQ), 0.05)
    assert client.limiter.in_flight == 0  # type: ignore[attr-defined]
    result = await asyncio.wait_for(client.generate(REQ), 5)
    await client.aclose()
    await mock.stop()
    assert result.text == "Hello from the mock."


async def test_error_inside_a_stream_is_typed_and_not_retried(mock: MockUpstream) -> None:
    revoked = {
        "error": {
            "message": "API key was revoked",
            "type": "permission_error",
            "code": "key_revoked",
        }
    }
    mock.script(Fault("stream_error", body=revoked))
    client = client_for(mock)
    got: list[str] = []
    with pytest.raises(AccessDenied) as info:
        async for delta in client.stream(REQ):
            got.append(delta.text)
    await client.aclose()
    assert info.value.code == "key_revoked" and got and mock.stats.requests == 1
