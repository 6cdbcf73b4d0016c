"""OpenAI Responses on the wire: response objects and the stream's typed events.

A stream is ``response.created``, ``response.in_progress``, then per output item
``response.output_item.added``, its deltas (``response.output_text.delta``,
``response.function_call_arguments.delta``, ``response.custom_tool_call_input.delta``,
``response.reasoning_summary_text.delta``) and ``response.output_item.done`` with the
whole item, and last ``response.completed`` (or ``response.incomplete``) carrying the
whole response with its usage. A stream warden cuts ends with ``response.failed``.
Every event has a ``sequence_number``.
"""

from __future__ import annotations

import time
from typing import Any

from benchwarden.api import opaque, responses_request
from benchwarden.api.errors import ApiError
from benchwarden.api.wire import ParsedCall, new_id, sse
from benchwarden.models.content import Reasoning, ToolCall
from benchwarden.models.types import FinishReason, GenerateResult, StreamDelta, Usage


def parse_request(data: dict[str, Any]) -> ParsedCall:
    return responses_request.parse_request(data)


def usage_body(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {"cached_tokens": usage.cached_input_tokens},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens,
    }


def _reasoning_item(thought: Reasoning, item_id: str | None = None) -> dict[str, Any]:
    native = thought.provider == "openai"
    encrypted = thought.encrypted if native else opaque.wrap(thought)
    summary = [{"type": "summary_text", "text": thought.text}] if thought.text else []
    return {
        "type": "reasoning",
        "id": (thought.id if native else None) or item_id or new_id("rs_"),
        "summary": summary,
        "encrypted_content": encrypted,
    }


def _message_item(text: str, item_id: str | None = None) -> dict[str, Any]:
    return {
        "type": "message",
        "id": item_id or new_id("msg_"),
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
    }


def _call_item(call: ToolCall, item_id: str | None = None, done: bool = True) -> dict[str, Any]:
    base = {"id": item_id or new_id("fc_"), "call_id": call.id, "name": call.name}
    if call.kind == "custom":
        return {"type": "custom_tool_call", **base, "input": call.arguments if done else ""}
    status = "completed" if done else "in_progress"
    arguments = call.arguments if done else ""
    return {"type": "function_call", **base, "arguments": arguments, "status": status}


def _envelope(call: ParsedCall, response_id: str, created: int, status: str) -> dict[str, Any]:
    raw = call.raw
    return {
        "id": response_id,
        "object": "response",
        "created_at": created,
        "status": status,
        "model": call.model,
        "output": [],
        "error": None,
        "incomplete_details": None,
        "instructions": raw.get("instructions"),
        "max_output_tokens": raw.get("max_output_tokens"),
        "parallel_tool_calls": raw.get("parallel_tool_calls", True),
        "tool_choice": raw.get("tool_choice", "auto"),
        "tools": raw.get("tools", []),
        "temperature": raw.get("temperature"),
        "top_p": raw.get("top_p"),
        "store": raw.get("store", False),
        "metadata": raw.get("metadata") or {},
        "usage": None,
    }


def _finish(response: dict[str, Any], finish: FinishReason, usage: Usage) -> None:
    if finish is FinishReason.LENGTH:
        response["status"] = "incomplete"
        response["incomplete_details"] = {"reason": "max_output_tokens"}
    elif finish is FinishReason.CONTENT_FILTER:
        response["status"] = "incomplete"
        response["incomplete_details"] = {"reason": "content_filter"}
    else:
        response["status"] = "completed"
    response["usage"] = usage_body(usage)


def response_body(call: ParsedCall, result: GenerateResult) -> dict[str, Any]:
    response = _envelope(call, new_id("resp_"), int(time.time()), "completed")
    choice = result.choices[0] if result.choices else None
    output: list[dict[str, Any]] = []
    for thought in choice.reasoning if choice else ():
        output.append(_reasoning_item(thought))
    if result.text or not (choice and choice.tool_calls):
        output.append(_message_item(result.text))
    for tool_call in choice.tool_calls if choice else ():
        output.append(_call_item(tool_call))
    response["output"] = output
    _finish(response, result.finish_reason, result.usage)
    response["output_text"] = result.text
    return response


def _provider(signature: str | None, encrypted: str | None) -> str | None:
    """Whose opaque data a streamed thinking block carries: a signature is Anthropic's,
    encrypted content alone OpenAI's; plain text is nobody's (wrapped as is)."""
    if signature:
        return "anthropic"
    return "openai" if encrypted else None


class ResponsesStream:
    """The typed events of one streamed response."""

    def __init__(self, call: ParsedCall) -> None:
        self.call = call
        self.id = new_id("resp_")
        self.created = int(time.time())
        self._seq = 0
        self._items: list[dict[str, Any]] = []
        self._open: str | None = None  # "text", "reasoning", "tool:<n>"
        self._buffer = ""
        self._signature: str | None = None
        self._encrypted: str | None = None
        self._tool: ToolCall | None = None

    def _event(self, kind: str, **fields: Any) -> bytes:
        data = {"type": kind, "sequence_number": self._seq, **fields}
        self._seq += 1
        return sse(data, kind)

    def start(self, input_tokens_estimate: int) -> bytes:
        response = _envelope(self.call, self.id, self.created, "in_progress")
        return self._event("response.created", response=response) + self._event(
            "response.in_progress", response=response
        )

    @property
    def _index(self) -> int:
        return len(self._items) - 1

    def _close(self) -> bytes:
        if self._open is None:
            return b""
        item = self._items[-1]
        index = self._index
        out = b""
        if self._open == "text":
            item["content"][0]["text"] = self._buffer
            part = item["content"][0]
            out += self._event(
                "response.output_text.done",
                item_id=item["id"],
                output_index=index,
                content_index=0,
                text=self._buffer,
                logprobs=[],
            )
            out += self._event(
                "response.content_part.done",
                item_id=item["id"],
                output_index=index,
                content_index=0,
                part=part,
            )
        elif self._open == "reasoning":
            thought = Reasoning(
                text=self._buffer,
                signature=self._signature,
                encrypted=self._encrypted,
                provider=_provider(self._signature, self._encrypted),
            )
            self._items[-1] = item = _reasoning_item(thought, item["id"])
        elif self._tool is not None:
            tool = ToolCall(self._tool.id, self._tool.name, self._buffer, self._tool.kind)
            self._items[-1] = item = _call_item(tool, item["id"])
            kind = (
                "response.custom_tool_call_input.done"
                if tool.kind == "custom"
                else "response.function_call_arguments.done"
            )
            key = "input" if tool.kind == "custom" else "arguments"
            out += self._event(kind, item_id=item["id"], output_index=index, **{key: self._buffer})
        out += self._event("response.output_item.done", output_index=index, item=item)
        self._open, self._buffer, self._tool = None, "", None
        self._signature = self._encrypted = None
        return out

    def _begin(self, kind: str, item: dict[str, Any]) -> bytes:
        out = self._close()
        self._items.append(item)
        self._open = kind
        out += self._event("response.output_item.added", output_index=self._index, item=item)
        return out

    def text(self, piece: str) -> bytes:
        out = b""
        if self._open != "text":
            item = _message_item("")
            item["status"] = "in_progress"
            out += self._begin("text", item)
            out += self._event(
                "response.content_part.added",
                item_id=item["id"],
                output_index=self._index,
                content_index=0,
                part={"type": "output_text", "text": "", "annotations": [], "logprobs": []},
            )
        self._buffer += piece
        item_id = self._items[-1]["id"]
        return out + self._event(
            "response.output_text.delta",
            item_id=item_id,
            output_index=self._index,
            content_index=0,
            delta=piece,
            logprobs=[],
        )

    def delta(self, delta: StreamDelta) -> bytes:
        out = b""
        if delta.reasoning or delta.reasoning_signature or delta.reasoning_encrypted:
            if self._open != "reasoning":
                item = {"type": "reasoning", "id": new_id("rs_"), "summary": []}
                out += self._begin("reasoning", item)
            if delta.reasoning:
                self._buffer += delta.reasoning
                out += self._event(
                    "response.reasoning_summary_text.delta",
                    item_id=self._items[-1]["id"],
                    output_index=self._index,
                    summary_index=0,
                    delta=delta.reasoning,
                )
            self._signature = delta.reasoning_signature or self._signature
            self._encrypted = delta.reasoning_encrypted or self._encrypted
        if delta.text:
            out += self.text(delta.text)
        piece = delta.tool_call
        if piece is not None:
            kind = f"tool:{piece.index}"
            if self._open != kind:
                tool = ToolCall(piece.id or new_id("call_"), piece.name or "", "", piece.kind)
                out += self._begin(kind, _call_item(tool, done=False))
                self._tool = tool
            if piece.arguments:
                self._buffer += piece.arguments
                assert self._tool is not None
                event = (
                    "response.custom_tool_call_input.delta"
                    if self._tool.kind == "custom"
                    else "response.function_call_arguments.delta"
                )
                out += self._event(
                    event,
                    item_id=self._items[-1]["id"],
                    output_index=self._index,
                    delta=piece.arguments,
                )
        return out

    def end(self, finish: FinishReason, usage: Usage) -> bytes:
        out = self._close()
        response = _envelope(self.call, self.id, self.created, "completed")
        response["output"] = self._items
        _finish(response, finish, usage)
        kind = "response.completed" if response["status"] == "completed" else "response.incomplete"
        return out + self._event(kind, response=response)

    def error(self, error: ApiError) -> bytes:
        response = _envelope(self.call, self.id, self.created, "failed")
        response["output"] = self._items
        response["error"] = {"code": error.code, "message": error.message}
        return self._event("response.failed", response=response)


class ResponsesWire:
    dialect = "openai"

    def parse(self, data: dict[str, Any]) -> ParsedCall:
        return parse_request(data)

    def response(self, call: ParsedCall, result: GenerateResult) -> dict[str, Any]:
        return response_body(call, result)

    def encoder(self, call: ParsedCall) -> ResponsesStream:
        return ResponsesStream(call)
