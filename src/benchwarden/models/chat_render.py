"""Neutral requests as OpenAI Chat Completions fields. Pure.

Tool results travel in a user message's parts (neutral form); Chat wants each as a
``{"role": "tool", "tool_call_id", "content"}`` message right after the assistant turn
that called it, and whatever else the user said after them as a user message.
Reasoning cannot be sent back in Chat Completions and is left out.
"""

from __future__ import annotations

from typing import Any

from benchwarden.models import custom_tools
from benchwarden.models.content import (
    ImagePart,
    Part,
    TextPart,
    ToolCall,
    ToolChoice,
    ToolResult,
    ToolSpec,
    text_of,
)
from benchwarden.models.types import GenerateRequest, Message

ERROR_PREFIX = "Error: "


def completion_prompt(request: GenerateRequest) -> str:
    """The raw text a base model continues. A lone user turn is sent as is."""
    if request.prompt is not None:
        return request.prompt
    if request.system is None and len(request.messages) == 1:
        return request.messages[0].content
    lines = [request.system, ""] if request.system else []
    for message in request.messages:
        lines.append(f"{message.role.capitalize()}: {message.content}")
    lines.append("Assistant:")
    return "\n".join(lines)


def chat_messages(request: GenerateRequest) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    if request.prompt is not None and not request.messages:
        messages.append({"role": "user", "content": request.prompt})
    for message in request.messages:
        messages.extend(render_message(message))
    return messages


def render_message(message: Message) -> list[dict[str, Any]]:
    if not message.parts:
        return [{"role": message.role, "content": message.content}]
    if message.role == "assistant":
        return [_assistant(message.parts)]
    if message.role == "system":
        return [{"role": "system", "content": text_of(message.parts)}]
    out: list[dict[str, Any]] = []
    rest: list[TextPart | ImagePart] = []
    for part in message.parts:
        if isinstance(part, ToolResult):
            out.append({"role": "tool", "tool_call_id": part.call_id, "content": result_text(part)})
            if part.images:  # a tool message carries text only: images follow as the user's
                rest.append(TextPart(f"(images returned by the tool call {part.call_id})"))
                rest.extend(part.images)
        elif isinstance(part, TextPart | ImagePart):
            rest.append(part)
    if rest:
        out.append({"role": "user", "content": content(rest)})
    return out


def result_text(result: ToolResult) -> str:
    """A failed result says so in its text: Chat and Responses have no error flag."""
    if result.is_error and not result.content.startswith(ERROR_PREFIX):
        return ERROR_PREFIX + result.content
    return result.content


def content(parts: list[TextPart | ImagePart]) -> str | list[dict[str, Any]]:
    """Plain text as a string; with images, the list of typed parts."""
    if all(isinstance(p, TextPart) for p in parts):
        return "".join(p.text for p in parts if isinstance(p, TextPart))
    rendered: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, TextPart):
            rendered.append({"type": "text", "text": part.text})
        else:
            rendered.append({"type": "image_url", "image_url": {"url": part.data_url()}})
    return rendered


def _assistant(parts: tuple[Part, ...]) -> dict[str, Any]:
    text = text_of(parts)
    calls = [p for p in parts if isinstance(p, ToolCall)]
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if calls:
        message["content"] = text or None
        message["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {
                    "name": call.name,
                    "arguments": custom_tools.wrap_json(call.arguments)
                    if call.kind == "custom"
                    else call.arguments,
                },
            }
            for call in calls
        ]
    return message


def chat_tools(tools: tuple[ToolSpec, ...]) -> list[dict[str, Any]]:
    rendered = []
    for tool in tools:
        function: dict[str, Any] = {"name": tool.name}
        if tool.kind == "custom":
            function["description"] = custom_tools.describe(tool)
            function["parameters"] = custom_tools.input_schema()
        else:
            if tool.description:
                function["description"] = tool.description
            function["parameters"] = tool.parameters or {"type": "object", "properties": {}}
            if tool.strict is not None:
                function["strict"] = tool.strict
        rendered.append({"type": "function", "function": function})
    return rendered


def chat_tool_choice(choice: ToolChoice) -> str | dict[str, Any]:
    if choice.mode == "tool" and choice.name:
        return {"type": "function", "function": {"name": choice.name}}
    return choice.mode if choice.mode != "tool" else "required"


def chat_response_format(schema: dict[str, Any]) -> dict[str, Any]:
    """``{"name", "schema", "strict"}`` as Chat's ``response_format``; a value that is
    already a typed format (``json_object``, ``json_schema``) goes as it is."""
    if "type" in schema and "schema" not in schema:
        return schema
    inner: dict[str, Any] = {
        "name": schema.get("name") or "answer",
        "schema": schema.get("schema", schema),
    }
    if schema.get("strict") is not None:
        inner["strict"] = schema["strict"]
    if schema.get("description"):
        inner["description"] = schema["description"]
    return {"type": "json_schema", "json_schema": inner}


def agent_fields(request: GenerateRequest) -> dict[str, Any]:
    """``tools``, ``tool_choice``, ``parallel_tool_calls`` and ``response_format``."""
    fields: dict[str, Any] = {}
    if request.tools:
        fields["tools"] = chat_tools(request.tools)
    choice = request.tool_choice
    if choice is not None:
        if request.tools:  # the APIs refuse a tool_choice without tools
            fields["tool_choice"] = chat_tool_choice(choice)
        if choice.parallel is not None and request.tools:
            fields["parallel_tool_calls"] = choice.parallel
    if request.response_format:
        fields["response_format"] = chat_response_format(request.response_format)
    return fields
