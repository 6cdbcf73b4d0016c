"""Neutral requests as Anthropic Messages fields, under the API's rules. Pure.

- Content blocks: ``text``, ``image`` (base64 or url), ``tool_use`` (input = the parsed
  arguments), ``tool_result`` (first in their user turn, as the API requires),
  ``thinking``/``redacted_thinking``. Only Anthropic's own reasoning goes back: another
  provider's cannot be verified by Anthropic and is left out.
- Consecutive turns of one role are merged: the API wants user and assistant to alternate.
- Thinking: ``budget_tokens`` >= 1024 and below ``max_tokens`` (raised, when needed, to the
  budget plus the answer's own cap); with thinking, no ``temperature`` but 1, no
  ``top_p``, and no forced tool use (the forced call wins: thinking is left off); an
  earlier tool-calling turn without its thinking block (another provider's) leaves it off.
"""

from __future__ import annotations

import json
from typing import Any

from benchwarden.models import custom_tools
from benchwarden.models.config import MIN_THINKING_BUDGET
from benchwarden.models.content import (
    ImagePart,
    Part,
    Reasoning,
    TextPart,
    ToolCall,
    ToolChoice,
    ToolResult,
    ToolSpec,
)
from benchwarden.models.errors import BadRequest
from benchwarden.models.types import GenerateRequest, Message

PROVIDER = "anthropic"


def image_block(image: ImagePart) -> dict[str, Any]:
    url = image.url
    if url is not None and url.startswith("data:") and ";base64," in url:
        head, _, data = url.partition(";base64,")
        return _base64(head.removeprefix("data:") or "image/png", data)
    if url is not None:
        return {"type": "image", "source": {"type": "url", "url": url}}
    return _base64(image.media_type or "image/png", image.data or "")


def _base64(media_type: str, data: str) -> dict[str, Any]:
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}


def tool_input(model: str, call: ToolCall) -> dict[str, Any]:
    if call.kind == "custom":
        return custom_tools.wrap(call.arguments)
    try:
        value = call.parsed()
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise BadRequest(
            model,
            f"the arguments of tool call {call.id!r} ({call.name}) are not a JSON object",
            hint="Anthropic's tool_use input must be an object: fix or drop that call.",
        )
    return value


def result_block(result: ToolResult) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": result.call_id}
    if result.images:
        inner: list[dict[str, Any]] = [{"type": "text", "text": result.content}]
        inner = inner if result.content else []
        block["content"] = inner + [image_block(i) for i in result.images]
    else:
        block["content"] = result.content
    if result.is_error:
        block["is_error"] = True
    return block


def reasoning_block(reasoning: Reasoning) -> dict[str, Any] | None:
    if reasoning.provider != PROVIDER:
        return None
    if reasoning.signature is not None:
        return {"type": "thinking", "thinking": reasoning.text, "signature": reasoning.signature}
    if reasoning.encrypted is not None:
        return {"type": "redacted_thinking", "data": reasoning.encrypted}
    return None  # thinking without its signature is refused by the API


def blocks(model: str, parts: tuple[Part, ...]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    rest: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, TextPart):
            if part.text:  # the API refuses empty text blocks
                rest.append({"type": "text", "text": part.text})
        elif isinstance(part, ImagePart):
            rest.append(image_block(part))
        elif isinstance(part, ToolCall):
            rest.append(
                {
                    "type": "tool_use",
                    "id": part.id,
                    "name": part.name,
                    "input": tool_input(model, part),
                }
            )
        elif isinstance(part, ToolResult):
            results.append(result_block(part))
        else:
            block = reasoning_block(part)
            if block is not None:
                rest.append(block)
    return results + rest


def _as_blocks(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(content, list):
        return content
    return [{"type": "text", "text": content}] if content else []


def messages(model: str, request: GenerateRequest) -> list[dict[str, Any]]:
    turns: list[tuple[str, str | list[dict[str, Any]]]] = []
    for message in request.messages:
        if message.role == "system":
            continue
        body: str | list[dict[str, Any]] = (
            blocks(model, message.parts) if message.parts else message.content
        )
        turns.append((message.role, body))
    if request.prompt is not None and not turns:
        turns.append(("user", request.prompt))
    merged: list[dict[str, Any]] = []
    for role, body in turns:
        if merged and merged[-1]["role"] == role:
            previous = _as_blocks(merged[-1]["content"])
            incoming = _as_blocks(body)
            if role == "user":  # tool results first, in order, as the API requires
                both = previous + incoming
                firsts = [b for b in both if b.get("type") == "tool_result"]
                others = [b for b in both if b.get("type") != "tool_result"]
                merged[-1]["content"] = firsts + others
            else:
                merged[-1]["content"] = previous + incoming
        else:
            merged.append({"role": role, "content": body})
    return merged


def system_text(request: GenerateRequest) -> str | None:
    parts = [request.system] if request.system else []
    parts += [_text(m) for m in request.messages if m.role == "system"]
    return "\n\n".join(p for p in parts if p) or None


def _text(message: Message) -> str:
    if not message.parts:
        return message.content
    return "".join(p.text for p in message.parts if isinstance(p, TextPart))


def tools(specs: tuple[ToolSpec, ...]) -> list[dict[str, Any]]:
    rendered = []
    for tool in specs:
        if tool.kind == "custom":
            description = custom_tools.describe(tool)
            schema = custom_tools.input_schema()
        else:
            description = tool.description
            schema = tool.parameters or {"type": "object", "properties": {}}
        entry: dict[str, Any] = {"name": tool.name, "input_schema": schema}
        if description:
            entry["description"] = description
        rendered.append(entry)
    return rendered


def tool_choice(choice: ToolChoice) -> dict[str, Any]:
    rendered: dict[str, Any]
    if choice.mode == "tool" and choice.name:
        rendered = {"type": "tool", "name": choice.name}
    elif choice.mode in ("required", "tool"):
        rendered = {"type": "any"}
    else:
        rendered = {"type": choice.mode}
    if choice.parallel is False and choice.mode != "none":
        rendered["disable_parallel_tool_use"] = True
    return rendered


def forces_tool_use(choice: ToolChoice | None) -> bool:
    return choice is not None and choice.mode in ("required", "tool")


def thinking_allowed(payload: dict[str, Any]) -> bool:
    """With thinking on, an assistant turn that called tools must open with its thinking
    block (the API refuses it otherwise): a turn from another provider has none."""
    assistant = [m for m in payload["messages"] if m["role"] == "assistant"]
    if not assistant or not isinstance(assistant[-1]["content"], list):
        return True
    content = assistant[-1]["content"]
    if not any(b.get("type") == "tool_use" for b in content):
        return True
    return content[0].get("type") in ("thinking", "redacted_thinking")


def apply_thinking(payload: dict[str, Any], budget: int | None) -> bool:
    """Enable thinking in ``payload`` under the API's rules; False if it cannot be."""
    if budget is None or budget <= 0 or not thinking_allowed(payload):
        return False
    budget = max(budget, MIN_THINKING_BUDGET)
    if payload["max_tokens"] <= budget:
        payload["max_tokens"] = budget + payload["max_tokens"]
    payload["thinking"] = {"type": "enabled", "budget_tokens": budget}
    if payload.get("temperature") not in (None, 1, 1.0):
        del payload["temperature"]
    payload.pop("top_p", None)
    payload.pop("top_k", None)
    return True


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
