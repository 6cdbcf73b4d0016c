"""OpenAI Chat Completions on the wire: request validation, responses, stream chunks.

Only what the official SDK needs to see to be satisfied byte for byte: ids
``chatcmpl-...``, ``object`` types, ``usage``, and streams as ``data: {chunk}`` lines
ending with ``data: [DONE]`` (a usage chunk before it when ``stream_options.
include_usage`` is set). Tools, images, ``n > 1`` and JSON modes are refused with a
400 ``unsupported`` rather than silently ignored.
"""

from __future__ import annotations

import time
from typing import Any

from benchwarden.api import fields
from benchwarden.api.errors import ApiError, error_body, invalid
from benchwarden.api.wire import DEFAULT_MAX_TOKENS, ParsedCall, new_id, sse
from benchwarden.models.types import (
    FinishReason,
    GenerateRequest,
    GenerateResult,
    Message,
    Usage,
)

_SYSTEM_ROLES = ("system", "developer")
_ROLES = ("system", "developer", "user", "assistant")
_UNSUPPORTED = ("tools", "functions", "function_call", "audio", "prediction")

FINISH = {
    FinishReason.STOP: "stop",
    FinishReason.LENGTH: "length",
    FinishReason.CONTENT_FILTER: "content_filter",
    FinishReason.OTHER: "stop",
}


def _messages(data: dict[str, Any]) -> tuple[str | None, tuple[Message, ...]]:
    raw = data.get("messages")
    if raw is None:
        raise invalid("Field 'messages' is required.")
    if not isinstance(raw, list) or not raw:
        raise invalid("Field 'messages' must be a non-empty array of messages.")
    system_parts: list[str] = []
    messages: list[Message] = []
    for i, item in enumerate(raw):
        where = f"messages[{i}]"
        if not isinstance(item, dict):
            raise invalid(f"Field '{where}' must be an object, not {fields.json_type(item)}.")
        role = item.get("role")
        if role not in _ROLES:
            if role in ("tool", "function"):
                raise invalid(
                    f"Field '{where}.role': tool messages are not served here.", "unsupported"
                )
            raise invalid(f"Field '{where}.role' must be one of {', '.join(_ROLES)}.")
        if "content" not in item or item["content"] is None:
            raise invalid(f"Field '{where}.content' is required.")
        content = fields.text_parts(item["content"], f"{where}.content")
        if role in _SYSTEM_ROLES:
            if messages:
                messages.append(Message("system", content))
            else:
                system_parts.append(content)
        else:
            messages.append(Message("user" if role == "user" else "assistant", content))
    if not messages:
        raise invalid("Field 'messages' needs at least one user or assistant message.")
    return ("\n\n".join(system_parts) if system_parts else None), tuple(messages)


def parse_request(data: dict[str, Any]) -> ParsedCall:
    """A validated Chat Completions body as a neutral call; raises 400 ``ApiError``."""
    fields.refuse_present(data, _UNSUPPORTED, "tool calls and audio are not served")
    model = fields.get_text(data, "model", required=True) or ""
    if not model:
        raise invalid("Field 'model' must not be empty.")
    system, messages = _messages(data)
    max_tokens = fields.get_int(data, "max_completion_tokens", low=1, high=fields.MAX_TOKENS_CAP)
    if max_tokens is None:
        max_tokens = fields.get_int(data, "max_tokens", low=1, high=fields.MAX_TOKENS_CAP)
    n = fields.get_int(data, "n", low=1)
    if n not in (None, 1):
        raise invalid("Field 'n' must be 1: one answer per request is served.", "unsupported")
    if fields.get_bool(data, "logprobs"):
        raise invalid("Field 'logprobs' is not supported here.", "unsupported")
    response_format = fields.get_object(data, "response_format")
    if response_format is not None and response_format.get("type", "text") != "text":
        raise invalid("Field 'response_format': only type 'text' is served.", "unsupported")
    stream = fields.get_bool(data, "stream")
    options = fields.get_object(data, "stream_options")
    if options is not None and not stream:
        raise invalid("Field 'stream_options' is only allowed when 'stream' is true.")
    include_usage = fields.get_bool(options or {}, "include_usage")
    request = GenerateRequest(
        messages=messages,
        system=system,
        max_tokens=max_tokens or DEFAULT_MAX_TOKENS,
        temperature=fields.get_number(data, "temperature", low=0.0, high=2.0),
        top_p=fields.get_number(data, "top_p", low=0.0, high=1.0, low_open=True),
        stop=fields.get_stops(data, "stop", allow_string=True),
        seed=fields.get_int(data, "seed", low=-(2**63), high=2**63 - 1),
    )
    return ParsedCall(model, request, stream=stream, include_usage=include_usage)


def usage_body(usage: Usage) -> dict[str, int]:
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
    }


def response_body(call: ParsedCall, result: GenerateResult) -> dict[str, Any]:
    return {
        "id": new_id("chatcmpl-"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": call.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": result.text, "refusal": None},
                "logprobs": None,
                "finish_reason": FINISH[result.finish_reason],
            }
        ],
        "usage": usage_body(result.usage),
        "system_fingerprint": None,
    }


def models_body(names: list[str]) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [
            {"id": name, "object": "model", "created": 0, "owned_by": "benchwarden"}
            for name in names
        ],
    }


class OpenAIStream:
    """Chunks of one streamed completion (``chat.completion.chunk``)."""

    def __init__(self, call: ParsedCall) -> None:
        self.id = new_id("chatcmpl-")
        self.created = int(time.time())
        self.model = call.model
        self.include_usage = call.include_usage

    def _chunk(self, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if self.include_usage:
            chunk["usage"] = None
        return chunk

    def start(self, input_tokens_estimate: int) -> bytes:
        return sse(self._chunk({"role": "assistant", "content": ""}, None))

    def text(self, piece: str) -> bytes:
        return sse(self._chunk({"content": piece}, None))

    def end(self, finish: FinishReason, usage: Usage) -> bytes:
        out = sse(self._chunk({}, FINISH[finish]))
        if self.include_usage:
            last = self._chunk({}, None)
            last["choices"] = []
            last["usage"] = usage_body(usage)
            out += sse(last)
        return out + sse("[DONE]")

    def error(self, error: ApiError) -> bytes:
        # The SDK raises APIError on a chunk holding "error"; no [DONE] follows.
        return sse(error_body("openai", error))


class OpenAIWire:
    dialect = "openai"

    def parse(self, data: dict[str, Any]) -> ParsedCall:
        return parse_request(data)

    def response(self, call: ParsedCall, result: GenerateResult) -> dict[str, Any]:
        return response_body(call, result)

    def encoder(self, call: ParsedCall) -> OpenAIStream:
        return OpenAIStream(call)
