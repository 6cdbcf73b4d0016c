"""Chat Completions transport with agents' content: images, tools, tool results,
reasoning, structured output and reasoning models' parameters, over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator

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
from tests.models.strict_upstream import strict_responder, unsupported

SHELL = ToolSpec(
    "shell",
    "Run a command.",
    {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]},
    strict=True,
)
PATCH = ToolSpec(
    "apply_patch",
    "Edit files.",
    kind="custom",
    grammar={"type": "grammar", "syntax": "lark", "definition": "start: /.+/"},
)
CONVERSATION = (
    Message(
        "user",
        "",
        parts=(TextPart("What is in "), ImagePart("image/png", data="iVBORw0"), TextPart("?")),
    ),
    Message(
        "assistant",
        "",
        parts=(
            Reasoning(text="thinking", signature="sig", provider="anthropic"),
            TextPart("Let me look."),
            ToolCall("call_1", "shell", '{"cmd":"ls"}'),
            ToolCall("call_2", "apply_patch", "*** Begin Patch", kind="custom"),
        ),
    ),
    Message(
        "user",
        "",
        parts=(
            ToolResult("call_1", "a.txt"),
            ToolResult("call_2", "no such file", is_error=True),
            TextPart("Go on."),
        ),
    ),
)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as s:
        yield s


def answer(message: dict[str, object], finish: str = "stop", **usage: object) -> Reply:
    return Reply(
        body={
            "id": "c1",
            "model": "m",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, **usage},
        }
    )


async def test_render_images_tool_calls_results_tools_and_format(server: ScriptedServer) -> None:
    server.script(answer({"role": "assistant", "content": "ok"}))
    client = client_for(server, "openai", "gpt-4.1")
    request = GenerateRequest(
        messages=CONVERSATION,
        system="be brief",
        tools=(SHELL, PATCH),
        tool_choice=ToolChoice("tool", "shell", parallel=False),
        response_format={"name": "out", "schema": {"type": "object"}, "strict": True},
    )
    await client.generate(request)
    await client.aclose()
    body = server.bodies[0]
    assert body["messages"] == [
        {"role": "system", "content": "be brief"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in "},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0"}},
                {"type": "text", "text": "?"},
            ],
        },
        {
            "role": "assistant",
            "content": "Let me look.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "shell", "arguments": '{"cmd":"ls"}'},
                },
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {
                        "name": "apply_patch",
                        "arguments": json.dumps({"input": "*** Begin Patch"}),
                    },
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "a.txt"},
        {"role": "tool", "tool_call_id": "call_2", "content": "Error: no such file"},
        {"role": "user", "content": "Go on."},
    ]
    shell, patch = body["tools"]
    assert shell == {
        "type": "function",
        "function": {
            "name": "shell",
            "description": "Run a command.",
            "parameters": SHELL.parameters,
            "strict": True,
        },
    }
    assert patch["function"]["parameters"]["properties"]["input"]["type"] == "string"
    assert "start: /.+/" in patch["function"]["description"]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "shell"}}
    assert body["parallel_tool_calls"] is False
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "out", "schema": {"type": "object"}, "strict": True},
    }
    assert body["max_tokens"] == 256 and "reasoning_effort" not in body


async def test_parallel_tool_calls_reasoning_and_usage_parse_back(server: ScriptedServer) -> None:
    server.script(
        answer(
            {
                "role": "assistant",
                "content": None,
                "reasoning_content": "Two calls at once.",
                "tool_calls": [
                    {
                        "id": "call_a",
                        "type": "function",
                        "function": {"name": "shell", "arguments": '{"cmd": "ls"}'},
                    },
                    {
                        "id": "call_b",
                        "type": "function",
                        "function": {"name": "apply_patch", "arguments": '{"input": "*** P"}'},
                    },
                ],
            },
            "tool_calls",
            prompt_tokens_details={"cached_tokens": 6},
            completion_tokens_details={"reasoning_tokens": 3},
        )
    )
    client = client_for(server, "openai", "qwen3")
    result = await client.generate(GenerateRequest.from_prompt("go", tools=(SHELL, PATCH)))
    await client.aclose()
    assert result.finish_reason is FinishReason.TOOL_CALLS and result.text == ""
    assert result.tool_calls == (
        ToolCall("call_a", "shell", '{"cmd": "ls"}'),
        ToolCall("call_b", "apply_patch", "*** P", kind="custom"),
    )
    assert result.choices[0].reasoning == (Reasoning(text="Two calls at once."),)
    usage = result.usage
    assert (usage.input_tokens, usage.cached_input_tokens, usage.reasoning_tokens) == (10, 6, 3)


def chunk(delta: dict[str, object], finish: str | None = None) -> dict[str, object]:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


async def test_streamed_parallel_tool_calls_and_reasoning(server: ScriptedServer) -> None:
    def call(index: int, **fields: object) -> dict[str, object]:
        return chunk({"tool_calls": [{"index": index, **fields}]})

    server.script(
        Reply.data(
            chunk({"role": "assistant", "reasoning_content": "Hmm, "}),
            chunk({"reasoning_content": "two files."}),
            chunk({"content": "Writing."}),
            call(0, id="call_a", type="function", function={"name": "shell", "arguments": ""}),
            call(0, function={"arguments": '{"cmd": '}),
            call(1, id="call_b", type="function", function={"name": "apply_patch"}),
            call(0, function={"arguments": '"ls"}'}),
            call(1, function={"arguments": '{"input": "*** '}),
            call(1, function={"arguments": 'Begin"}'}),
            chunk({}, "tool_calls"),
            {
                "choices": [],
                "usage": {
                    "prompt_tokens": 9,
                    "completion_tokens": 4,
                    "completion_tokens_details": {"reasoning_tokens": 2},
                },
            },
        )
    )
    client = client_for(server, "openai", "deepseek-r1")
    deltas = await collect(client.stream(GenerateRequest.from_prompt("go", tools=(SHELL, PATCH))))
    await client.aclose()
    got = assemble(deltas)
    assert got.text == "Writing." and got._thinking == "Hmm, two files."
    assert got.tool_calls() == [
        ToolCall("call_a", "shell", '{"cmd": "ls"}'),
        ToolCall("call_b", "apply_patch", "*** Begin", kind="custom"),
    ]
    assert got.finish is FinishReason.TOOL_CALLS
    assert got.usage is not None and got.usage.reasoning_tokens == 2
    assert server.bodies[0]["stream_options"] == {"include_usage": True}


async def test_reasoning_model_gets_its_parameters_by_name(server: ScriptedServer) -> None:
    server.responder = strict_responder
    client = client_for(server, "openai", "o3-mini")
    request = GenerateRequest.from_prompt(
        "What is the capital city of France?",
        max_tokens=40,
        temperature=0.2,
        top_p=0.9,
        reasoning=ReasoningConfig(effort="high"),
    )
    result = await client.generate(request)
    await client.aclose()
    assert result.text == "Paris" and result.usage.reasoning_tokens == 64
    body = server.bodies[0]
    assert body["max_completion_tokens"] == 40 and body["reasoning_effort"] == "high"
    assert not {"max_tokens", "temperature", "top_p"} & set(body)
    assert len(server.requests) == 1 and "param_adjustments" not in result.metadata


async def test_configured_effort_and_token_param(server: ScriptedServer) -> None:
    server.responder = strict_responder
    client = client_for(
        server,
        "openai",
        "lab-model",
        reasoning_effort="low",
        token_param="max_completion_tokens",
        unsupported_params=("temperature",),
    )
    await client.generate(GenerateRequest.from_prompt("hot?", temperature=0.5))
    await client.aclose()
    body = server.bodies[0]
    assert body["reasoning_effort"] == "low" and body["max_completion_tokens"] == 256
    assert "temperature" not in body


async def test_refused_parameters_are_learnt_once(server: ScriptedServer) -> None:
    server.responder = strict_responder
    client = client_for(server, "openai", "house-model")
    request = GenerateRequest.from_prompt("spider legs?", temperature=0.7, top_p=0.5)
    first = await client.generate(request)
    assert first.text == "8"
    assert first.metadata["param_adjustments"] == [
        "max_tokens -> max_completion_tokens",
        "temperature dropped",
        "top_p dropped",
    ]
    assert len(server.requests) == 4
    second = await client.generate(request)
    streamed = assemble(await collect(client.stream(request)))
    await client.aclose()
    assert "param_adjustments" not in second.metadata and len(server.requests) == 6
    assert streamed.text == "8" and streamed.finish is FinishReason.STOP


async def test_streaming_learns_before_the_first_byte(server: ScriptedServer) -> None:
    server.script(
        unsupported("max_tokens", "max_completion_tokens"),
        Reply.data(chunk({"content": "fine"}, "stop")),
    )
    client = client_for(server, "openai", "unknown-reasoner")
    got = assemble(await collect(client.stream(GenerateRequest.from_prompt("x"))))
    await client.aclose()
    assert got.text == "fine"
    assert "max_tokens" in server.bodies[0] and "max_completion_tokens" in server.bodies[1]


async def test_a_refusal_that_is_not_a_tuning_parameter_stays_an_error(
    server: ScriptedServer,
) -> None:
    server.script(unsupported("tools"))
    client = client_for(server, "openai", "old-model")
    with pytest.raises(BadRequest, match="tools"):
        await client.generate(GenerateRequest.from_prompt("x", tools=(SHELL,)))
    await client.aclose()
    assert len(server.requests) == 1
