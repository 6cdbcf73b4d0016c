"""Anthropic Messages answers and stream events back to neutral form. Pure.

``input_tokens`` in neutral usage is all the input, the cache's included:
Anthropic counts ``cache_read_input_tokens`` and ``cache_creation_input_tokens`` apart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from benchwarden.models import custom_tools
from benchwarden.models.anthropic_render import PROVIDER, compact_json
from benchwarden.models.content import Reasoning, ToolCall, ToolCallDelta
from benchwarden.models.types import Choice, StreamDelta, Usage, map_finish_reason


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


@dataclass(frozen=True, slots=True)
class RawUsage:
    """Anthropic's counts, kept apart until they are summed into neutral usage."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read: int = 0
    cache_write: int = 0

    def merged(self, raw: Any) -> RawUsage:
        """These counts updated by a usage object (a later event's counts win)."""
        u = raw if isinstance(raw, dict) else {}

        def pick(key: str, old: int) -> int:
            return _int(u[key]) if u.get(key) is not None else old

        return RawUsage(
            pick("input_tokens", self.input_tokens),
            pick("output_tokens", self.output_tokens),
            pick("cache_read_input_tokens", self.cache_read),
            pick("cache_creation_input_tokens", self.cache_write),
        )

    def neutral(self) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + self.cache_read + self.cache_write,
            output_tokens=self.output_tokens,
            cached_input_tokens=self.cache_read,
            cache_write_tokens=self.cache_write,
        )


def message_usage(raw: Any) -> Usage:
    return RawUsage().merged(raw).neutral()


def tool_call(block: dict[str, Any], custom: frozenset[str]) -> ToolCall:
    name = str(block.get("name") or "")
    value = block.get("input")
    value = value if value is not None else {}
    if name in custom:
        return ToolCall(str(block.get("id") or ""), name, custom_tools.unwrap(value), "custom")
    return ToolCall(str(block.get("id") or ""), name, compact_json(value))


def message_choice(data: dict[str, Any], custom: frozenset[str]) -> Choice:
    content = data.get("content")
    if not isinstance(content, list):
        raise ValueError("no content list")
    text: list[str] = []
    calls: list[ToolCall] = []
    thoughts: list[Reasoning] = []
    for block in content:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            text.append(str(block.get("text", "")))
        elif kind == "tool_use":
            calls.append(tool_call(block, custom))
        elif kind == "thinking":
            thoughts.append(
                Reasoning(
                    text=str(block.get("thinking", "")),
                    signature=block.get("signature"),
                    provider=PROVIDER,
                )
            )
        elif kind == "redacted_thinking":
            thoughts.append(Reasoning(encrypted=str(block.get("data", "")), provider=PROVIDER))
    return Choice(
        "".join(text), map_finish_reason(data.get("stop_reason")), tuple(calls), tuple(thoughts)
    )


@dataclass(slots=True)
class MessagesStream:
    """Events in, deltas out. ``close`` gives the final delta."""

    custom: frozenset[str] = frozenset()
    stop_reason: str | None = None
    usage: RawUsage = field(default_factory=RawUsage)
    # Custom tools' input JSON, held per block index until the block stops.
    _custom_input: dict[int, list[str]] = field(default_factory=dict)
    done: bool = False

    def feed(self, kind: str | None, event: dict[str, Any]) -> list[StreamDelta]:
        index = _int(event.get("index"))
        if kind == "message_start":
            self.usage = self.usage.merged((event.get("message") or {}).get("usage"))
        elif kind == "content_block_start":
            return self._start(index, event.get("content_block") or {})
        elif kind == "content_block_delta":
            return self._delta(index, event.get("delta") or {})
        elif kind == "content_block_stop" and index in self._custom_input:
            text = custom_tools.unwrap("".join(self._custom_input.pop(index)) or "{}")
            return [StreamDelta(tool_call=ToolCallDelta(index, arguments=text, kind="custom"))]
        elif kind == "message_delta":
            self.stop_reason = (event.get("delta") or {}).get("stop_reason") or self.stop_reason
            # The final counts, where a server sends them (message_start may estimate).
            self.usage = self.usage.merged(event.get("usage"))
        elif kind == "message_stop":
            self.done = True
        return []

    def _start(self, index: int, block: dict[str, Any]) -> list[StreamDelta]:
        kind = block.get("type")
        if kind == "tool_use":
            name = str(block.get("name") or "")
            custom = name in self.custom
            if custom:
                self._custom_input[index] = []
            call = ToolCallDelta(
                index,
                id=str(block.get("id") or ""),
                name=name,
                kind="custom" if custom else "function",
            )
            out = [StreamDelta(tool_call=call)]
            if block.get("input") and not custom:  # a server that sends it whole
                whole = ToolCallDelta(index, arguments=compact_json(block["input"]))
                out.append(StreamDelta(tool_call=whole))
            return out
        if kind == "redacted_thinking":
            return [StreamDelta(reasoning_encrypted=str(block.get("data", "")))]
        if kind == "text" and block.get("text"):
            return [StreamDelta(text=str(block["text"]))]
        if kind == "thinking" and block.get("thinking"):
            return [StreamDelta(reasoning=str(block["thinking"]))]
        return []

    def _delta(self, index: int, delta: dict[str, Any]) -> list[StreamDelta]:
        kind = delta.get("type")
        if kind == "text_delta" and delta.get("text"):
            return [StreamDelta(text=str(delta["text"]))]
        if kind == "input_json_delta":
            piece = str(delta.get("partial_json") or "")
            if index in self._custom_input:
                self._custom_input[index].append(piece)
                return []
            return [StreamDelta(tool_call=ToolCallDelta(index, arguments=piece))] if piece else []
        if kind == "thinking_delta" and delta.get("thinking"):
            return [StreamDelta(reasoning=str(delta["thinking"]))]
        if kind == "signature_delta" and delta.get("signature"):
            return [StreamDelta(reasoning_signature=str(delta["signature"]))]
        return []

    def close(self) -> StreamDelta:
        return StreamDelta(
            finish_reason=map_finish_reason(self.stop_reason), usage=self.usage.neutral()
        )


def parse_event(data: str) -> dict[str, Any]:
    value = json.loads(data)
    if not isinstance(value, dict):
        raise ValueError("an event is not an object")
    return value
