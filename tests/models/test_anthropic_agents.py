"""Anthropic Messages transport with agents' content: tool_use/tool_result blocks,
images, thinking under the API's rules, signatures round trip, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from benchwarden.models.content import (
    ImagePart,
    Reasoning,
    ReasoningConfig,
    TextPart,
    ToolCall,
    ToolChoice,
    ToolResult,
    ToolSpec,
)
from benchwarden.models.errors import BadRequest
from benchwarden.models.types import FinishReason, GenerateRequest, Message
from tests.models.helpers import assemble, client_for, collect
from tests.models.scripted_server import Reply, ScriptedServer
from tests.models.strict_upstream import strict_responder

WRITE = ToolSpec(
    "Write",
    "Write a file.",
    {"type": "object", "properties": {"path": {"type": "string"}, "text": {"type": "string"}}},
)
PATCH = ToolSpec(
    "apply_patch",
    "Edit files.",
    kind="custom",
    grammar={"type": "grammar", "syntax": "lark", "definition": "start: /.+/"},
)
CUSTOM_SCHEMA = {
    "type": "object",
    "properties": {"input": {"type": "string", "description": "The tool's input text."}},
    "required": ["input"],
}


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as s:
        yield s


def message(*content: dict[str, Any], stop: str = "end_turn", **usage: int) -> Reply:
    return Reply(
        body={
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-x",
            "content": list(content),
            "stop_reason": stop,
            "usage": {"input_tokens": 10, "output_tokens": 5, **usage},
        }
    )


async def test_render_blocks_merge_turns_and_tools(server: ScriptedServer) -> None:
    server.script(message({"type": "text", "text": "ok"}))
    client = client_for(server, "anthropic", "claude-x")
    request = GenerateRequest(
        system="be brief",
        messages=(
            Message("system", "and exact"),
            Message(
                "user",
                "",
                parts=(
                    TextPart("See "),
                    ImagePart(url="data:image/jpeg;base64,/9j/4A"),
                    ImagePart(url="https://example.org/a.png"),
                ),
            ),
            Message("user", "and answer."),
            Message(
                "assistant",
                "",
                parts=(
                    Reasoning(text="plan", signature="sig-A", provider="anthropic"),
                    Reasoning(encrypted="opaque", provider="anthropic"),
                    Reasoning(text="other", encrypted="enc", provider="openai"),
                    TextPart("Writing."),
                    ToolCall("toolu_1", "Write", '{"path": "a", "text": "b"}'),
                    ToolCall("toolu_2", "apply_patch", "*** Begin Patch", kind="custom"),
                ),
            ),
            Message(
                "user",
                "",
                parts=(
                    TextPart("Results:"),
                    ToolResult("toolu_1", "written"),
                    ToolResult("toolu_2", "bad patch", is_error=True),
                ),
            ),
        ),
        tools=(WRITE, PATCH),
        tool_choice=ToolChoice("auto", parallel=False),
        stop=("END",),
    )
    await client.generate(request)
    await client.aclose()
    body = server.bodies[0]
    assert body["system"] == "be brief\n\nand exact"
    assert body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "See "},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4A"},
                },
                {"type": "image", "source": {"type": "url", "url": "https://example.org/a.png"}},
                {"type": "text", "text": "and answer."},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "plan", "signature": "sig-A"},
                {"type": "redacted_thinking", "data": "opaque"},
                {"type": "text", "text": "Writing."},
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "Write",
                    "input": {"path": "a", "text": "b"},
                },
                {
                    "type": "tool_use",
                    "id": "toolu_2",
                    "name": "apply_patch",
                    "input": {"input": "*** Begin Patch"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "written"},
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_2",
                    "content": "bad patch",
                    "is_error": True,
                },
                {"type": "text", "text": "Results:"},
            ],
        },
    ]
    assert body["tools"][0] == {
        "name": "Write",
        "description": "Write a file.",
        "input_schema": WRITE.parameters,
    }
    assert body["tools"][1]["input_schema"] == CUSTOM_SCHEMA
    assert "start: /.+/" in body["tools"][1]["description"]
    assert body["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    assert body["stop_sequences"] == ["END"] and "thinking" not in body


@pytest.mark.parametrize(
    ("reasoning", "spec", "max_tokens", "budget", "sent_max"),
    [
        (ReasoningConfig(budget_tokens=31999), {}, 32000, 31999, 32000),  # Claude Code's
        (ReasoningConfig(effort="medium"), {}, 1000, 4096, 5096),  # raised above the budget
        (ReasoningConfig(budget_tokens=100), {}, 2000, 1024, 2000),  # the API's minimum
        (None, {"thinking_budget": 2048}, 24, 2048, 2072),  # configured
        (None, {"reasoning_effort": "high"}, 20000, 16384, 20000),
        (ReasoningConfig(effort="none"), {"thinking_budget": 2048}, 50, None, 50),  # off
    ],
)
async def test_thinking_follows_the_api_rules(
    server: ScriptedServer,
    reasoning: ReasoningConfig | None,
    spec: dict[str, Any],
    max_tokens: int,
    budget: int | None,
    sent_max: int,
) -> None:
    server.responder = strict_responder
    client = client_for(server, "anthropic", "claude-sonnet-4-5", **spec)
    request = GenerateRequest.from_prompt(
        "capital of France?",
        max_tokens=max_tokens,
        temperature=0.2,
        top_p=0.5,
        reasoning=reasoning,
    )
    result = await client.generate(request)
    await client.aclose()
    assert result.text == "Paris" and len(server.requests) == 1
    body = server.bodies[0]
    assert body["max_tokens"] == sent_max
    if budget is None:
        assert "thinking" not in body and body["temperature"] == 0.2
    else:
        assert body["thinking"] == {"type": "enabled", "budget_tokens": budget}
        assert "temperature" not in body and "top_p" not in body
        assert result.choices[0].reasoning[0].signature == "sig-1"


async def test_forced_tool_use_leaves_thinking_off(server: ScriptedServer) -> None:
    server.responder = strict_responder
    client = client_for(server, "anthropic", "claude-x", thinking_budget=4096)
    request = GenerateRequest.from_prompt(
        "hot?", tools=(WRITE,), tool_choice=ToolChoice("tool", "Write")
    )
    await client.generate(request)
    await client.aclose()
    body = server.bodies[0]
    assert body["tool_choice"] == {"type": "tool", "name": "Write"} and "thinking" not in body


async def test_tool_use_thinking_and_cache_usage_parse_back(server: ScriptedServer) -> None:
    server.script(
        message(
            {"type": "thinking", "thinking": "I will write.", "signature": "sig-B"},
            {"type": "redacted_thinking", "data": "secret"},
            {"type": "text", "text": "Writing both."},
            {"type": "tool_use", "id": "toolu_a", "name": "Write", "input": {"path": "x"}},
            {"type": "tool_use", "id": "toolu_b", "name": "apply_patch", "input": {"input": "P"}},
            stop="tool_use",
            cache_read_input_tokens=100,
            cache_creation_input_tokens=20,
        )
    )
    client = client_for(server, "anthropic", "claude-x")
    result = await client.generate(GenerateRequest.from_prompt("go", tools=(WRITE, PATCH)))
    await client.aclose()
    assert result.finish_reason is FinishReason.TOOL_CALLS and result.text == "Writing both."
    assert result.tool_calls == (
        ToolCall("toolu_a", "Write", '{"path":"x"}'),
        ToolCall("toolu_b", "apply_patch", "P", kind="custom"),
    )
    assert result.choices[0].reasoning == (
        Reasoning(text="I will write.", signature="sig-B", provider="anthropic"),
        Reasoning(encrypted="secret", provider="anthropic"),
    )
    usage = result.usage
    assert (usage.input_tokens, usage.cached_input_tokens, usage.cache_write_tokens) == (
        130,
        100,
        20,
    )


def event(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, **fields}


def block_delta(index: int, **delta: Any) -> dict[str, Any]:
    return event("content_block_delta", index=index, delta=delta)


async def test_streamed_thinking_and_parallel_tool_calls(server: ScriptedServer) -> None:
    start = {"id": "msg_1", "type": "message", "role": "assistant", "content": []}
    server.script(
        Reply.typed(
            event(
                "message_start",
                message={**start, "usage": {"input_tokens": 5, "cache_read_input_tokens": 40}},
            ),
            event(
                "content_block_start", index=0, content_block={"type": "thinking", "thinking": ""}
            ),
            block_delta(0, type="thinking_delta", thinking="Two "),
            block_delta(0, type="thinking_delta", thinking="files."),
            block_delta(0, type="signature_delta", signature="sig-C"),
            event("content_block_stop", index=0),
            event("content_block_start", index=1, content_block={"type": "text", "text": ""}),
            block_delta(1, type="text_delta", text="On it."),
            event("content_block_stop", index=1),
            event(
                "content_block_start",
                index=2,
                content_block={"type": "tool_use", "id": "toolu_a", "name": "Write", "input": {}},
            ),
            block_delta(2, type="input_json_delta", partial_json='{"path":'),
            block_delta(2, type="input_json_delta", partial_json=' "a"}'),
            event("content_block_stop", index=2),
            event(
                "content_block_start",
                index=3,
                content_block={"type": "tool_use", "id": "toolu_b", "name": "apply_patch"},
            ),
            block_delta(3, type="input_json_delta", partial_json='{"input": "*** '),
            block_delta(3, type="input_json_delta", partial_json='P"}'),
            event("content_block_stop", index=3),
            event("message_delta", delta={"stop_reason": "tool_use"}, usage={"output_tokens": 30}),
            event("message_stop"),
        )
    )
    client = client_for(server, "anthropic", "claude-x")
    got = assemble(
        await collect(client.stream(GenerateRequest.from_prompt("go", tools=(WRITE, PATCH))))
    )
    await client.aclose()
    assert got.text == "On it."
    assert got.reasoning == [Reasoning(text="Two files.", signature="sig-C", provider="anthropic")]
    assert got.tool_calls() == [
        ToolCall("toolu_a", "Write", '{"path": "a"}'),
        ToolCall("toolu_b", "apply_patch", "*** P", kind="custom"),
    ]
    assert got.finish is FinishReason.TOOL_CALLS
    assert got.usage is not None
    assert (got.usage.input_tokens, got.usage.cached_input_tokens, got.usage.output_tokens) == (
        45,
        40,
        30,
    )
    assert server.bodies[0]["stream"] is True


async def test_thinking_signature_round_trip_through_a_tool_loop(server: ScriptedServer) -> None:
    server.script(
        message(
            {"type": "thinking", "thinking": "Write it.", "signature": "sig-D"},
            {"type": "tool_use", "id": "toolu_1", "name": "Write", "input": {"path": "a"}},
            stop="tool_use",
        ),
        message({"type": "text", "text": "Done."}),
    )
    client = client_for(server, "anthropic", "claude-x", thinking_budget=2048)
    ask = Message("user", "write a")
    first = await client.generate(GenerateRequest(messages=(ask,), max_tokens=4096, tools=(WRITE,)))
    turn = first.choices[0]
    follow_up = GenerateRequest(
        messages=(
            ask,
            Message("assistant", "", parts=(*turn.reasoning, *turn.tool_calls)),
            Message("user", "", parts=(ToolResult("toolu_1", "ok"),)),
        ),
        max_tokens=4096,
        tools=(WRITE,),
    )
    second = await client.generate(follow_up)
    # The same turn from another provider has no signature: thinking must stay off.
    foreign = GenerateRequest(
        messages=(
            ask,
            Message("assistant", "", parts=(ToolCall("call_9", "Write", '{"path":"a"}'),)),
            Message("user", "", parts=(ToolResult("call_9", "ok"),)),
        ),
        max_tokens=4096,
        tools=(WRITE,),
    )
    server.script(message({"type": "text", "text": "Done."}))
    await client.generate(foreign)
    await client.aclose()
    assert second.text == "Done."
    sent = server.bodies[1]
    assert sent["messages"][1]["content"] == [
        {"type": "thinking", "thinking": "Write it.", "signature": "sig-D"},
        {"type": "tool_use", "id": "toolu_1", "name": "Write", "input": {"path": "a"}},
    ]
    assert sent["messages"][2]["content"][0]["tool_use_id"] == "toolu_1"
    assert sent["thinking"]["budget_tokens"] == 2048
    assert "thinking" not in server.bodies[2]


async def test_arguments_that_are_not_an_object_are_a_clear_error(server: ScriptedServer) -> None:
    client = client_for(server, "anthropic", "claude-x")
    bad = GenerateRequest(
        messages=(
            Message("user", "x"),
            Message("assistant", "", parts=(ToolCall("t1", "Write", "[1, 2"),)),
            Message("user", "", parts=(ToolResult("t1", "?"),)),
        )
    )
    with pytest.raises(BadRequest, match="t1"):
        await client.generate(bad)
    await client.aclose()
    assert server.requests == []
