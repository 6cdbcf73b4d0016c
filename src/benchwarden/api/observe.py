"""What a gateway reads from an answer it forwards untouched: usage, tools called,
pieces of output, and an error the upstream put in its stream. Pure.

``Api`` names the three wire formats: ``anthropic`` (Messages), ``chat`` (Chat
Completions), ``responses`` (OpenAI Responses).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from benchwarden.models.types import Usage

Api = Literal["anthropic", "chat", "responses"]
_PIECE_EVENTS = {
    "response.output_text.delta",
    "response.function_call_arguments.delta",
    "response.custom_tool_call_input.delta",
    "response.reasoning_summary_text.delta",
    "response.reasoning_text.delta",
}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def anthropic_usage(u: dict[str, Any]) -> Usage:
    read = _int(u.get("cache_read_input_tokens"))
    write = _int(u.get("cache_creation_input_tokens"))
    return Usage(
        _int(u.get("input_tokens")) + read + write,
        _int(u.get("output_tokens")),
        cached_input_tokens=read,
        cache_write_tokens=write,
    )


def openai_usage(u: dict[str, Any], api: Api) -> Usage:
    if api == "responses":
        details_in = u.get("input_tokens_details") or {}
        details_out = u.get("output_tokens_details") or {}
        return Usage(
            _int(u.get("input_tokens")),
            _int(u.get("output_tokens")),
            cached_input_tokens=_int(details_in.get("cached_tokens")),
            reasoning_tokens=_int(details_out.get("reasoning_tokens")),
        )
    details_in = u.get("prompt_tokens_details") or {}
    details_out = u.get("completion_tokens_details") or {}
    return Usage(
        _int(u.get("prompt_tokens")),
        _int(u.get("completion_tokens")),
        cached_input_tokens=_int(details_in.get("cached_tokens")),
        reasoning_tokens=_int(details_out.get("reasoning_tokens")),
    )


def body_usage(api: Api, body: dict[str, Any]) -> Usage:
    u = body.get("usage")
    if not isinstance(u, dict):
        return Usage()
    return anthropic_usage(u) if api == "anthropic" else openai_usage(u, api)


def body_tools_called(api: Api, body: dict[str, Any]) -> list[str]:
    names: list[str] = []
    if api == "anthropic":
        for block in body.get("content") or []:
            if isinstance(block, dict) and block.get("type") in ("tool_use", "server_tool_use"):
                names.append(str(block.get("name")))
    elif api == "responses":
        for item in body.get("output") or []:
            if isinstance(item, dict) and str(item.get("type", "")).endswith("_call"):
                names.append(str(item.get("name") or item.get("type")))
    else:
        for choice in body.get("choices") or []:
            message = (choice or {}).get("message") or {}
            for call in message.get("tool_calls") or []:
                names.append(str(((call or {}).get("function") or {}).get("name")))
    return names


@dataclass(slots=True)
class StreamObserver:
    """Reads each forwarded event; ``see`` says how many output pieces it held."""

    api: Api
    usage: Usage = field(default_factory=Usage)
    tools_called: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None
    done: bool = False

    def see(self, data: dict[str, Any]) -> int:
        if self.api == "anthropic":
            return self._anthropic(data)
        if self.api == "responses":
            return self._responses(data)
        return self._chat(data)

    def _anthropic(self, data: dict[str, Any]) -> int:
        kind = data.get("type")
        if kind == "content_block_delta":
            return 1
        if kind == "content_block_start":
            block = data.get("content_block") or {}
            if block.get("type") in ("tool_use", "server_tool_use"):
                self.tools_called.append(str(block.get("name")))
        elif kind == "message_start":
            u = (data.get("message") or {}).get("usage") or {}
            self.usage = anthropic_usage(u)
        elif kind == "message_delta":
            u = data.get("usage") or {}
            final = anthropic_usage(u)
            self.usage = Usage(
                final.input_tokens or self.usage.input_tokens,
                final.output_tokens,
                final.cached_input_tokens or self.usage.cached_input_tokens,
                0,
                final.cache_write_tokens or self.usage.cache_write_tokens,
            )
        elif kind == "message_stop":
            self.done = True
        elif kind == "error":
            self.error = data.get("error") if isinstance(data.get("error"), dict) else {}
        return 0

    def _responses(self, data: dict[str, Any]) -> int:
        kind = str(data.get("type", ""))
        if kind in _PIECE_EVENTS:
            return 1
        if kind == "response.output_item.added":
            item = data.get("item") or {}
            if str(item.get("type", "")).endswith("_call"):
                self.tools_called.append(str(item.get("name") or item.get("type")))
        elif kind in ("response.completed", "response.incomplete"):
            self.usage = body_usage("responses", data.get("response") or {})
            self.done = True
        elif kind in ("response.failed", "error"):
            response = data.get("response") or {}
            self.error = response.get("error") or {"message": data.get("message")}
        return 0

    def _chat(self, data: dict[str, Any]) -> int:
        if isinstance(data.get("error"), dict):
            self.error = data["error"]
            return 0
        if isinstance(data.get("usage"), dict):
            self.usage = body_usage("chat", data)
        pieces = 0
        for choice in data.get("choices") or []:
            delta = (choice or {}).get("delta") or {}
            if delta.get("content") or delta.get("reasoning_content"):
                pieces += 1
            for call in delta.get("tool_calls") or []:
                function = (call or {}).get("function") or {}
                if function.get("name"):
                    self.tools_called.append(str(function["name"]))
                pieces += 1
        return pieces
