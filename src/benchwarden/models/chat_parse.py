"""OpenAI Chat Completions answers and stream chunks back to neutral form. Pure.

``reasoning_content`` (vLLM, DeepSeek) or ``reasoning`` (OpenRouter, newer vLLM) on a
message or a delta is the model's thinking. A call to a custom tool (declared as a
function taking ``{"input": string}``) comes back as ``kind="custom"`` with the string;
streamed, its JSON is held until the call is complete and then sent as that string.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from benchwarden.models import custom_tools
from benchwarden.models.content import Reasoning, ToolCall, ToolCallDelta
from benchwarden.models.types import Choice, FinishReason, StreamDelta, Usage, map_finish_reason


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def chat_usage(raw: Any) -> Usage:
    u = raw if isinstance(raw, dict) else {}
    prompt = u.get("prompt_tokens_details") or {}
    completion = u.get("completion_tokens_details") or {}
    return Usage(
        input_tokens=_int(u.get("prompt_tokens")),
        output_tokens=_int(u.get("completion_tokens")),
        cached_input_tokens=_int(prompt.get("cached_tokens") if isinstance(prompt, dict) else 0),
        reasoning_tokens=_int(
            completion.get("reasoning_tokens") if isinstance(completion, dict) else 0
        ),
    )


def _arguments(raw: Any) -> str:
    if raw is None:
        return ""
    return raw if isinstance(raw, str) else json.dumps(raw)


def tool_calls(raw: Any, custom: frozenset[str]) -> tuple[ToolCall, ...]:
    calls = []
    for i, item in enumerate(raw if isinstance(raw, list) else []):
        function = item.get("function") or {}
        name = str(function.get("name") or "")
        arguments = _arguments(function.get("arguments")) or "{}"
        call_id = str(item.get("id") or f"call_{i}")
        if name in custom:
            calls.append(ToolCall(call_id, name, custom_tools.unwrap(arguments), kind="custom"))
        else:
            calls.append(ToolCall(call_id, name, arguments))
    return tuple(calls)


def reasoning_text(holder: dict[str, Any]) -> str:
    value = holder.get("reasoning_content") or holder.get("reasoning") or ""
    return value if isinstance(value, str) else ""


def finish(raw: str | None, has_calls: bool) -> FinishReason:
    """A forced tool call comes back with ``stop``: it is still a tool-call turn."""
    reason = map_finish_reason(raw)
    return FinishReason.TOOL_CALLS if has_calls and reason is FinishReason.STOP else reason


def chat_choice(choice: dict[str, Any], custom: frozenset[str]) -> Choice:
    message = choice.get("message") or {}
    calls = tool_calls(message.get("tool_calls"), custom)
    thought = reasoning_text(message)
    text = message.get("content") or message.get("refusal") or ""
    return Choice(
        str(text) if isinstance(text, str) else "",
        finish(choice.get("finish_reason"), bool(calls)),
        calls,
        (Reasoning(text=thought),) if thought else (),
    )


@dataclass(slots=True)
class _Call:
    custom: bool
    arguments: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ChatStream:
    """Chunks in, deltas out, for choice 0. ``close`` gives the final deltas."""

    custom: frozenset[str] = frozenset()
    chat: bool = True
    finish_reason: str | None = None
    usage: Usage | None = None
    _calls: dict[int, _Call] = field(default_factory=dict)

    def feed(self, chunk: dict[str, Any]) -> list[StreamDelta]:
        if chunk.get("usage"):
            self.usage = chat_usage(chunk["usage"])
        out: list[StreamDelta] = []
        for choice in chunk.get("choices") or []:
            if _int(choice.get("index")) != 0:
                continue
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])
            if not self.chat:
                if choice.get("text"):
                    out.append(StreamDelta(text=str(choice["text"])))
                continue
            delta = choice.get("delta") or {}
            thought = reasoning_text(delta)
            if thought:
                out.append(StreamDelta(reasoning=thought))
            if delta.get("content"):
                out.append(StreamDelta(text=str(delta["content"])))
            for piece in delta.get("tool_calls") or []:
                out.extend(self._tool_piece(piece))
        return out

    def _tool_piece(self, piece: dict[str, Any]) -> list[StreamDelta]:
        index = _int(piece.get("index"))
        function = piece.get("function") or {}
        arguments = _arguments(function.get("arguments"))
        call = self._calls.get(index)
        if call is None:
            name = function.get("name")
            call = self._calls[index] = _Call(custom=name in self.custom)
            first = ToolCallDelta(
                index,
                id=str(piece.get("id") or f"call_{index}"),
                name=str(name or ""),
                arguments="" if call.custom else arguments,
                kind="custom" if call.custom else "function",
            )
            if call.custom:
                call.arguments.append(arguments)
            return [StreamDelta(tool_call=first)]
        if call.custom:
            call.arguments.append(arguments)
            return []
        return (
            [StreamDelta(tool_call=ToolCallDelta(index, arguments=arguments))] if arguments else []
        )

    def close(self) -> list[StreamDelta]:
        out = [
            StreamDelta(
                tool_call=ToolCallDelta(
                    index, arguments=custom_tools.unwrap("".join(call.arguments)), kind="custom"
                )
            )
            for index, call in sorted(self._calls.items())
            if call.custom
        ]
        out.append(
            StreamDelta(
                finish_reason=finish(self.finish_reason, bool(self._calls)),
                usage=self.usage or Usage(),
            )
        )
        return out
