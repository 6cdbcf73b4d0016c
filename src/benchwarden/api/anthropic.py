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

from benchwarden.api import anthropic_request, opaque
from benchwarden.api.errors import ApiError, error_body
from benchwarden.api.wire import ParsedCall, new_id, sse
from benchwarden.models.content import Reasoning, ToolCall
from benchwarden.models.types import FinishReason, GenerateResult, StreamDelta, Usage

STOP_REASON = {
    FinishReason.STOP: "end_turn",
    FinishReason.LENGTH: "max_tokens",
    FinishReason.CONTENT_FILTER: "refusal",
    FinishReason.TOOL_CALLS: "tool_use",
    FinishReason.OTHER: "end_turn",
}


def parse_request(data: dict[str, Any]) -> ParsedCall:
    """A validated Messages body as a neutral call; raises 400 ``ApiError``."""
    return anthropic_request.parse_request(data)


def usage_body(usage: Usage) -> dict[str, int]:
    """Anthropic counts cache reads and writes apart from ``input_tokens``."""
    fresh = usage.input_tokens - usage.cached_input_tokens - usage.cache_write_tokens
    return {
        "input_tokens": max(0, fresh),
        "output_tokens": usage.output_tokens,
        "cache_read_input_tokens": usage.cached_input_tokens,
        "cache_creation_input_tokens": usage.cache_write_tokens,
    }


def _tool_input(call: ToolCall) -> Any:
    try:
        value = call.parsed()
    except ValueError:
        return {"input": call.arguments}  # a custom tool's free text, or broken JSON
    return value if isinstance(value, dict) else {"input": value}


def content_blocks(result: GenerateResult) -> list[dict[str, Any]]:
    choice = result.choices[0] if result.choices else None
    blocks: list[dict[str, Any]] = []
    for thought in choice.reasoning if choice else ():
        if thought.provider == "anthropic" and thought.encrypted and not thought.text:
            blocks.append({"type": "redacted_thinking", "data": thought.encrypted})
        else:
            native = thought.provider == "anthropic"
            signature = thought.signature if native else opaque.wrap(thought)
            blocks.append(
                {"type": "thinking", "thinking": thought.text, "signature": signature or ""}
            )
    if result.text or not (choice and choice.tool_calls):
        blocks.append({"type": "text", "text": result.text})
    for call in choice.tool_calls if choice else ():
        blocks.append(
            {"type": "tool_use", "id": call.id, "name": call.name, "input": _tool_input(call)}
        )
    return blocks


def response_body(call: ParsedCall, result: GenerateResult) -> dict[str, Any]:
    return {
        "id": new_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": call.model,
        "content": content_blocks(result),
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
    """The events of one streamed message: one content block per kind of piece, opened
    when its first piece comes and closed when another kind begins."""

    def __init__(self, call: ParsedCall) -> None:
        self.id = new_id("msg_")
        self.model = call.model
        self._index = -1
        self._open: str | None = None  # "text", "thinking", or "tool:<n>"

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
        return sse({"type": "message_start", "message": message}, "message_start") + sse(
            {"type": "ping"}, "ping"
        )

    def _close(self) -> bytes:
        if self._open is None:
            return b""
        self._open = None
        return sse({"type": "content_block_stop", "index": self._index}, "content_block_stop")

    def _begin(self, kind: str, block: dict[str, Any]) -> bytes:
        out = self._close()
        self._index += 1
        self._open = kind
        return out + sse(
            {"type": "content_block_start", "index": self._index, "content_block": block},
            "content_block_start",
        )

    def _delta(self, delta: dict[str, Any]) -> bytes:
        return sse(
            {"type": "content_block_delta", "index": self._index, "delta": delta},
            "content_block_delta",
        )

    def text(self, piece: str) -> bytes:
        out = b"" if self._open == "text" else self._begin("text", {"type": "text", "text": ""})
        return out + self._delta({"type": "text_delta", "text": piece})

    def delta(self, delta: StreamDelta) -> bytes:
        out = b""
        signature = delta.reasoning_signature
        if delta.reasoning_encrypted and not signature:  # another provider's opaque data
            thought = Reasoning(encrypted=delta.reasoning_encrypted, provider="openai")
            signature = opaque.wrap(thought)
        if delta.reasoning or signature:
            if self._open != "thinking":
                thinking = {"type": "thinking", "thinking": "", "signature": ""}
                out += self._begin("thinking", thinking)
            if delta.reasoning:
                out += self._delta({"type": "thinking_delta", "thinking": delta.reasoning})
            if signature:
                out += self._delta({"type": "signature_delta", "signature": signature})
        if delta.text:
            out += self.text(delta.text)
        call = delta.tool_call
        if call is not None:
            kind = f"tool:{call.index}"
            if self._open != kind:
                tool_id = call.id or new_id("toolu_")
                block: dict[str, Any] = {
                    "type": "tool_use",
                    "id": tool_id,
                    "name": call.name or "",
                    "input": {},
                }
                out += self._begin(kind, block)
            if call.arguments:
                out += self._delta({"type": "input_json_delta", "partial_json": call.arguments})
        return out

    def end(self, finish: FinishReason, usage: Usage) -> bytes:
        out = b""
        if self._index < 0:  # nothing was said: one empty text block, as the API sends
            out = self._begin("text", {"type": "text", "text": ""})
        out += self._close()
        delta = {"stop_reason": STOP_REASON[finish], "stop_sequence": None}
        return (
            out
            + sse(
                {"type": "message_delta", "delta": delta, "usage": usage_body(usage)},
                "message_delta",
            )
            + sse({"type": "message_stop"}, "message_stop")
        )

    def error(self, error: ApiError) -> bytes:
        return sse(error_body("anthropic", error), "error")


def count_tokens_body(input_tokens: int) -> dict[str, int]:
    return {"input_tokens": input_tokens}


class AnthropicWire:
    dialect = "anthropic"

    def parse(self, data: dict[str, Any]) -> ParsedCall:
        return parse_request(data)

    def response(self, call: ParsedCall, result: GenerateResult) -> dict[str, Any]:
        return response_body(call, result)

    def encoder(self, call: ParsedCall) -> AnthropicStream:
        return AnthropicStream(call)
