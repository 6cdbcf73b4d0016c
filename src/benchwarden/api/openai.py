"""OpenAI Chat Completions on the wire: request validation, responses, stream chunks.

Only what the official SDK needs to see to be satisfied byte for byte: ids
``chatcmpl-...``, ``object`` types, ``usage``, and streams as ``data: {chunk}`` lines
ending with ``data: [DONE]`` (a usage chunk before it when ``stream_options.
include_usage`` is set). Tool calls stream as ``delta.tool_calls`` pieces (the first
of a call with its id and name), thinking as ``delta.reasoning_content``.
"""

from __future__ import annotations

import time
from typing import Any

from benchwarden.api import openai_request
from benchwarden.api.errors import ApiError, error_body
from benchwarden.api.wire import ParsedCall, new_id, sse
from benchwarden.models.content import ToolCall
from benchwarden.models.types import (
    Choice,
    FinishReason,
    GenerateResult,
    StreamDelta,
    Usage,
)

FINISH = {
    FinishReason.STOP: "stop",
    FinishReason.LENGTH: "length",
    FinishReason.CONTENT_FILTER: "content_filter",
    FinishReason.TOOL_CALLS: "tool_calls",
    FinishReason.OTHER: "stop",
}


def parse_request(data: dict[str, Any]) -> ParsedCall:
    """A validated Chat Completions body as a neutral call; raises 400 ``ApiError``."""
    return openai_request.parse_request(data)


def usage_body(usage: Usage) -> dict[str, Any]:
    body: dict[str, Any] = {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
    }
    if usage.cached_input_tokens:
        body["prompt_tokens_details"] = {"cached_tokens": usage.cached_input_tokens}
    if usage.reasoning_tokens:
        body["completion_tokens_details"] = {"reasoning_tokens": usage.reasoning_tokens}
    return body


def _message(choice: Choice) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": choice.text if choice.text or not choice.tool_calls else None,
        "refusal": None,
    }
    if choice.tool_calls:
        message["tool_calls"] = [_tool_call(call) for call in choice.tool_calls]
    return message


def _tool_call(call: ToolCall) -> dict[str, Any]:
    if call.kind == "custom":
        return {
            "id": call.id,
            "type": "custom",
            "custom": {"name": call.name, "input": call.arguments},
        }
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments},
    }


def response_body(call: ParsedCall, result: GenerateResult) -> dict[str, Any]:
    return {
        "id": new_id("chatcmpl-"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": call.model,
        "choices": [
            {
                "index": i,
                "message": _message(choice),
                "logprobs": None,
                "finish_reason": FINISH[choice.finish_reason],
            }
            for i, choice in enumerate(result.choices)
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
        # The backend's index of each call (an Anthropic block index) -> 0, 1, 2...
        self._calls: dict[int, int] = {}
        self._kinds: dict[int, str] = {}

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

    def delta(self, delta: StreamDelta) -> bytes:
        out = b""
        if delta.reasoning:  # as vLLM and DeepSeek stream thinking
            out += sse(self._chunk({"reasoning_content": delta.reasoning}, None))
        if delta.text:
            out += self.text(delta.text)
        call = delta.tool_call
        if call is not None:
            index = self._calls.setdefault(call.index, len(self._calls))
            kind = self._kinds.setdefault(index, call.kind)
            body = {"input": call.arguments} if kind == "custom" else {"arguments": call.arguments}
            piece: dict[str, Any] = {"index": index, kind: body}
            if call.id is not None or call.name is not None:
                piece["id"] = call.id or new_id("call_")
                piece["type"] = kind
                body["name"] = call.name or ""
            out += sse(self._chunk({"tool_calls": [piece]}, None))
        return out

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
