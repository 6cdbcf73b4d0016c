"""Anthropic Messages on the wire: request validation, responses, stream events.

Streams follow the real API's event sequence: ``message_start``,
``content_block_start``, ``ping``, ``content_block_delta``..., ``content_block_stop``,
``message_delta``, ``message_stop``; a stream cut by warden ends with an ``error``
event. ``message_start`` carries an estimate of the input tokens (they are only known
once the model has read the prompt); ``message_delta.usage`` carries the exact count,
which the official SDK takes over the first.
"""

from __future__ import annotations

from typing import Any

from benchwarden.api import fields
from benchwarden.api.errors import ApiError, error_body, invalid
from benchwarden.api.wire import ParsedCall, new_id, sse
from benchwarden.models.types import FinishReason, GenerateRequest, GenerateResult, Message, Usage

_UNSUPPORTED = ("tools", "mcp_servers", "container")

STOP_REASON = {
    FinishReason.STOP: "end_turn",
    FinishReason.LENGTH: "max_tokens",
    FinishReason.CONTENT_FILTER: "refusal",
    FinishReason.OTHER: "end_turn",
}


def _messages(data: dict[str, Any]) -> tuple[Message, ...]:
    raw = data.get("messages")
    if raw is None:
        raise invalid("Field 'messages' is required.")
    if not isinstance(raw, list) or not raw:
        raise invalid("Field 'messages' must be a non-empty array of messages.")
    messages = []
    for i, item in enumerate(raw):
        where = f"messages[{i}]"
        if not isinstance(item, dict):
            raise invalid(f"Field '{where}' must be an object, not {fields.json_type(item)}.")
        role = item.get("role")
        if role not in ("user", "assistant"):
            raise invalid(f"Field '{where}.role' must be 'user' or 'assistant'.")
        if item.get("content") is None:
            raise invalid(f"Field '{where}.content' is required.")
        content = fields.text_parts(item["content"], f"{where}.content", parts="content blocks")
        messages.append(Message("user" if role == "user" else "assistant", content))
    return tuple(messages)


def parse_request(data: dict[str, Any]) -> ParsedCall:
    """A validated Messages body as a neutral call; raises 400 ``ApiError``."""
    fields.refuse_present(data, _UNSUPPORTED, "tool use is not served")
    model = fields.get_text(data, "model", required=True) or ""
    if not model:
        raise invalid("Field 'model' must not be empty.")
    max_tokens = fields.get_int(
        data, "max_tokens", low=1, high=fields.MAX_TOKENS_CAP, required=True
    )
    messages = _messages(data)
    system = None
    if data.get("system") is not None:
        system = fields.text_parts(data["system"], "system", parts="content blocks")
    thinking = fields.get_object(data, "thinking")
    if thinking is not None and thinking.get("type") not in (None, "disabled"):
        raise invalid("Field 'thinking' is not supported here.", "unsupported")
    output = fields.get_object(data, "output_config")
    if output is not None and output.get("format") is not None:
        raise invalid(
            "Field 'output_config.format' (structured output) is not supported here.", "unsupported"
        )
    fields.get_int(data, "top_k", low=0)  # accepted for compatibility; not forwarded
    fields.get_object(data, "metadata")
    request = GenerateRequest(
        messages=messages,
        system=system or None,
        max_tokens=max_tokens or 1,
        temperature=fields.get_number(data, "temperature", low=0.0, high=1.0),
        top_p=fields.get_number(data, "top_p", low=0.0, high=1.0, low_open=True),
        stop=fields.get_stops(data, "stop_sequences", allow_string=False),
    )
    return ParsedCall(model, request, stream=fields.get_bool(data, "stream"))


def usage_body(usage: Usage) -> dict[str, int]:
    return {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens}


def response_body(call: ParsedCall, result: GenerateResult) -> dict[str, Any]:
    return {
        "id": new_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": call.model,
        "content": [{"type": "text", "text": result.text}],
        "stop_reason": STOP_REASON[result.finish_reason],
        "stop_sequence": None,
        "usage": usage_body(result.usage),
    }


def models_body(names: list[str]) -> dict[str, Any]:
    return {
        "data": [
            {
                "type": "model",
                "id": name,
                "display_name": name,
                "created_at": "1970-01-01T00:00:00Z",
            }
            for name in names
        ],
        "has_more": False,
        "first_id": names[0] if names else None,
        "last_id": names[-1] if names else None,
    }


class AnthropicStream:
    """The events of one streamed message."""

    def __init__(self, call: ParsedCall) -> None:
        self.id = new_id("msg_")
        self.model = call.model

    def start(self, input_tokens_estimate: int) -> bytes:
        message: dict[str, Any] = {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens_estimate, "output_tokens": 0},
        }
        return (
            sse({"type": "message_start", "message": message}, "message_start")
            + sse(
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
                "content_block_start",
            )
            + sse({"type": "ping"}, "ping")
        )

    def text(self, piece: str) -> bytes:
        delta = {"type": "text_delta", "text": piece}
        return sse(
            {"type": "content_block_delta", "index": 0, "delta": delta}, "content_block_delta"
        )

    def end(self, finish: FinishReason, usage: Usage) -> bytes:
        delta = {"stop_reason": STOP_REASON[finish], "stop_sequence": None}
        return (
            sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
            + sse(
                {"type": "message_delta", "delta": delta, "usage": usage_body(usage)},
                "message_delta",
            )
            + sse({"type": "message_stop"}, "message_stop")
        )

    def error(self, error: ApiError) -> bytes:
        return sse(error_body("anthropic", error), "error")


class AnthropicWire:
    dialect = "anthropic"

    def parse(self, data: dict[str, Any]) -> ParsedCall:
        return parse_request(data)

    def response(self, call: ParsedCall, result: GenerateResult) -> dict[str, Any]:
        return response_body(call, result)

    def encoder(self, call: ParsedCall) -> AnthropicStream:
        return AnthropicStream(call)
