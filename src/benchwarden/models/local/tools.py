"""Tool use for the embedded models: the prompt, the grammar, and reading the call.

SmolLM2's and Gemma's chat templates know nothing of tools, so everything is text.
A system block lists the tools a call may name (name, description, JSON schema) and
how to call one: ``{"name": "<tool>", "arguments": {...}}``. Earlier calls appear in
the assistant's turns in that same form and tool results in the user's turns as
``Tool <name> returned: <content>``. Decoding runs under a grammar
(``tool_grammar``) for the branch ``tool_plan`` chose, so a call that comes back is
always one declared tool with arguments its schema allows; it is returned as a
``ToolCall`` with a fresh ``call_<hex>`` id and compact JSON arguments.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from benchwarden.models.content import (
    ImagePart,
    TextPart,
    ToolCall,
    ToolResult,
    ToolSpec,
)
from benchwarden.models.local.tool_grammar import (
    ANY_OBJECT,
    call_grammar,
    text_grammar,
    tool_rules,
)
from benchwarden.models.local.tool_plan import Branch, ToolPlan, brings_results
from benchwarden.models.types import GenerateRequest, Message

# A small model reads little: the first part of a long description is what it uses.
DESCRIPTION_CHARS = 400
CALL_FORM = '{"name": "<tool name>", "arguments": {...}}'


def needs_tools(request: GenerateRequest) -> bool:
    """Tools are declared, or the conversation holds tool calls or results."""
    return bool(request.tools) or _holds_tool_parts(request)


def _holds_tool_parts(request: GenerateRequest) -> bool:
    return any(isinstance(p, ToolCall | ToolResult) for m in request.messages for p in m.parts)


@dataclass(frozen=True, slots=True)
class ToolGrammar:
    """The grammar for a plan, built on the engine's thread where llama.cpp can check
    each tool's part (``accepts``)."""

    plan: ToolPlan

    def gbnf(self, accepts: Callable[[str], bool]) -> str:
        if self.plan.branch is Branch.TEXT:
            return text_grammar()
        rules = tool_rules(self.plan.tools, accepts)
        return call_grammar(rules, text=self.plan.branch is Branch.EITHER)


# ---- the prompt ---------------------------------------------------------------
def _describe(tool: ToolSpec) -> str:
    description = " ".join(tool.description.split())
    if len(description) > DESCRIPTION_CHARS:
        description = description[: DESCRIPTION_CHARS - 3].rstrip() + "..."
    head = f"- {tool.name}: {description}" if description else f"- {tool.name}"
    if tool.kind == "custom":
        return head + "\n  arguments: free text, written as one JSON string"
    schema = json.dumps(tool.parameters or ANY_OBJECT, separators=(",", ":"), ensure_ascii=False)
    return f"{head}\n  arguments (JSON schema): {schema}"


def tool_block(plan: ToolPlan) -> str:
    """What the system turn says about tools for this plan."""
    if plan.branch is Branch.TEXT:
        return (
            "Tool calls and their results appear in the conversation as text. Reply in plain text."
        )
    listing = "\n".join(_describe(t) for t in plan.tools)
    if plan.branch is Branch.CALL:
        which = f"the tool {plan.tools[0].name}" if len(plan.tools) == 1 else "one tool"
        how = f"Reply with only a JSON object that calls {which}: {CALL_FORM}"
    else:
        how = f"To use a tool, reply with only a JSON object: {CALL_FORM}\n"
        how += "Otherwise reply in plain text."
    return f"You can use these tools:\n{listing}\n\n{how}"


def render_call(call: ToolCall) -> str:
    """A call as the model writes one (and as the grammar allows)."""
    arguments: Any
    if call.kind == "custom":
        arguments = call.arguments
    else:
        try:
            arguments = call.parsed()
        except ValueError:
            arguments = call.arguments
    return json.dumps({"name": call.name, "arguments": arguments}, ensure_ascii=False)


def _call_names(messages: Sequence[Message]) -> dict[str, str]:
    return {p.id: p.name for m in messages for p in m.parts if isinstance(p, ToolCall)}


def _render_message(message: Message, names: dict[str, str]) -> str:
    if not message.parts:
        return message.content
    pieces: list[str] = []
    for part in message.parts:
        if isinstance(part, TextPart):
            pieces.append(part.text)
        elif isinstance(part, ImagePart):
            pieces.append("[image]")
        elif isinstance(part, ToolCall):
            pieces.append(render_call(part))
        elif isinstance(part, ToolResult):
            name = names.get(part.call_id, f"call {part.call_id}")
            verb = "failed" if part.is_error else "returned"
            pieces.append(f"Tool {name} {verb}: {part.content}")
        # Reasoning stays out: the small model neither writes nor reads it.
    return "\n".join(p for p in pieces if p)


def _turns(request: GenerateRequest, plan: ToolPlan) -> list[tuple[str, str]]:
    names = _call_names(request.messages)
    turns: list[tuple[str, str]] = [(m.role, _render_message(m, names)) for m in request.messages]
    if request.prompt is not None and not request.messages:
        turns.append(("user", request.prompt))
    last = request.messages[-1] if request.messages else None
    if plan.branch is Branch.TEXT and last is not None and brings_results(last):
        role, text = turns[-1]
        turns[-1] = (role, text + "\nNow answer the user's question with this result.")
    return turns


def _system(request: GenerateRequest, plan: ToolPlan) -> str | None:
    if plan.branch is Branch.TEXT and not _holds_tool_parts(request):
        return request.system
    block = tool_block(plan)
    return f"{request.system}\n\n{block}" if request.system else block


def render_chat(request: GenerateRequest, plan: ToolPlan) -> list[dict[str, str]]:
    """Chat messages for the model's own template, tools written in as text."""
    system = _system(request, plan)
    messages = [{"role": "system", "content": system}] if system else []
    messages.extend({"role": role, "content": text} for role, text in _turns(request, plan))
    return messages


def render_completion(request: GenerateRequest, plan: ToolPlan) -> str:
    """The same conversation as one text for a base model to continue."""
    system = _system(request, plan)
    if request.prompt is not None:
        return f"{system}\n\n{request.prompt}" if system else request.prompt
    lines = [system, ""] if system else []
    lines.extend(f"{role.capitalize()}: {text}" for role, text in _turns(request, plan))
    lines.append("Assistant:")
    return "\n".join(lines)


# ---- the answer ---------------------------------------------------------------
def new_call_id() -> str:
    return "call_" + secrets.token_hex(12)


def read_call(text: str, tools: Sequence[ToolSpec]) -> ToolCall | None:
    """The call in ``text`` (what the grammar let through), or None when ``text`` is
    prose or a call cut short (at ``max_tokens``)."""
    if not text.startswith("{"):
        return None
    try:
        # Not strict: the grammar keeps raw control characters out of strings, but a
        # call from an older grammar (or the cache) may still hold one.
        data = json.loads(text, strict=False)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    spec = next((t for t in tools if t.name == data.get("name")), None)
    if spec is None:
        return None
    arguments = data.get("arguments")
    if spec.kind == "custom":
        if not isinstance(arguments, str):
            return None
        return ToolCall(new_call_id(), spec.name, arguments, kind="custom")
    if not isinstance(arguments, dict):
        return None
    compact = json.dumps(arguments, separators=(",", ":"), ensure_ascii=False)
    return ToolCall(new_call_id(), spec.name, compact)


def cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """``text`` up to the first stop string, and whether one was found."""
    positions = [i for i in (text.find(s) for s in stops if s) if i >= 0]
    return (text[: min(positions)], True) if positions else (text, False)
