"""Custom tools (free-text input, e.g. Codex's ``apply_patch``) on APIs that only know
JSON-schema tools (Chat Completions, Anthropic Messages). Pure.

Such a tool is declared as a function taking ``{"input": string}``, its grammar told in
the description; a call back is mapped to ``kind="custom"`` with the string as its
arguments, so the client sees the custom call it declared.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from benchwarden.models.content import ToolSpec

INPUT_KEY = "input"


def input_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {INPUT_KEY: {"type": "string", "description": "The tool's input text."}},
        "required": [INPUT_KEY],
    }


def describe(tool: ToolSpec) -> str:
    """The description, with the input format a custom tool's grammar requires."""
    grammar = tool.grammar or {}
    definition = grammar.get("definition")
    if not isinstance(definition, str) or not definition:
        return tool.description
    syntax = grammar.get("syntax", "grammar")
    note = f"The input must follow this {syntax} grammar:\n{definition}"
    return f"{tool.description}\n\n{note}" if tool.description else note


def custom_names(tools: Iterable[ToolSpec]) -> frozenset[str]:
    return frozenset(t.name for t in tools if t.kind == "custom")


def wrap(text: str) -> dict[str, str]:
    """A custom call's text as the JSON object the function form takes."""
    return {INPUT_KEY: text}


def wrap_json(text: str) -> str:
    return json.dumps(wrap(text), ensure_ascii=False)


def unwrap(arguments: Any) -> str:
    """The text back from the function form (a JSON string or a parsed object); what
    is not ``{"input": ...}`` is kept as it came."""
    value = arguments
    if isinstance(arguments, str):
        try:
            value = json.loads(arguments)
        except ValueError:
            return arguments
    if isinstance(value, dict) and isinstance(value.get(INPUT_KEY), str):
        return str(value[INPUT_KEY])
    return arguments if isinstance(arguments, str) else json.dumps(arguments)
