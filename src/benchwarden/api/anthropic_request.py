"""Anthropic Messages requests into neutral form: content blocks, tools, thinking.

Blocks: ``text``, ``image`` (base64 or URL), ``tool_use``, ``tool_result`` (text or
blocks, ``is_error``), ``thinking`` (with its signature), ``redacted_thinking``.
``cache_control`` on any block and ``context_management`` are hints a backend of
another API does without: noted in ``dropped``, never refused. Server tools
(``web_search_...``, ``code_execution_...``) are hosted tools; ``mcp_servers`` and
``container`` can only go to an Anthropic backend.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from benchwarden.api import fields, opaque
from benchwarden.api.conversation import check_tool_flow, check_tools
from benchwarden.api.errors import invalid
from benchwarden.api.wire import ParsedCall
from benchwarden.models.content import (
    ImagePart,
    Part,
    Reasoning,
    ReasoningConfig,
    TextPart,
    ToolCall,
    ToolChoice,
    ToolResult,
    ToolSpec,
    text_of,
)
from benchwarden.models.types import GenerateRequest, Message

ONLY_ANTHROPIC = ("mcp_servers", "container")
MIN_THINKING_BUDGET = 1024
# Claude Code sends "system" turns inside messages for its newer models.
_ROLES = {"user": "user", "assistant": "assistant", "system": "system"}


def _image(block: dict[str, Any], where: str) -> ImagePart:
    source = fields.get_object(block, "source")
    if source is None:
        raise invalid(f"Field '{where}.source' is required.")
    kind = source.get("type")
    if kind == "base64":
        return ImagePart(
            media_type=fields.get_text(
                source, "media_type", required=True, where=f"{where}.source"
            ),
            data=fields.get_text(source, "data", required=True, where=f"{where}.source"),
        )
    if kind == "url":
        return ImagePart(url=fields.get_text(source, "url", required=True, where=f"{where}.source"))
    raise invalid(f"Field '{where}.source.type' must be 'base64' or 'url'.")


def _result(block: dict[str, Any], where: str) -> ToolResult:
    call_id = fields.get_text(block, "tool_use_id", required=True, where=where) or ""
    content = block.get("content", "")
    images: list[ImagePart] = []
    if isinstance(content, list):
        texts = []
        for j, inner in enumerate(content):
            spot = f"{where}.content[{j}]"
            if not isinstance(inner, dict):
                raise invalid(f"Field '{spot}' must be an object.")
            if inner.get("type") == "text":
                texts.append(fields.get_text(inner, "text", required=True, where=spot) or "")
            elif inner.get("type") == "image":
                images.append(_image(inner, spot))
            else:
                raise invalid(f"Field '{spot}.type' must be 'text' or 'image' in a tool result.")
        text = "".join(texts)
    elif content is None:
        text = ""
    else:
        text = fields.text(content, f"{where}.content")
    is_error = block.get("is_error")
    if is_error is not None and not isinstance(is_error, bool):
        raise invalid(f"Field '{where}.is_error' must be a boolean.")
    return ToolResult(call_id, text, bool(is_error), tuple(images))


@dataclass(slots=True)
class _Notes:
    dropped: list[str] = field(default_factory=list)  # hints another API does without
    untranslatable: list[str] = field(default_factory=list)  # only Anthropic serves them
    blocks: list[list[int]] = field(default_factory=list)  # per message: kept blocks' indices


def _block(block: object, where: str, notes: _Notes) -> Part | None:
    if not isinstance(block, dict):
        raise invalid(f"Field '{where}' must be an object, not {fields.json_type(block)}.")
    if "cache_control" in block:
        notes.dropped.append("cache_control")
    kind = block.get("type")
    if kind == "text":
        return TextPart(fields.get_text(block, "text", required=True, where=where) or "")
    if kind == "image":
        return _image(block, where)
    if kind == "tool_use":
        tool_input = block.get("input", {})
        if not isinstance(tool_input, dict):
            raise invalid(f"Field '{where}.input' must be an object.")
        return ToolCall(
            id=fields.get_text(block, "id", required=True, where=where) or "",
            name=fields.get_text(block, "name", required=True, where=where) or "",
            arguments=json.dumps(tool_input, separators=(",", ":")),
        )
    if kind == "tool_result":
        return _result(block, where)
    if kind == "thinking":
        signature = fields.get_text(block, "signature") or ""
        unwrapped = opaque.unwrap(signature) if signature else None
        if unwrapped is not None:  # thinking warden carried over from another API
            return unwrapped
        return Reasoning(
            text=fields.get_text(block, "thinking") or "",
            signature=fields.get_text(block, "signature"),
            provider="anthropic",
        )
    if kind == "redacted_thinking":
        return Reasoning(
            encrypted=fields.get_text(block, "data", required=True, where=where),
            provider="anthropic",
        )
    if not isinstance(kind, str):
        raise invalid(f"Field '{where}.type' is required.")
    notes.untranslatable.append(f"{where} (type {kind[:40]!r})")
    return None


def _content(value: object, where: str, notes: _Notes) -> tuple[str, tuple[Part, ...]]:
    if isinstance(value, str):
        return fields.text(value, where), ()
    if not isinstance(value, list):
        raise invalid(
            f"Field '{where}' must be a string or an array of content blocks, "
            f"not {fields.json_type(value)}."
        )
    kept = [(i, _block(b, f"{where}[{i}]", notes)) for i, b in enumerate(value)]
    parts = tuple(p for _, p in kept if p is not None)
    notes.blocks.append([i for i, p in kept if p is not None])
    plain = all(isinstance(p, TextPart) for p in parts)
    return text_of(parts), (() if plain else parts)


def _messages(data: dict[str, Any], notes: _Notes) -> tuple[Message, ...]:
    raw = data.get("messages")
    if raw is None:
        raise invalid("Field 'messages' is required.")
    if not isinstance(raw, list) or not raw:
        raise invalid("Field 'messages' must be a non-empty array of messages.")
    messages = []
    for i, item in enumerate(raw):
        where = f"messages[{i}]"
        if not isinstance(item, dict):
            raise invalid(f"Field '{where}' must be an object, not {fields.json_type(item)}.")
        role = _ROLES.get(str(item.get("role")))
        if role is None:
            raise invalid(f"Field '{where}.role' must be 'user', 'assistant' or 'system'.")
        if item.get("content") is None:
            raise invalid(f"Field '{where}.content' is required.")
        text, parts = _content(item["content"], f"{where}.content", notes)
        if isinstance(item["content"], str):
            notes.blocks.append([])
        if role == "system":
            messages.append(Message("system", text))
        else:
            messages.append(Message("user" if role == "user" else "assistant", text, parts))
    return tuple(messages)


def _tools(
    data: dict[str, Any], notes: _Notes
) -> tuple[tuple[ToolSpec, ...], list[tuple[int, str]]]:
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
        if "cache_control" in tool:
            notes.dropped.append("cache_control")
        kind = tool.get("type")
        if kind not in (None, "custom"):
            hosted.append((i, str(kind)[:60]))
            continue
        schema = tool.get("input_schema")
        if not isinstance(schema, dict):
            raise invalid(f"Field '{where}.input_schema' must be a JSON schema object.")
        tools.append(
            ToolSpec(
                name=fields.get_text(tool, "name", required=True, where=where) or "",
                description=fields.get_text(tool, "description") or "",
                parameters=schema,
            )
        )
    check_tools(tools)
    return tuple(tools), hosted


def _tool_choice(data: dict[str, Any], tools: tuple[ToolSpec, ...]) -> ToolChoice | None:
    choice = fields.get_object(data, "tool_choice")
    if choice is None:
        return None
    kind = choice.get("type")
    modes = {"auto": "auto", "any": "required", "none": "none", "tool": "tool"}
    if kind not in modes:
        raise invalid("Field 'tool_choice.type' must be 'auto', 'any', 'tool' or 'none'.")
    name = fields.get_text(choice, "name", required=kind == "tool", where="tool_choice")
    if name is not None and name not in {t.name for t in tools}:
        raise invalid(f"Field 'tool_choice.name': no tool {name[:60]!r} is declared in 'tools'.")
    disable = choice.get("disable_parallel_tool_use")
    parallel = None if disable is None else not bool(disable)
    return ToolChoice(mode=modes[kind], name=name, parallel=parallel)  # type: ignore[arg-type]


def _thinking(data: dict[str, Any], max_tokens: int) -> ReasoningConfig | None:
    thinking = fields.get_object(data, "thinking")
    if thinking is None or thinking.get("type") in (None, "disabled"):
        return None
    if thinking.get("type") == "adaptive":
        return ReasoningConfig(effort="medium")
    if thinking.get("type") != "enabled":
        raise invalid("Field 'thinking.type' must be 'enabled', 'adaptive' or 'disabled'.")
    budget = fields.get_int(thinking, "budget_tokens", low=MIN_THINKING_BUDGET, required=True)
    assert budget is not None
    if budget >= max_tokens:
        raise invalid(
            f"Field 'thinking.budget_tokens' ({budget}) must be less than 'max_tokens' "
            f"({max_tokens})."
        )
    return ReasoningConfig(budget_tokens=budget)


def parse_request(data: dict[str, Any]) -> ParsedCall:
    """A validated Messages body as a neutral call; raises 400 ``ApiError``."""
    model = fields.get_text(data, "model", required=True) or ""
    if not model:
        raise invalid("Field 'model' must not be empty.")
    max_tokens = fields.get_int(
        data, "max_tokens", low=1, high=fields.MAX_TOKENS_CAP, required=True
    )
    assert max_tokens is not None
    notes = _Notes()
    messages = _messages(data, notes)
    system = None
    if data.get("system") is not None:
        system = fields.text_parts(
            data["system"], "system", parts="content blocks", notes=notes.dropped
        )
    tools, hosted = _tools(data, notes)

    def where(message: int, part: int) -> str:
        kept = notes.blocks[message] if message < len(notes.blocks) else []
        block = kept[part] if part < len(kept) else part
        return f"messages[{message}].content[{block}]"

    check_tool_flow(messages, where, tools)
    output = fields.get_object(data, "output_config")
    response_format = None
    if output is not None and isinstance(output.get("format"), dict):
        fmt = output["format"]
        response_format = {"name": "output", "schema": fmt.get("schema", {}), "strict": True}
    fields.get_int(data, "top_k", low=0)  # accepted; only an Anthropic backend gets it
    fields.get_object(data, "metadata")
    if data.get("context_management") is not None:
        notes.dropped.append("context_management")
    request = GenerateRequest(
        messages=messages,
        system=system or None,
        max_tokens=max_tokens,
        temperature=fields.get_number(data, "temperature", low=0.0, high=1.0),
        top_p=fields.get_number(data, "top_p", low=0.0, high=1.0, low_open=True),
        stop=fields.get_stops(data, "stop_sequences", allow_string=False),
        tools=tools,
        tool_choice=_tool_choice(data, tools),
        reasoning=_thinking(data, max_tokens),
        response_format=response_format,
    )
    only_here = [n for n in ONLY_ANTHROPIC if data.get(n) not in (None, [], {})]
    return ParsedCall(
        model,
        request,
        stream=fields.get_bool(data, "stream"),
        raw=data,
        untranslatable=(*only_here, *notes.untranslatable),
        hosted_tools=tuple(hosted),
        dropped=tuple(dict.fromkeys(notes.dropped)),
    )
