"""The demo's agent step: through warden, an embedded model calls a declared tool,
the demo runs the tool and sends its result back, and the model answers.

The tool is harmless and local (it counts the words of a text), so the step needs no
sandbox; what it shows is the round trip of tool use under a grant's terms: the call
comes back valid for the tool's schema (the embedded model decodes under a grammar),
and warden's audit names the tool declared and called, never its arguments.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from benchwarden.models.config import ModelSpec
from benchwarden.models.content import TextPart, ToolChoice, ToolResult, ToolSpec
from benchwarden.models.factory import open_client
from benchwarden.models.types import GenerateRequest, Message

WORD_COUNT = ToolSpec(
    name="count_words",
    description="Count the words in a text.",
    parameters={
        "type": "object",
        "properties": {"text": {"type": "string", "description": "The text to count."}},
        "required": ["text"],
    },
)
TASK = "How many words are in the sentence 'the quick brown fox jumps'? Use the tool."


@dataclass(frozen=True, slots=True)
class AgentTurn:
    tool: str
    arguments: str
    result: str
    answer: str


def count_words(arguments: str) -> str:
    """The tool itself: never trusts the model's JSON."""
    try:
        value = json.loads(arguments)
    except ValueError:
        return "error: the arguments are not JSON"
    text = value.get("text") if isinstance(value, dict) else None
    if not isinstance(text, str):
        return "error: 'text' must be a string"
    return str(len(text.split()))


def agent_turn(spec: ModelSpec, purpose: str) -> AgentTurn:
    """Ask, run the tool the model called, send the result, take the answer."""

    async def run() -> AgentTurn:
        client = open_client(spec, use_cache=False)
        try:
            ask = GenerateRequest(
                messages=(Message("user", TASK),),
                tools=(WORD_COUNT,),
                tool_choice=ToolChoice(mode="required"),
                max_tokens=64,
                temperature=0.0,
                purpose=purpose,
            )
            first = await client.generate(ask)
            if not first.tool_calls:
                raise RuntimeError(f"the model answered without calling the tool: {first.text!r}")
            call = first.tool_calls[0]
            result = count_words(call.arguments)
            follow = GenerateRequest(
                messages=(
                    *ask.messages,
                    Message("assistant", "", (call,)),
                    Message("user", "", (ToolResult(call.id, result), TextPart("Answer now."))),
                ),
                tools=(WORD_COUNT,),
                tool_choice=ToolChoice(mode="none"),
                max_tokens=32,
                temperature=0.0,
                purpose=purpose,
            )
            second = await client.generate(follow)
            return AgentTurn(call.name, call.arguments, result, second.text.strip())
        finally:
            await client.aclose()

    return asyncio.run(run())
