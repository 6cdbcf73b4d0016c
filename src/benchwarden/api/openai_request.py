"""OpenAI Chat Completions requests into neutral form: parts, tools, tool messages.

Content parts ``text`` and ``image_url``; assistant ``tool_calls``; ``tool`` messages
(results, gathered into the next user turn as the neutral form wants); ``tools`` of
type ``function``; ``tool_choice``; ``parallel_tool_calls``; ``response_format``
(``json_schema``, ``json_object``); ``reasoning_effort``. ``n`` > 1 and ``logprobs``
are served by an OpenAI backend only (``untranslatable``). Legacy ``functions`` and
audio are refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchwarden.api import fields
from benchwarden.api.conversation import check_tool_flow, check_tools
from benchwarden.api.errors import invalid
from benchwarden.api.wire import DEFAULT_MAX_TOKENS, ParsedCall
from benchwarden.models.content import (
    ImagePart,
    Part,
    ReasoningConfig,
    TextPart,
    ToolCall,
    ToolChoice,
    ToolResult,
    ToolSpec,
    text_of,
)
from benchwarden.models.types import GenerateRequest, Message

_SYSTEM_ROLES = ("system", "developer")
_ROLES = ("system", "developer", "user", "assistant", "tool")
_REFUSED = ("functions", "function_call", "audio", "modalities")
EFFORTS = ("minimal", "low", "medium", "high", "none", "xhigh")


def _parts(value: object, where: str) -> tuple[str, tuple[Part, ...]]:
    if isinstance(value, str):
        return fields.text(value, where), ()
    if not isinstance(value, list):
        raise invalid(
            f"Field '{where}' must be a string or an array of parts, not {fields.json_type(value)}."
        )
    parts: list[Part] = []
    for i, part in enumerate(value):
        spot = f"{where}[{i}]"
        if not isinstance(part, dict):
            raise invalid(f"Field '{spot}' must be an object.")
        kind = part.get("type")
        if kind == "text":
            parts.append(TextPart(fields.get_text(part, "text", required=True, where=spot) or ""))
        elif kind == "image_url":
            image = fields.get_object(part, "image_url")
            url = (
                fields.get_text(image or {}, "url", required=True, where=f"{spot}.image_url") or ""
            )
            parts.append(_image(url))
        else:
            raise invalid(f"Field '{spot}.type' must be 'text' or 'image_url'.", "unsupported")
    plain = all(isinstance(p, TextPart) for p in parts)
    return text_of(tuple(parts)), (() if plain else tuple(parts))


def _image(url: str) -> ImagePart:
    if url.startswith("data:") and ";base64," in url:
        head, data = url[5:].split(";base64,", 1)
        return ImagePart(media_type=head or None, data=data)
    return ImagePart(url=url)


def _tool_calls(item: dict[str, Any], where: str) -> list[ToolCall]:
    raw = item.get("tool_calls")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise invalid(f"Field '{where}.tool_calls' must be an array.")
    calls = []
    for j, call in enumerate(raw):
        spot = f"{where}.tool_calls[{j}]"
        if not isinstance(call, dict):
            raise invalid(f"Field '{spot}' must be an object.")
        if call.get("type") == "custom":
            custom = fields.get_object(call, "custom") or {}
            calls.append(
                ToolCall(
                    id=fields.get_text(call, "id", required=True, where=spot) or "",
                    name=fields.get_text(custom, "name", required=True, where=f"{spot}.custom")
                    or "",
                    arguments=fields.get_text(custom, "input") or "",
                    kind="custom",
                )
            )
            continue
        function = fields.get_object(call, "function")
        if function is None:
            raise invalid(f"Field '{spot}.function' is required.")
        calls.append(
            ToolCall(
                id=fields.get_text(call, "id", required=True, where=spot) or "",
                name=fields.get_text(function, "name", required=True, where=f"{spot}.function")
                or "",
                arguments=fields.get_text(function, "arguments") or "{}",
            )
        )
    return calls


Places = dict[tuple[int, int], str]


def _messages(data: dict[str, Any]) -> tuple[str | None, tuple[Message, ...], Places]:
    """(system, messages, the field each tool call and result came from)."""
    raw = data.get("messages")
    if raw is None:
        raise invalid("Field 'messages' is required.")
    if not isinstance(raw, list) or not raw:
        raise invalid("Field 'messages' must be a non-empty array of messages.")
    system_parts: list[str] = []
    messages: list[Message] = []
    origin: list[int] = []
    places: Places = {}
    for i, item in enumerate(raw):
        where = f"messages[{i}]"
        if not isinstance(item, dict):
            raise invalid(f"Field '{where}' must be an object, not {fields.json_type(item)}.")
        role = item.get("role")
        if role not in _ROLES:
            if role == "function":
                raise invalid(f"Field '{where}.role': use 'tool' messages.", "unsupported")
            raise invalid(f"Field '{where}.role' must be one of {', '.join(_ROLES)}.")
        if role == "tool":
            call_id = fields.get_text(item, "tool_call_id", required=True, where=where) or ""
            text, _ = _parts(item.get("content") or "", f"{where}.content")
            result = ToolResult(call_id, text)
            if messages and messages[-1].role == "user" and origin[-1] == -1:
                last = messages[-1]
                places[(len(messages) - 1, len(last.parts))] = where
                messages[-1] = Message("user", last.content, (*last.parts, result))
            else:
                places[(len(messages), 0)] = where
                messages.append(Message("user", "", (result,)))
                origin.append(-1)
            continue
        calls = _tool_calls(item, where) if role == "assistant" else []
        no_text = item.get("content") is None and not calls
        if no_text and (role != "assistant" or item.get("refusal") is None):
            raise invalid(f"Field '{where}.content' is required.")
        text, parts = _parts(item.get("content") or "", f"{where}.content")
        if role in _SYSTEM_ROLES:
            if messages:
                messages.append(Message("system", text))
                origin.append(i)
            else:
                system_parts.append(text)
            continue
        if calls:
            before = parts or ((TextPart(text),) if text else ())
            for k in range(len(calls)):
                places[(len(messages), len(before) + k)] = f"{where}.tool_calls[{k}]"
            parts = (*before, *calls)
        messages.append(Message("user" if role == "user" else "assistant", text, parts))
        origin.append(i)
    if not messages:
        raise invalid("Field 'messages' needs at least one user or assistant message.")
    return ("\n\n".join(system_parts) if system_parts else None), tuple(messages), places


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
        if tool.get("type") == "custom":  # free-text input, with an optional grammar
            custom = fields.get_object(tool, "custom")
            if custom is None:
                raise invalid(f"Field '{where}.custom' is required.")
            tools.append(
                ToolSpec(
                    name=fields.get_text(custom, "name", required=True, where=f"{where}.custom")
                    or "",
                    description=fields.get_text(custom, "description") or "",
                    kind="custom",
                    grammar=fields.get_object(custom, "format"),
                )
            )
            continue
        if tool.get("type") != "function":
            hosted.append((i, str(tool.get("type"))[:60]))
            continue
        function = fields.get_object(tool, "function")
        if function is None:
            raise invalid(f"Field '{where}.function' is required.")
        parameters = function.get("parameters", {"type": "object", "properties": {}})
        if not isinstance(parameters, dict):
            raise invalid(f"Field '{where}.function.parameters' must be a JSON schema object.")
        strict = function.get("strict")
        tools.append(
            ToolSpec(
                name=fields.get_text(function, "name", required=True, where=f"{where}.function")
                or "",
                description=fields.get_text(function, "description") or "",
                parameters=parameters,
                strict=strict if isinstance(strict, bool) else None,
            )
        )
    check_tools(tools)
    return tuple(tools), hosted


def tool_choice(
    data: dict[str, Any],
    tools: tuple[ToolSpec, ...],
    named: Callable[[dict[str, Any]], tuple[str, str] | None],
    expected: str | None,
) -> ToolChoice | None:
    """``tool_choice`` and ``parallel_tool_calls`` of Chat and Responses. ``named``
    gives (name, its field) of an object naming one tool, else None; an object that
    names none is refused with ``expected``, or (None) left to the backend."""
    value = data.get("tool_choice")
    parallel = data.get("parallel_tool_calls")
    if parallel is not None and not isinstance(parallel, bool):
        raise invalid("Field 'parallel_tool_calls' must be a boolean.")
    if value is None:
        return ToolChoice(parallel=parallel) if parallel is not None else None
    if value in ("auto", "none", "required"):
        return ToolChoice(mode=value, parallel=parallel)
    if isinstance(value, dict):
        found = named(value)
        if found is not None:
            name, where = found
            if name not in {t.name for t in tools}:
                raise invalid(f"Field '{where}': no tool {name[:60]!r} is declared in 'tools'.")
            return ToolChoice(mode="tool", name=name, parallel=parallel)
        if expected is None:  # a hosted tool or allowed_tools: the backend decides
            return ToolChoice(parallel=parallel)
    raise invalid(
        f"Field 'tool_choice' must be 'auto', 'none', 'required' or {expected or 'a tool object'}."
    )


def _chat_named(value: dict[str, Any]) -> tuple[str, str] | None:
    if value.get("type") != "function":
        return None
    where = "tool_choice.function"
    name = fields.get_text(value.get("function") or {}, "name", required=True, where=where)
    return name or "", f"{where}.name"


def output_format(kind: object, spec: dict[str, Any] | None, where: str) -> dict[str, Any] | None:
    """A JSON output format (``json_object`` or ``json_schema`` with ``spec`` holding
    name, schema, strict), shared by Chat's ``response_format`` and Responses'
    ``text.format``; None for plain text."""
    if kind in (None, "text"):
        return None
    if kind == "json_object":
        return {"name": "json", "schema": {"type": "object"}, "strict": False}
    if kind == "json_schema":
        schema = (spec or {}).get("schema", {})
        if spec is None or not isinstance(schema, dict):
            raise invalid(f"Field '{where}.schema' must be a JSON schema object.")
        return {
            "name": str(spec.get("name", "output")),
            "schema": schema,
            "strict": bool(spec.get("strict", False)),
        }
    raise invalid(f"Field '{where}.type' must be 'text', 'json_object' or 'json_schema'.")


def _response_format(data: dict[str, Any]) -> dict[str, Any] | None:
    value = fields.get_object(data, "response_format") or {}
    spec = fields.get_object(value, "json_schema")
    kind = value.get("type", "text" if not value else None)
    if kind == "json_schema":
        return output_format(kind, spec, "response_format.json_schema")
    return output_format(kind, spec, "response_format")


def parse_request(data: dict[str, Any]) -> ParsedCall:
    """A validated Chat Completions body as a neutral call; raises 400 ``ApiError``."""
    fields.refuse_present(data, _REFUSED, "use 'tools'; audio is not served")
    model = fields.get_text(data, "model", required=True) or ""
    if not model:
        raise invalid("Field 'model' must not be empty.")
    system, messages, places = _messages(data)
    tools, hosted = _tools(data)

    check_tool_flow(messages, lambda i, j: places.get((i, j), f"messages ({i})"), tools)
    max_tokens = fields.get_int(data, "max_completion_tokens", low=1, high=fields.MAX_TOKENS_CAP)
    if max_tokens is None:
        max_tokens = fields.get_int(data, "max_tokens", low=1, high=fields.MAX_TOKENS_CAP)
    n = fields.get_int(data, "n", low=1, high=128) or 1
    untranslatable = []
    if fields.get_bool(data, "logprobs"):
        untranslatable.append("logprobs")
    effort = fields.get_text(data, "reasoning_effort")
    if effort is not None and effort not in EFFORTS:
        raise invalid(f"Field 'reasoning_effort' must be one of {', '.join(EFFORTS)}.")
    stream = fields.get_bool(data, "stream")
    options = fields.get_object(data, "stream_options")
    if options is not None and not stream:
        raise invalid("Field 'stream_options' is only allowed when 'stream' is true.")
    if stream and n > 1:
        untranslatable.append("n")
    include_usage = fields.get_bool(options or {}, "include_usage")
    request = GenerateRequest(
        messages=messages,
        system=system,
        max_tokens=max_tokens or DEFAULT_MAX_TOKENS,
        temperature=fields.get_number(data, "temperature", low=0.0, high=2.0),
        top_p=fields.get_number(data, "top_p", low=0.0, high=1.0, low_open=True),
        stop=fields.get_stops(data, "stop", allow_string=True),
        seed=fields.get_int(data, "seed", low=-(2**63), high=2**63 - 1),
        n=n,
        tools=tools,
        tool_choice=tool_choice(
            data, tools, _chat_named, '{"type": "function", "function": {"name": ...}}'
        ),
        reasoning=ReasoningConfig(effort=effort) if effort else None,
        response_format=_response_format(data),
    )
    return ParsedCall(
        model,
        request,
        stream=stream,
        include_usage=include_usage,
        raw=data,
        untranslatable=tuple(untranslatable),
        hosted_tools=tuple(hosted),
        places=places,
    )
