"""Checks every API's conversation must pass, once it is in neutral form. Pure.

A tool result must answer a call made in the assistant turn just before it; a call id
is used once; a tool result has a size bound; a declared tool has a name the APIs
accept and a schema that is a JSON object schema. Each failure is a 400 naming the
field in the client's own terms (``where`` maps a message index to its field name).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from benchwarden.api.errors import invalid
from benchwarden.models.content import ToolCall, ToolResult, ToolSpec
from benchwarden.models.types import Message

# A tool result is text the client read from a file or a command: bounded so one
# runaway `cat` cannot fill a model's context or the gateway's memory.
MAX_TOOL_RESULT_BYTES = 4_000_000
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_.:-]{1,128}$")


def check_tools(tools: Sequence[ToolSpec], where: str = "tools") -> None:
    seen: set[str] = set()
    for i, tool in enumerate(tools):
        if not TOOL_NAME.match(tool.name):
            raise invalid(
                f"Field '{where}[{i}].name' must be 1-128 letters, digits, '_', '-', '.' "
                f"or ':', got {tool.name[:60]!r}."
            )
        if tool.name in seen:
            raise invalid(f"Field '{where}[{i}].name': the tool {tool.name!r} is declared twice.")
        seen.add(tool.name)
        if tool.kind == "function":
            schema_type = tool.parameters.get("type", "object")
            if schema_type != "object":
                raise invalid(
                    f"Field '{where}[{i}]' schema must be a JSON schema of type 'object', "
                    f"got type {schema_type!r}."
                )
            properties = tool.parameters.get("properties")
            if properties is not None and not isinstance(properties, dict):
                raise invalid(f"Field '{where}[{i}]' schema 'properties' must be an object.")


def check_tool_flow(
    messages: Sequence[Message],
    where: Callable[[int, int], str],
    tools: Sequence[ToolSpec] = (),
) -> None:
    """Tool calls and results pair up: ids unique, each result after its call.
    ``where(message, part)`` is the field a neutral part came from."""
    seen: set[str] = set()
    open_calls: set[str] = set()
    for index, message in enumerate(messages):
        for number, part in enumerate(message.parts):
            spot = where(index, number)
            if isinstance(part, ToolCall):
                if message.role != "assistant":
                    raise invalid(f"Field '{spot}': only the assistant calls tools.")
                if not part.id:
                    raise invalid(f"Field '{spot}': a tool call needs an id.")
                if part.id in seen:
                    raise invalid(
                        f"Field '{spot}': the tool call id {part.id[:80]!r} is used "
                        "twice; every call needs its own id."
                    )
                seen.add(part.id)
                open_calls.add(part.id)
            elif isinstance(part, ToolResult):
                if part.call_id not in open_calls:
                    raise invalid(
                        f"Field '{spot}': the tool result for {part.call_id[:80]!r} "
                        "answers no tool call made before it; send the assistant turn "
                        "holding that call first."
                    )
                open_calls.discard(part.call_id)
                size = len(part.content.encode("utf-8"))
                if size > MAX_TOOL_RESULT_BYTES:
                    raise invalid(
                        f"Field '{spot}': a tool result of {size} bytes is larger "
                        f"than {MAX_TOOL_RESULT_BYTES}; cut the tool's output.",
                        "tool_result_too_large",
                    )
