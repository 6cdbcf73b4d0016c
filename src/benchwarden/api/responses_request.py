"""OpenAI Responses requests (``POST /v1/responses``) into neutral form.

Input: a string, or items: messages (``input_text``, ``output_text``, ``input_image``
parts; roles user, assistant, system, developer), ``function_call`` and
``function_call_output``, ``custom_tool_call`` and ``custom_tool_call_output``,
``reasoning`` (its ``encrypted_content`` kept opaque; one warden wrote when it
translated another provider's thinking is unwrapped, see ``opaque``). Tools of type
``function`` and ``custom``; others (``web_search``, ``tool_search``...) are hosted
tools. ``previous_response_id`` and hosted tools' call items need an OpenAI backend.
"""

from __future__ import annotations

from typing import Any

from benchwarden.api import fields, opaque
from benchwarden.api.conversation import check_tool_flow, check_tools
from benchwarden.api.errors import invalid
from benchwarden.api.openai_request import EFFORTS, _image, output_format, tool_choice
from benchwarden.api.wire import ParsedCall
from benchwarden.models.content import (
    Part,
    Reasoning,
    ReasoningConfig,
    TextPart,
    ToolCall,
    ToolResult,
    ToolSpec,
    text_of,
)
from benchwarden.models.types import GenerateRequest, Message

# Codex sends no max_output_tokens: the model's own limit applies. What warden reserves
# against a grant's TPM until the stream's real count is known.
DEFAULT_OUTPUT_TOKENS = 4096
_TEXT_PARTS = ("input_text", "output_text", "text", "summary_text")


def _content(value: object, where: str) -> tuple[str, tuple[Part, ...]]:
    if isinstance(value, str):
        return fields.text(value, where), ()
    if not isinstance(value, list):
        raise invalid(f"Field '{where}' must be a string or an array of content parts.")
    parts: list[Part] = []
    for i, part in enumerate(value):
        spot = f"{where}[{i}]"
        if not isinstance(part, dict):
            raise invalid(f"Field '{spot}' must be an object.")
        kind = part.get("type")
        if kind in _TEXT_PARTS:
            parts.append(TextPart(fields.get_text(part, "text", required=True, where=spot) or ""))
        elif kind == "input_image":
            url = fields.get_text(part, "image_url")
            if url is None:
                raise invalid(f"Field '{spot}.image_url' is required (file ids are not served).")
            parts.append(_image(url))
        elif kind == "refusal":
            parts.append(TextPart(fields.get_text(part, "refusal") or ""))
        else:
            raise invalid(f"Field '{spot}.type' {str(kind)[:40]!r} is not a content part here.")
    plain = all(isinstance(p, TextPart) for p in parts)
    return text_of(tuple(parts)), (() if plain else tuple(parts))


def _output_text(value: object, where: str) -> str:
    if isinstance(value, str):
        return value
    return _content(value, where)[0]


class _Conversation:
    """Items folded into neutral messages: calls join the assistant turn, outputs the
    next user turn, as the neutral form (and Anthropic) wants."""

    def __init__(self) -> None:
        self.system: list[str] = []
        self.messages: list[Message] = []
        self.origin: list[int] = []
        self.places: dict[tuple[int, int], str] = {}  # tool parts -> their input item
        self.untranslatable: list[str] = []

    def add(self, role: str, text: str, parts: tuple[Part, ...], index: int) -> None:
        if role in ("system", "developer"):
            if self.messages:
                self.messages.append(Message("system", text))
                self.origin.append(index)
            else:
                self.system.append(text)
            return
        self.messages.append(Message("user" if role == "user" else "assistant", text, parts))
        self.origin.append(index)

    def attach(self, role: str, part: Part, index: int) -> None:
        """Append a part to the last message if it has this role, else a new one."""
        if self.messages and self.messages[-1].role == role:
            last = self.messages[-1]
            own = last.parts or ((TextPart(last.content),) if last.content else ())
            self.places[(len(self.messages) - 1, len(own))] = f"input[{index}]"
            self.messages[-1] = Message(last.role, last.content, (*own, part))
        else:
            self.places[(len(self.messages), 0)] = f"input[{index}]"
            text = part.text if isinstance(part, TextPart) else ""
            self.messages.append(Message("user" if role == "user" else "assistant", text, (part,)))
            self.origin.append(index)

    def item(self, item: object, i: int) -> None:
        where = f"input[{i}]"
        if not isinstance(item, dict):
            raise invalid(f"Field '{where}' must be an object.")
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role")
            if role not in ("user", "assistant", "system", "developer"):
                raise invalid(f"Field '{where}.role' must be user, assistant, system or developer.")
            text, parts = _content(item.get("content", ""), f"{where}.content")
            self.add(str(role), text, parts, i)
        elif kind in ("function_call", "custom_tool_call"):
            custom = kind == "custom_tool_call"
            call = ToolCall(
                id=fields.get_text(item, "call_id", required=True, where=where) or "",
                name=fields.get_text(item, "name", required=True, where=where) or "",
                arguments=(
                    fields.get_text(item, "input") or ""
                    if custom
                    else fields.get_text(item, "arguments") or "{}"
                ),
                kind="custom" if custom else "function",
            )
            self.attach("assistant", call, i)
        elif kind in ("function_call_output", "custom_tool_call_output"):
            call_id = fields.get_text(item, "call_id", required=True, where=where) or ""
            output = _output_text(item.get("output", ""), f"{where}.output")
            self.attach("user", ToolResult(call_id, output), i)
        elif kind == "reasoning":
            self.attach("assistant", _reasoning(item, where), i)
        else:
            self.untranslatable.append(f"{where} (type {str(kind)[:40]!r})")


def _reasoning(item: dict[str, Any], where: str) -> Reasoning:
    encrypted = fields.get_text(item, "encrypted_content")
    unwrapped = opaque.unwrap(encrypted) if encrypted else None
    if unwrapped is not None:
        return unwrapped
    summary = item.get("summary") or []
    if not isinstance(summary, list):
        raise invalid(f"Field '{where}.summary' must be an array.")
    text = "".join(str(s.get("text", "")) for s in summary if isinstance(s, dict))
    return Reasoning(text=text, encrypted=encrypted, provider="openai", id=item.get("id"))


def _tools(data: dict[str, Any]) -> tuple[tuple[ToolSpec, ...], list[tuple[int, str]]]:
    raw = data.get("tools")
    if raw is None:
        return (), []
    if not isinstance(raw, list):
        raise invalid("Field 'tools' must be an array of tools.")
    tools: list[ToolSpec] = []
    hosted: list[tuple[int, str]] = []
    for i, tool in enumerate(raw):
        where = f"tools[{i}]"
        if not isinstance(tool, dict):
            raise invalid(f"Field '{where}' must be an object.")
        kind = tool.get("type")
        custom_or_function = kind in ("function", "custom")
        name = (
            fields.get_text(tool, "name", required=True, where=where)
            if custom_or_function
            else None
        )
        if kind == "function":
            parameters = tool.get("parameters")
            if parameters is None:
                parameters = {"type": "object", "properties": {}}
            if not isinstance(parameters, dict):
                raise invalid(f"Field '{where}.parameters' must be a JSON schema object.")
            strict = tool.get("strict")
            tools.append(
                ToolSpec(
                    name=name or "",
                    description=fields.get_text(tool, "description") or "",
                    parameters=parameters,
                    strict=strict if isinstance(strict, bool) else None,
                )
            )
        elif kind == "custom":
            grammar = fields.get_object(tool, "format")
            tools.append(
                ToolSpec(
                    name=name or "",
                    description=fields.get_text(tool, "description") or "",
                    kind="custom",
                    grammar=grammar,
                )
            )
        else:
            hosted.append((i, str(kind)[:60]))
    check_tools(tools)
    return tuple(tools), hosted


def _named(value: dict[str, Any]) -> tuple[str, str] | None:
    if value.get("type") not in ("function", "custom"):
        return None
    name = fields.get_text(value, "name", required=True, where="tool_choice") or ""
    return name, "tool_choice.name"


def _response_format(data: dict[str, Any]) -> dict[str, Any] | None:
    text = fields.get_object(data, "text")
    fmt = fields.get_object(text or {}, "format") or {}
    return output_format(fmt.get("type", "text"), fmt, "text.format")


def parse_request(data: dict[str, Any]) -> ParsedCall:
    """A validated Responses body as a neutral call; raises 400 ``ApiError``."""
    model = fields.get_text(data, "model", required=True) or ""
    if not model:
        raise invalid("Field 'model' must not be empty.")
    conversation = _Conversation()
    instructions = fields.get_text(data, "instructions")
    if instructions:
        conversation.system.append(instructions)
    raw_input = data.get("input")
    if raw_input is None:
        raise invalid("Field 'input' is required.")
    if isinstance(raw_input, str):
        conversation.add("user", fields.text(raw_input, "input"), (), 0)
    elif isinstance(raw_input, list):
        for i, item in enumerate(raw_input):
            conversation.item(item, i)
    else:
        raise invalid("Field 'input' must be a string or an array of input items.")
    if not conversation.messages:
        raise invalid("Field 'input' needs at least one user message.")
    origin = conversation.origin
    messages = tuple(conversation.messages)
    tools, hosted = _tools(data)
    places = conversation.places
    check_tool_flow(messages, lambda i, j: places.get((i, j), f"input[{origin[i]}]"), tools)
    reasoning_raw = fields.get_object(data, "reasoning")
    reasoning = None
    if reasoning_raw is not None:
        effort = fields.get_text(reasoning_raw, "effort")
        if effort is not None and effort not in EFFORTS:
            raise invalid(f"Field 'reasoning.effort' must be one of {', '.join(EFFORTS)}.")
        if effort not in (None, "none"):
            reasoning = ReasoningConfig(
                effort=effort, summary=fields.get_text(reasoning_raw, "summary")
            )
    max_tokens = fields.get_int(data, "max_output_tokens", low=1, high=fields.MAX_TOKENS_CAP)
    untranslatable = list(conversation.untranslatable)
    if data.get("previous_response_id") is not None:
        untranslatable.insert(0, "previous_response_id")
    request = GenerateRequest(
        messages=messages,
        system="\n\n".join(conversation.system) or None,
        max_tokens=max_tokens or DEFAULT_OUTPUT_TOKENS,
        temperature=fields.get_number(data, "temperature", low=0.0, high=2.0),
        top_p=fields.get_number(data, "top_p", low=0.0, high=1.0, low_open=True),
        tools=tools,
        tool_choice=tool_choice(data, tools, _named, None),
        reasoning=reasoning,
        response_format=_response_format(data),
    )
    return ParsedCall(
        model,
        request,
        stream=fields.get_bool(data, "stream"),
        raw=data,
        untranslatable=tuple(untranslatable),
        hosted_tools=tuple(hosted),
        places=places,
    )
