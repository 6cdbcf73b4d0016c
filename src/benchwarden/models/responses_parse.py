"""OpenAI Responses API answers and stream events back to neutral form. Pure.

A response's ``output`` is a list of items (``message``, ``function_call``,
``custom_tool_call``, ``reasoning``...); streamed, each item is announced by
``response.output_item.added`` and its pieces carry its ``output_index``, which is the
``index`` of the neutral ``ToolCallDelta``. The final event (``response.completed`` or
``response.incomplete``) carries the usage; ``response.failed`` and ``error`` end the
stream with the upstream's error, kept for the transport to raise as a typed error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from benchwarden.models.content import Reasoning, ToolCall, ToolCallDelta, ToolKind
from benchwarden.models.types import Choice, FinishReason, StreamDelta, Usage

PROVIDER = "openai"


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def response_usage(raw: Any) -> Usage:
    u = _dict(raw)
    inputs = _dict(u.get("input_tokens_details"))
    outputs = _dict(u.get("output_tokens_details"))
    return Usage(
        input_tokens=_int(u.get("input_tokens")),
        output_tokens=_int(u.get("output_tokens")),
        cached_input_tokens=_int(inputs.get("cached_tokens")),
        reasoning_tokens=_int(outputs.get("reasoning_tokens")),
        cache_write_tokens=_int(inputs.get("cache_write_tokens")),
    )


def finish_reason(response: dict[str, Any], has_calls: bool) -> FinishReason:
    status = response.get("status")
    if status == "incomplete":
        reason = _dict(response.get("incomplete_details")).get("reason")
        return FinishReason.CONTENT_FILTER if reason == "content_filter" else FinishReason.LENGTH
    if status in (None, "completed"):
        return FinishReason.TOOL_CALLS if has_calls else FinishReason.STOP
    return FinishReason.OTHER


def reasoning_of(item: dict[str, Any]) -> Reasoning:
    pieces = [str(s.get("text", "")) for s in item.get("summary") or [] if isinstance(s, dict)]
    if not any(pieces):
        pieces = [str(c.get("text", "")) for c in item.get("content") or [] if isinstance(c, dict)]
    return Reasoning(
        text="\n\n".join(p for p in pieces if p),
        encrypted=item.get("encrypted_content"),
        provider=PROVIDER,
        id=item.get("id"),
    )


def call_of(item: dict[str, Any]) -> ToolCall | None:
    kind = item.get("type")
    call_id = str(item.get("call_id") or item.get("id") or "")
    name = str(item.get("name") or "")
    if kind == "function_call":
        return ToolCall(call_id, name, str(item.get("arguments") or "{}"))
    if kind == "custom_tool_call":
        return ToolCall(call_id, name, str(item.get("input") or ""), kind="custom")
    return None


def message_text(item: dict[str, Any]) -> str:
    texts = []
    for part in item.get("content") or []:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "output_text":
            texts.append(str(part.get("text", "")))
        elif part.get("type") == "refusal":
            texts.append(str(part.get("refusal", "")))
    return "".join(texts)


def response_choice(response: dict[str, Any]) -> Choice:
    output = response.get("output")
    if not isinstance(output, list):
        raise ValueError("no output list")
    text: list[str] = []
    calls: list[ToolCall] = []
    thoughts: list[Reasoning] = []
    for item in output:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "message":
            text.append(message_text(item))
        elif item.get("type") == "reasoning":
            thoughts.append(reasoning_of(item))
        else:
            call = call_of(item)
            if call is not None:
                calls.append(call)
    return Choice(
        "".join(text), finish_reason(response, bool(calls)), tuple(calls), tuple(thoughts)
    )


_TEXT_EVENTS = ("response.output_text.delta", "response.refusal.delta")
_REASONING_EVENTS = ("response.reasoning_summary_text.delta", "response.reasoning_text.delta")
_ARGUMENT_EVENTS: dict[str, ToolKind] = {
    "response.function_call_arguments.delta": "function",
    "response.custom_tool_call_input.delta": "custom",
}


@dataclass(slots=True)
class ResponsesStream:
    """Events in, deltas out. ``error`` holds a failure's fields; ``close`` gives the
    final delta once ``done``."""

    usage: Usage | None = None
    finish: FinishReason | None = None
    error: dict[str, Any] | None = None
    done: bool = False
    _calls: dict[int, bool] = field(default_factory=dict)  # output_index -> streamed args

    def feed(self, event: dict[str, Any]) -> list[StreamDelta]:
        kind = event.get("type")
        index = _int(event.get("output_index"))
        if kind in _TEXT_EVENTS and event.get("delta"):
            return [StreamDelta(text=str(event["delta"]))]
        if kind in _REASONING_EVENTS and event.get("delta"):
            return [StreamDelta(reasoning=str(event["delta"]))]
        if kind in _ARGUMENT_EVENTS:
            piece = str(event.get("delta") or "")
            if not piece:
                return []
            self._calls[index] = True
            delta = ToolCallDelta(index, arguments=piece, kind=_ARGUMENT_EVENTS[kind])
            return [StreamDelta(tool_call=delta)]
        if kind == "response.output_item.added":
            return self._added(index, _dict(event.get("item")))
        if kind == "response.output_item.done":
            return self._done(index, _dict(event.get("item")))
        if kind in ("response.completed", "response.incomplete"):
            response = _dict(event.get("response"))
            self.usage = response_usage(response.get("usage"))
            self.finish = finish_reason(response, bool(self._calls))
            self.done = True
        elif kind == "response.failed":
            response = _dict(event.get("response"))
            self.error = _dict(response.get("error")) or {"message": "the response failed"}
        elif kind == "error":
            self.error = _dict(event.get("error")) or event
        return []

    def _added(self, index: int, item: dict[str, Any]) -> list[StreamDelta]:
        call = call_of(item)
        if call is None:
            return []
        self._calls[index] = False
        first = ToolCallDelta(index, id=call.id, name=call.name, kind=call.kind)
        out = [StreamDelta(tool_call=first)]
        whole = item.get("arguments") if call.kind == "function" else item.get("input")
        if whole:
            self._calls[index] = True
            piece = ToolCallDelta(index, arguments=str(whole), kind=call.kind)
            out.append(StreamDelta(tool_call=piece))
        return out

    def _done(self, index: int, item: dict[str, Any]) -> list[StreamDelta]:
        if item.get("type") == "reasoning":
            encrypted = item.get("encrypted_content")
            return [StreamDelta(reasoning_encrypted=str(encrypted))] if encrypted else []
        call = call_of(item)
        if call is not None and not self._calls.get(index):
            # Arguments that came only whole, with the finished item.
            self._calls[index] = True
            raw = item.get("arguments") if call.kind == "function" else item.get("input")
            if raw:
                delta = ToolCallDelta(index, arguments=str(raw), kind=call.kind)
                return [StreamDelta(tool_call=delta)]
        return []

    def close(self) -> StreamDelta:
        finish = self.finish
        if finish is None:
            finish = FinishReason.TOOL_CALLS if self._calls else FinishReason.OTHER
        return StreamDelta(finish_reason=finish, usage=self.usage or Usage())
