"""The Anthropic Messages transport against a real loopback server."""

from __future__ import annotations

import pytest

from benchwarden.models.config import ModelSpec
from benchwarden.models.errors import AccessDenied, BadRequest
from benchwarden.models.factory import open_client
from benchwarden.models.pacing.retry import RetryPolicy
from benchwarden.models.protocol import ModelClient
from benchwarden.models.types import FinishReason, GenerateRequest, Message, Mode
from benchwarden.testing.mock_upstream import Fault, MockUpstream

FAST = RetryPolicy(max_attempts=3, base_delay_s=0.01, time_budget_s=10.0, attempt_timeout_s=2.0)


def client_for(mock: MockUpstream, monkeypatch: pytest.MonkeyPatch) -> ModelClient:
    monkeypatch.setenv("MOCK_ANTHROPIC_KEY", "sk-test-secret")
    spec = ModelSpec(
        name="mock-claude",
        provider="anthropic",
        upstream_model="claude-x",
        base_url=mock.base_url,
        api_key_env="MOCK_ANTHROPIC_KEY",
    )
    return open_client(spec, use_cache=False, policy=FAST)


REQ = GenerateRequest(
    messages=(Message("user", "hi"), Message("assistant", "hello"), Message("user", "again")),
    system="be brief",
    max_tokens=30,
    temperature=0.5,
    stop=("STOP",),
    purpose="safety-evaluation",
)


async def test_messages_round_trip(mock: MockUpstream, monkeypatch: pytest.MonkeyPatch) -> None:
    client = client_for(mock, monkeypatch)
    result = await client.generate(REQ)
    await client.aclose()
    assert result.text == "Hello from the mock."
    assert result.finish_reason is FinishReason.STOP and result.mode is Mode.CHAT
    assert (result.usage.input_tokens, result.usage.output_tokens) == (7, 5)
    body = mock.stats.bodies[0]
    assert body["system"] == "be brief" and body["model"] == "claude-x"
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["stop_sequences"] == ["STOP"] and body["max_tokens"] == 30
    assert mock.stats.purposes == ["safety-evaluation"]


async def test_streaming_events(mock: MockUpstream, monkeypatch: pytest.MonkeyPatch) -> None:
    client = client_for(mock, monkeypatch)
    deltas = [d async for d in client.stream(REQ)]
    await client.aclose()
    assert "".join(d.text for d in deltas) == "Hello from the mock."
    final = deltas[-1]
    assert final.finish_reason is FinishReason.STOP
    assert final.usage is not None and final.usage.input_tokens == 7


async def test_errors_keep_their_reason_and_no_secret(
    mock: MockUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    mock.script(Fault.server_error(529), Fault.denied(403, "model_not_granted", "not granted"))
    client = client_for(mock, monkeypatch)
    with pytest.raises(AccessDenied) as info:
        await client.generate(REQ)
    assert info.value.code == "model_not_granted"
    assert "sk-test-secret" not in str(info.value)
    assert mock.stats.requests == 2  # the 529 was retried, the 403 was not
    with pytest.raises(BadRequest):
        await client.generate(GenerateRequest(prompt="raw", mode=Mode.COMPLETION))
    await client.aclose()


async def test_missing_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchwarden.models.errors import ModelUnavailable

    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    from benchwarden.models.registry import resolve

    with pytest.raises(ModelUnavailable, match="ANTHROPIC_API_KEY"):
        open_client(resolve("anthropic/claude-sonnet-4-5"))


async def test_error_event_inside_a_stream(
    mock: MockUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    mock.script(
        Fault(
            "stream_error",
            body={
                "error": {"type": "permission_error", "code": "key_revoked", "message": "revoked"}
            },
        )
    )
    client = client_for(mock, monkeypatch)
    with pytest.raises(AccessDenied) as info:
        async for _delta in client.stream(REQ):
            pass
    await client.aclose()
    assert info.value.code == "key_revoked" and mock.stats.requests == 1
