"""Neutral requests as OpenAI Responses API fields. Pure.

The system prompt goes in ``instructions``; a system turn inside the conversation is a
``developer`` message in place. Tool calls and results are items of their own
(``function_call``/``function_call_output``, ``custom_tool_call``/``_output`` for a
custom tool), in the order they happened. Reasoning goes back only when it is OpenAI's
own and carries its ``encrypted_content`` (nothing is stored upstream: ``store: false``);
its id is left out, as Codex does, since an id refers to a stored item.
"""

from __future__ import annotations

from typing import Any

from benchwarden.models.chat_render import result_text
from benchwarden.models.content import (
    ImagePart,
    Part,
    Reasoning,
    TextPart,
    ToolCall,
    ToolChoice,
    ToolKind,
    ToolResult,
    ToolSpec,
)
from benchwarden.models.types import GenerateRequest, Message

PROVIDER = "openai"
MIN_OUTPUT_TOKENS = 16  # the API refuses a smaller max_output_tokens


def call_kinds(messages: tuple[Message, ...]) -> dict[str, ToolKind]:
    return {
        part.id: part.kind
        for message in messages
        for part in message.parts
        if isinstance(part, ToolCall)
    }


def _message(role: str, parts: list[TextPart | ImagePart]) -> dict[str, Any]:
    text_type = "output_text" if role == "assistant" else "input_text"
    content: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, TextPart):
            content.append({"type": text_type, "text": part.text})
        elif role != "assistant":
            content.append({"type": "input_image", "image_url": part.data_url(), "detail": "auto"})
    return {"type": "message", "role": role, "content": content}


def _output(result: ToolResult, kind: ToolKind) -> dict[str, Any]:
    output: str | list[dict[str, Any]] = result_text(result)
    if result.images:
        output = [{"type": "input_text", "text": result_text(result)}] + [
            {"type": "input_image", "image_url": i.data_url(), "detail": "auto"}
            for i in result.images
        ]
    item_type = "custom_tool_call_output" if kind == "custom" else "function_call_output"
    return {"type": item_type, "call_id": result.call_id, "output": output}


def _call(call: ToolCall) -> dict[str, Any]:
    if call.kind == "custom":
        return {
            "type": "custom_tool_call",
            "call_id": call.id,
            "name": call.name,
            "input": call.arguments,
        }
    return {
        "type": "function_call",
        "call_id": call.id,
        "name": call.name,
        "arguments": call.arguments,
    }


def reasoning_item(reasoning: Reasoning) -> dict[str, Any] | None:
    if reasoning.provider != PROVIDER or not reasoning.encrypted:
        return None
    summary = [{"type": "summary_text", "text": reasoning.text}] if reasoning.text else []
    return {"type": "reasoning", "summary": summary, "encrypted_content": reasoning.encrypted}


def message_items(message: Message, kinds: dict[str, ToolKind]) -> list[dict[str, Any]]:
    role = "developer" if message.role == "system" else message.role
    if not message.parts:
        return [_message(role, [TextPart(message.content)])]
    items: list[dict[str, Any]] = []
    pending: list[TextPart | ImagePart] = []

    def flush() -> None:
        if pending:
            items.append(_message(role, list(pending)))
            pending.clear()

    part: Part
    for part in message.parts:
        if isinstance(part, TextPart | ImagePart):
            pending.append(part)
            continue
        flush()
        if isinstance(part, ToolResult):
            items.append(_output(part, kinds.get(part.call_id, "function")))
        elif isinstance(part, ToolCall):
            items.append(_call(part))
        else:
            item = reasoning_item(part)
            if item is not None:
                items.append(item)
    flush()
    return items


def input_items(request: GenerateRequest) -> list[dict[str, Any]]:
    kinds = call_kinds(request.messages)
    items: list[dict[str, Any]] = []
    if request.prompt is not None and not request.messages:
        items.append(_message("user", [TextPart(request.prompt)]))
    for message in request.messages:
        items.extend(message_items(message, kinds))
    return items


def tools(specs: tuple[ToolSpec, ...]) -> list[dict[str, Any]]:
    rendered: list[dict[str, Any]] = []
    for tool in specs:
        if tool.kind == "custom":
            entry: dict[str, Any] = {"type": "custom", "name": tool.name}
            if tool.description:
                entry["description"] = tool.description
            if tool.grammar:
                entry["format"] = tool.grammar
        else:
            entry = {
                "type": "function",
                "name": tool.name,
                "parameters": tool.parameters or {"type": "object", "properties": {}},
                # Responses treats a function as strict unless told: say what was asked.
                "strict": bool(tool.strict),
            }
            if tool.description:
                entry["description"] = tool.description
        rendered.append(entry)
    return rendered


def tool_choice(choice: ToolChoice, specs: tuple[ToolSpec, ...]) -> str | dict[str, Any]:
    if choice.mode == "tool" and choice.name:
        kind = next((t.kind for t in specs if t.name == choice.name), "function")
        return {"type": kind, "name": choice.name}
    return choice.mode if choice.mode != "tool" else "required"


def text_format(schema: dict[str, Any]) -> dict[str, Any]:
    """``{"name", "schema", "strict"}`` as ``text.format``."""
    if "type" in schema and "schema" not in schema:
        return schema
    rendered: dict[str, Any] = {
        "type": "json_schema",
        "name": schema.get("name") or "answer",
        "schema": schema.get("schema", schema),
    }
    for key in ("strict", "description"):
        if schema.get(key) is not None:
            rendered[key] = schema[key]
    return rendered


def system_text(request: GenerateRequest) -> str | None:
    return request.system or None
