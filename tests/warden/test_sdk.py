"""The official OpenAI and Anthropic SDKs, plain and streaming, as clients of a real
warden on loopback fronting upstreams (the mock) with warden's own upstream key."""

from __future__ import annotations

import logging

import httpx2 as httpx
import openai
import pytest

from benchwarden.testing.mock_upstream import MockUpstream
from tests.warden.conftest import UPSTREAM_KEY, Warden

MESSAGES = [{"role": "user", "content": "Say hello."}]


def test_openai_sdk_plain(warden: Warden, upstream: MockUpstream) -> None:
    tenant = warden.tenant()
    client = warden.openai(tenant.key)
    reply = client.chat.completions.create(
        model="mock-gpt",
        messages=[{"role": "system", "content": "Be brief."}, *MESSAGES],
        max_tokens=16,
        temperature=0,
        seed=3,
    )
    assert reply.object == "chat.completion"
    assert reply.id.startswith("chatcmpl-")
    assert reply.model == "mock-gpt"
    assert reply.choices[0].message.role == "assistant"
    assert reply.choices[0].message.content == "alpha beta gamma delta epsilon"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (7, 5)
    assert reply.usage.total_tokens == 12
    sent = upstream.stats.bodies[-1]
    assert sent["model"] == "served-gpt" and sent["max_tokens"] == 16 and sent["seed"] == 3
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}


def test_openai_sdk_streaming_with_usage(warden: Warden) -> None:
    tenant = warden.tenant()
    stream = warden.openai(tenant.key).chat.completions.create(
        model="mock-gpt",
        messages=MESSAGES,
        max_tokens=16,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "alpha beta gamma delta epsilon"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop" and set(finishes[:-1]) == {None}
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 5


def test_openai_sdk_stream_helper_accumulates(warden: Warden) -> None:
    tenant = warden.tenant()
    with warden.openai(tenant.key).chat.completions.stream(
        model="mock-gpt", messages=MESSAGES, max_tokens=16
    ) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.content == "alpha beta gamma delta epsilon"


def test_anthropic_sdk_plain(warden: Warden, upstream: MockUpstream) -> None:
    tenant = warden.tenant()
    message = warden.anthropic(tenant.key).messages.create(
        model="mock-claude",
        max_tokens=32,
        system="Be brief.",
        messages=MESSAGES,
        stop_sequences=["\n\n"],
        extra_body={"temperature": 0.5},
    )
    assert message.type == "message" and message.role == "assistant"
    assert message.id.startswith("msg_")
    assert message.model == "mock-claude"
    assert message.content[0].type == "text"
    assert message.content[0].text == "alpha beta gamma delta epsilon"
    assert message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (7, 5)
    sent = upstream.stats.bodies[-1]
    assert sent["model"] == "served-claude" and sent["system"] == "Be brief."
    assert sent["stop_sequences"] == ["\n\n"] and sent["temperature"] == 0.5


def test_anthropic_sdk_streaming(warden: Warden) -> None:
    tenant = warden.tenant()
    client = warden.anthropic(tenant.key)
    with client.messages.stream(model="mock-claude", max_tokens=32, messages=MESSAGES) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(pieces) == "alpha beta gamma delta epsilon"
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 5 and final.usage.input_tokens == 7
    events = [
        e.type
        for e in client.messages.create(
            model="mock-claude", max_tokens=32, messages=MESSAGES, stream=True
        )
    ]
    assert events[:2] == ["message_start", "content_block_start"]
    assert events[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(events[2:-3]) == {"content_block_delta"}


def test_both_formats_reach_either_upstream(warden: Warden) -> None:
    """The wire format is the caller's; the backend can be of the other kind."""
    tenant = warden.tenant()
    reply = warden.openai(tenant.key).chat.completions.create(
        model="mock-claude", messages=MESSAGES, max_tokens=8
    )
    assert reply.choices[0].message.content == "alpha beta gamma delta epsilon"
    message = warden.anthropic(tenant.key).messages.create(
        model="mock-gpt", max_tokens=8, messages=MESSAGES
    )
    assert message.content[0].type == "text"
    assert message.content[0].text == "alpha beta gamma delta epsilon"


def test_models_lists_granted_models_in_either_format(warden: Warden) -> None:
    tenant = warden.tenant(models=("mock-gpt", "not-served"))
    listed = warden.openai(tenant.key).models.list()
    assert [m.id for m in listed.data] == ["mock-gpt"]
    page = warden.anthropic(tenant.key).models.list()
    assert [m.id for m in page.data] == ["mock-gpt"]


def test_health_and_metrics(warden: Warden) -> None:
    tenant = warden.tenant()
    warden.openai(tenant.key).chat.completions.create(
        model="mock-gpt", messages=MESSAGES, max_tokens=8
    )
    health = httpx.get(f"{warden.url}/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    metrics = httpx.get(f"{warden.url}/metrics")
    assert metrics.status_code == 200
    text = metrics.text
    assert (
        'warden_decisions_total{code="",decision="allow",endpoint="chat.completions",'
        'model="mock-gpt"} 1.0' in text
    )
    assert 'warden_tokens_total{kind="output",model="mock-gpt"} 5.0' in text
    assert "warden_request_duration_seconds_bucket" in text
    assert "warden_state_read_seconds_count" in text


def test_upstream_key_and_warden_keys_never_leak(warden: Warden, upstream: MockUpstream) -> None:
    """The upstream sees warden's key, never the client's; the client never sees either."""
    tenant = warden.tenant()
    client = warden.openai(tenant.key)
    raw = client.chat.completions.with_raw_response.create(
        model="mock-gpt", messages=MESSAGES, max_tokens=8
    )
    assert UPSTREAM_KEY not in raw.http_response.text
    assert tenant.key not in str(upstream.stats.bodies[-1])
    rows = warden.audit_rows()
    dump = repr(rows)
    assert tenant.key not in dump and UPSTREAM_KEY not in dump
    assert "Say hello" not in dump  # prompts are kept as a hash only


@pytest.mark.parametrize("model", ["mock-gpt", "mock-claude"])
def test_purpose_is_forwarded_upstream(warden: Warden, upstream: MockUpstream, model: str) -> None:
    tenant = warden.tenant()
    warden.openai(tenant.key, purpose="safety-evaluation").chat.completions.create(
        model=model, messages=MESSAGES, max_tokens=8
    )
    assert upstream.stats.purposes[-1] == "safety-evaluation"


def test_openai_sdk_legacy_completions(warden: Warden, upstream: MockUpstream) -> None:
    tenant = warden.tenant()
    client = warden.openai(tenant.key)
    reply = client.completions.create(model="mock-gpt", prompt="def add(a, b):", max_tokens=8)
    assert reply.object == "text_completion" and reply.id.startswith("cmpl-")
    assert reply.choices[0].text == "alpha beta gamma delta epsilon"
    assert upstream.stats.bodies[-1]["prompt"] == "def add(a, b):"
    chunks = list(
        client.completions.create(
            model="mock-gpt",
            prompt="def add(a, b):",
            max_tokens=8,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert "".join(c.choices[0].text for c in chunks if c.choices) == (
        "alpha beta gamma delta epsilon"
    )
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 5


def test_keys_never_reach_the_logs(warden: Warden, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    tenant = warden.tenant()
    good = warden.openai(tenant.key)
    good.chat.completions.create(model="mock-gpt", messages=MESSAGES, max_tokens=4)
    list(
        good.chat.completions.create(model="mock-gpt", messages=MESSAGES, max_tokens=4, stream=True)
    )
    wrong = tenant.key[:-3] + "zzz"
    for key in (wrong, "sk-some-other-secret-value"):
        with pytest.raises(openai.AuthenticationError) as info:
            warden.openai(key).chat.completions.create(model="mock-gpt", messages=MESSAGES)
        assert key not in info.value.response.text
    warden.runtime.tenancy.revoke_key(tenant.key_id)
    with pytest.raises(openai.PermissionDeniedError):
        good.chat.completions.create(model="mock-gpt", messages=MESSAGES, max_tokens=4)
    logged = caplog.text
    for secret in (tenant.key, tenant.key[12:], wrong, UPSTREAM_KEY, "sk-some-other-secret"):
        assert secret not in logged
