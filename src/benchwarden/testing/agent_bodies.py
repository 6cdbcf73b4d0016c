"""What the scripted agent upstream answers, as plain data (no I/O): which shell tool a
request declares, whether its conversation already holds a tool result, and the
bodies and stream events of the three wire formats (Anthropic Messages, OpenAI
Responses, OpenAI Chat Completions) for one tool call or one final text.

The server in :mod:`agent_upstream` decides the turn and writes these out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = [
    "SHELL_TOOL_NAMES",
    "ShellCall",
    "anthropic_body",
    "anthropic_events",
    "chat_body",
    "chat_events",
    "declared_tools",
    "has_tool_result",
    "responses_body",
    "responses_events",
    "shell_call",
]

# The clients' shell tools, most specific first: Claude Code's ``Bash``; Codex's
# ``shell_command`` (a string), ``exec_command`` (unified exec, ``cmd``) or ``shell``
# (an argv list), depending on the model's catalogue entry.
SHELL_TOOL_NAMES = ("Bash", "shell_command", "exec_command", "shell", "container.exec")

_USAGE_IN, _USAGE_OUT = 11, 7


@dataclass(frozen=True, slots=True)
class ShellCall:
    """One call to the client's shell tool: its declared name and JSON arguments."""

    name: str
    arguments: dict[str, Any]

    @property
    def arguments_json(self) -> str:
        return json.dumps(self.arguments)


def declared_tools(request: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The request's function tools by name, each as its JSON schema, whichever API:
    Anthropic (``input_schema``), Responses (``parameters``), Chat (``function``)."""
    tools: dict[str, dict[str, Any]] = {}
    for tool in request.get("tools") or []:
        if not isinstance(tool, dict):
            continue
        function = tool.get("function")
        if isinstance(function, dict):  # Chat Completions
            tool = function
        name = tool.get("name")
        if not isinstance(name, str):
            continue
        schema = tool.get("input_schema", tool.get("parameters"))
        tools[name] = schema if isinstance(schema, dict) else {}
    return tools


def shell_call(request: dict[str, Any], command: str) -> ShellCall | None:
    """The call that runs ``command`` with the shell tool the request declares, its
    arguments shaped by that tool's schema; None when it declares none."""
    tools = declared_tools(request)
    name = next((n for n in SHELL_TOOL_NAMES if n in tools), None)
    if name is None:
        return None
    properties = tools[name].get("properties") or {}
    arguments: dict[str, Any]
    if "cmd" in properties:
        arguments = {"cmd": command}
    elif (properties.get("command") or {}).get("type") == "array":
        arguments = {"command": ["bash", "-lc", command]}
    else:
        arguments = {"command": command}
    if "description" in properties:
        arguments["description"] = "Write the file the task asks for"
    return ShellCall(name, arguments)


def has_tool_result(request: dict[str, Any]) -> bool:
    """Whether the conversation already carries a tool's result (any of the APIs)."""
    for item in request.get("input") or []:  # Responses input items
        if isinstance(item, dict) and str(item.get("type", "")).endswith("call_output"):
            return True
    for message in request.get("messages") or []:
        if not isinstance(message, dict):
            continue
        if message.get("role") == "tool":  # Chat Completions
            return True
        content = message.get("content")
        if isinstance(content, list) and any(
            isinstance(block, dict) and block.get("type") == "tool_result" for block in content
        ):
            return True
    return False


def _sse(event: str | None, data: dict[str, Any] | str) -> str:
    payload = data if isinstance(data, str) else json.dumps(data)
    return (f"event: {event}\n" if event else "") + f"data: {payload}\n\n"


def _pieces(text: str, n: int = 3) -> list[str]:
    """``text`` cut in ``n`` roughly equal pieces (streams deliver arguments in parts)."""
    step = max(1, -(-len(text) // n))
    return [text[i : i + step] for i in range(0, len(text), step)] or [""]


# ---- Anthropic Messages ---------------------------------------------------------
def _anthropic_usage(output: int) -> dict[str, Any]:
    return {
        "input_tokens": _USAGE_IN,
        "output_tokens": output,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def anthropic_body(request: dict[str, Any], call: ShellCall | None, text: str) -> dict[str, Any]:
    content: list[dict[str, Any]]
    if call is not None:
        block = {"type": "tool_use", "id": "toolu_mock01", "name": call.name}
        content = [{**block, "input": call.arguments}]
    else:
        content = [{"type": "text", "text": text}]
    return {
        "id": "msg_mock01",
        "type": "message",
        "role": "assistant",
        "model": request.get("model", "mock"),
        "content": content,
        "stop_reason": "tool_use" if call is not None else "end_turn",
        "stop_sequence": None,
        "usage": _anthropic_usage(_USAGE_OUT),
    }


def anthropic_events(request: dict[str, Any], call: ShellCall | None, text: str) -> list[str]:
    body = anthropic_body(request, call, text)
    start = {**body, "content": [], "stop_reason": None, "usage": _anthropic_usage(1)}
    events = [
        _sse("message_start", {"type": "message_start", "message": start}),
        _sse("ping", {"type": "ping"}),
    ]
    if call is not None:
        block: dict[str, Any] = {"type": "tool_use", "id": "toolu_mock01", "name": call.name}
        deltas = [
            {"type": "input_json_delta", "partial_json": p} for p in _pieces(call.arguments_json)
        ]
        opening = {**block, "input": {}}
    else:
        deltas = [{"type": "text_delta", "text": p} for p in _pieces(text)]
        opening = {"type": "text", "text": ""}
    events.append(
        _sse(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": opening},
        )
    )
    events += [
        _sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": d})
        for d in deltas
    ]
    events.append(_sse("content_block_stop", {"type": "content_block_stop", "index": 0}))
    end = {"stop_reason": body["stop_reason"], "stop_sequence": None}
    events.append(
        _sse(
            "message_delta",
            {"type": "message_delta", "delta": end, "usage": {"output_tokens": _USAGE_OUT}},
        )
    )
    events.append(_sse("message_stop", {"type": "message_stop"}))
    return events


# ---- OpenAI Responses ------------------------------------------------------------
def _responses_item(call: ShellCall | None, text: str) -> dict[str, Any]:
    if call is not None:
        return {
            "type": "function_call",
            "id": "fc_mock01",
            "call_id": "call_mock01",
            "name": call.name,
            "arguments": call.arguments_json,
            "status": "completed",
        }
    return {
        "type": "message",
        "id": "msg_mock01",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def responses_body(
    request: dict[str, Any], call: ShellCall | None, text: str, *, done: bool = True
) -> dict[str, Any]:
    return {
        "id": "resp_mock01",
        "object": "response",
        "created_at": 0,
        "status": "completed" if done else "in_progress",
        "model": request.get("model", "mock"),
        "output": [_responses_item(call, text)] if done else [],
        "parallel_tool_calls": bool(request.get("parallel_tool_calls", True)),
        "tool_choice": request.get("tool_choice", "auto"),
        "tools": request.get("tools") or [],
        "usage": (
            {
                "input_tokens": _USAGE_IN,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": _USAGE_OUT,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": _USAGE_IN + _USAGE_OUT,
            }
            if done
            else None
        ),
    }


def responses_events(request: dict[str, Any], call: ShellCall | None, text: str) -> list[str]:
    item = _responses_item(call, text)
    raw: list[dict[str, Any]] = [
        {"type": "response.created", "response": responses_body(request, call, text, done=False)},
        {
            "type": "response.in_progress",
            "response": responses_body(request, call, text, done=False),
        },
    ]
    ref = {"item_id": item["id"], "output_index": 0}
    if call is not None:
        raw.append(
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {**item, "arguments": "", "status": "in_progress"},
            }
        )
        raw += [
            {"type": "response.function_call_arguments.delta", **ref, "delta": piece}
            for piece in _pieces(call.arguments_json)
        ]
        raw.append(
            {
                "type": "response.function_call_arguments.done",
                **ref,
                "arguments": call.arguments_json,
            }
        )
    else:
        part = {"type": "output_text", "text": "", "annotations": []}
        added = {**item, "content": [], "status": "in_progress"}
        raw.append({"type": "response.output_item.added", "output_index": 0, "item": added})
        raw.append({"type": "response.content_part.added", **ref, "content_index": 0, "part": part})
        raw += [
            {"type": "response.output_text.delta", **ref, "content_index": 0, "delta": piece}
            for piece in _pieces(text)
        ]
        raw.append({"type": "response.output_text.done", **ref, "content_index": 0, "text": text})
        raw.append(
            {
                "type": "response.content_part.done",
                **ref,
                "content_index": 0,
                "part": {**part, "text": text},
            }
        )
    raw.append({"type": "response.output_item.done", "output_index": 0, "item": item})
    raw.append({"type": "response.completed", "response": responses_body(request, call, text)})
    return [_sse(event["type"], {**event, "sequence_number": n}) for n, event in enumerate(raw)]


# ---- OpenAI Chat Completions -----------------------------------------------------
def _chat_usage() -> dict[str, int]:
    return {
        "prompt_tokens": _USAGE_IN,
        "completion_tokens": _USAGE_OUT,
        "total_tokens": _USAGE_IN + _USAGE_OUT,
    }


def chat_body(request: dict[str, Any], call: ShellCall | None, text: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": None if call else text}
    if call is not None:
        function = {"name": call.name, "arguments": call.arguments_json}
        message["tool_calls"] = [{"id": "call_mock01", "type": "function", "function": function}]
    choice = {"index": 0, "message": message, "finish_reason": "tool_calls" if call else "stop"}
    return {
        "id": "chatcmpl-mock01",
        "object": "chat.completion",
        "created": 0,
        "model": request.get("model", "mock"),
        "choices": [choice],
        "usage": _chat_usage(),
    }


def chat_events(request: dict[str, Any], call: ShellCall | None, text: str) -> list[str]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return _sse(
            None,
            {
                "id": "chatcmpl-mock01",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": request.get("model", "mock"),
                "choices": [choice],
            },
        )

    events = [chunk({"role": "assistant", "content": None if call else ""})]
    if call is not None:
        head = {
            "id": "call_mock01",
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        events.append(chunk({"tool_calls": [{"index": 0, **head}]}))
        events += [
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
            for piece in _pieces(call.arguments_json)
        ]
        events.append(chunk({}, "tool_calls"))
    else:
        events += [chunk({"content": piece}) for piece in _pieces(text)]
        events.append(chunk({}, "stop"))
    if (request.get("stream_options") or {}).get("include_usage"):
        usage = {
            "id": "chatcmpl-mock01",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": request.get("model", "mock"),
            "choices": [],
            "usage": _chat_usage(),
        }
        events.append(_sse(None, usage))
    events.append(_sse(None, "[DONE]"))
    return events
