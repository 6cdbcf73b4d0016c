"""Wire formats, pure: parsing into neutral requests, and the bodies and events sent."""

from __future__ import annotations

import json

import pytest

from benchwarden.api import anthropic, openai
from benchwarden.api.errors import ApiError, error_body, error_headers
from benchwarden.api.wire import DEFAULT_MAX_TOKENS
from benchwarden.models.types import FinishReason, Message, Usage


def test_openai_parse() -> None:
    call = openai.parse_request(
        {
            "model": "m",
            "messages": [
                {"role": "system", "content": "S1"},
                {"role": "developer", "content": [{"type": "text", "text": "S2"}]},
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
                },
                {"role": "assistant", "content": "c"},
                {"role": "system", "content": "late"},
                {"role": "user", "content": "d"},
            ],
            "max_completion_tokens": 9,
            "temperature": 0,
            "top_p": 1,
            "stop": "\n",
            "seed": -5,
            "stream": True,
            "stream_options": {"include_usage": True},
            "user": "ignored",
        }
    )
    assert call.model == "m" and call.stream and call.include_usage
    request = call.request
    assert request.system == "S1\n\nS2"
    assert request.messages == (
        Message("user", "ab"),
        Message("assistant", "c"),
        Message("system", "late"),
        Message("user", "d"),
    )
    assert (request.max_tokens, request.temperature, request.top_p) == (9, 0.0, 1.0)
    assert request.stop == ("\n",) and request.seed == -5


def test_openai_defaults() -> None:
    call = openai.parse_request({"model": "m", "messages": [{"role": "user", "content": "x"}]})
    assert call.request.max_tokens == DEFAULT_MAX_TOKENS and not call.stream


def test_anthropic_parse() -> None:
    call = anthropic.parse_request(
        {
            "model": "m",
            "max_tokens": 5,
            "system": [{"type": "text", "text": "S"}],
            "messages": [{"role": "user", "content": "hi"}],
            "stop_sequences": ["x"],
            "temperature": 1,
            "top_k": 3,
            "metadata": {"user_id": "u"},
            "stream": True,
        }
    )
    assert call.request.system == "S" and call.request.stop == ("x",)
    assert call.request.temperature == 1.0 and call.stream


@pytest.mark.parametrize(
    "body",
    [
        {"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 2**70},
        {"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": float("nan")},
        {"model": "m", "messages": [{"role": "user", "content": "x"}], "stop": ["a"] * 17},
        {"model": "m", "messages": [{"role": "user", "content": "x"}], "stop": [""]},
    ],
)
def test_openai_refusals(body: dict[str, object]) -> None:
    with pytest.raises(ApiError) as info:
        openai.parse_request(body)  # type: ignore[arg-type]
    assert info.value.status == 400


def test_error_bodies_and_headers() -> None:
    error = ApiError(429, "rate_limited", "Slow down.", retry_after_s=1.2)
    assert error_body("openai", error) == {
        "error": {
            "message": "Slow down.",
            "type": "rate_limit_error",
            "param": None,
            "code": "rate_limited",
        }
    }
    assert error_body("anthropic", error) == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "Slow down.", "code": "rate_limited"},
    }
    assert error_headers(error) == {"retry-after": "2"}
    assert error_headers(ApiError(429, "x", "y", retry_after_s=3.0)) == {"retry-after": "3"}
    assert error_headers(ApiError(403, "x", "y", retryable=False)) == {"x-should-retry": "false"}
    assert error_body("anthropic", ApiError(413, "request_too_large", "x"))["error"]["type"] == (
        "request_too_large"
    )
    assert (
        error_body("anthropic", ApiError(502, "upstream_error", "x"))["error"]["type"]
        == "api_error"
    )


def _events(raw: bytes) -> list[tuple[str | None, str]]:
    out = []
    for block in raw.decode().strip().split("\n\n"):
        event = None
        data = ""
        for line in block.split("\n"):
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
        out.append((event, data))
    return out


def test_openai_stream_events() -> None:
    call = openai.parse_request(
        {"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": True}
    )
    enc = openai.OpenAIStream(call)
    raw = enc.start(3) + enc.text("hi") + enc.end(FinishReason.LENGTH, Usage(3, 1))
    events = _events(raw)
    assert events[-1] == (None, "[DONE]")
    chunks = [json.loads(d) for _, d in events[:-1]]
    assert [c["choices"][0]["delta"] for c in chunks] == [
        {"role": "assistant", "content": ""},
        {"content": "hi"},
        {},
    ]
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    assert all("usage" not in c for c in chunks)  # only with stream_options.include_usage
    error = _events(enc.error(ApiError(403, "key_revoked", "Revoked.")))
    assert json.loads(error[0][1])["error"]["code"] == "key_revoked"


def test_anthropic_stream_events() -> None:
    call = anthropic.parse_request(
        {"model": "m", "max_tokens": 3, "messages": [{"role": "user", "content": "x"}]}
    )
    enc = anthropic.AnthropicStream(call)
    raw = enc.start(4) + enc.text("hi") + enc.end(FinishReason.STOP, Usage(5, 1))
    events = _events(raw)
    assert [e for e, _ in events] == [
        "message_start",
        "ping",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    for event, data in events:
        assert json.loads(data)["type"] == event
    assert json.loads(events[0][1])["message"]["usage"] == {"input_tokens": 4, "output_tokens": 0}
    usage = json.loads(events[5][1])["usage"]
    assert usage["input_tokens"] == 5 and usage["output_tokens"] == 1
    error = _events(enc.error(ApiError(403, "key_revoked", "Revoked.")))
    assert error[0][0] == "error" and json.loads(error[0][1])["error"]["code"] == "key_revoked"
