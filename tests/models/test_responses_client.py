"""The OpenAI Responses transport (``POST /responses``): input items, function and custom
tools, reasoning items with encrypted content, streaming events, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from benchwarden.models.config import parse_config
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
from benchwarden.models.errors import BadRequest, RateLimited
from benchwarden.models.factory import open_transport
from benchwarden.models.responses_client import ResponsesTransport
from benchwarden.models.types import FinishReason, GenerateRequest, Message
from tests.models.helpers import assemble, client_for, collect
from tests.models.scripted_server import Reply, ScriptedServer
from tests.models.strict_upstream import strict_responder

EXEC = ToolSpec(
    "exec_command",
    "Run a command.",
    {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]},
)
GRAMMAR = {"type": "grammar", "syntax": "lark", "definition": "start: begin_patch"}
PATCH = ToolSpec("apply_patch", "Edit files.", kind="custom", grammar=GRAMMAR)
USAGE = {
    "input_tokens": 50,
    "input_tokens_details": {"cached_tokens": 30},
    "output_tokens": 20,
    "output_tokens_details": {"reasoning_tokens": 12},
    "total_tokens": 70,
}


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as s:
        yield s


def response(*output: dict[str, Any], status: str = "completed", **extra: Any) -> Reply:
    body = {"id": "resp_1", "object": "response", "model": "gpt-5", "status": status}
    return Reply(body={**body, "output": list(output), "usage": USAGE, **extra})


def text_item(text: str) -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": []}]
    return {"type": "message", "id": "msg_1", "role": "assistant", "content": content}


def test_config_picks_the_responses_api() -> None:
    specs = parse_config(
        '[models.codex]\nprovider = "openai"\napi = "responses"\n'
        'base_url = "http://127.0.0.1:1/v1"\nmodel = "gpt-5-codex"\n'
    )
    transport = open_transport(specs["codex"])
    assert isinstance(transport, ResponsesTransport)


async def test_render_input_items_tools_and_reasoning(server: ScriptedServer) -> None:
    server.script(response(text_item("ok")))
    client = client_for(server, "openai", "gpt-5-codex", api="responses")
    request = GenerateRequest(
        system="You are Codex.",
        messages=(
            Message("system", "Work in /tmp."),
            Message("user", "", parts=(TextPart("Fix this"), ImagePart("image/png", data="AAA"))),
            Message(
                "assistant",
                "",
                parts=(
                    Reasoning(text="Plan.", encrypted="enc-1", provider="openai", id="rs_1"),
                    Reasoning(text="theirs", signature="sig", provider="anthropic"),
                    TextPart("Looking."),
                    ToolCall("call_1", "exec_command", '{"cmd":"ls"}'),
                    ToolCall("call_2", "apply_patch", "*** Begin Patch", kind="custom"),
                ),
            ),
            Message(
                "user",
                "",
                parts=(
                    ToolResult("call_1", "a.py"),
                    ToolResult("call_2", "Done!"),
                    TextPart("Next?"),
                ),
            ),
        ),
        max_tokens=4,
        temperature=0.5,
        stop=("X",),
        seed=3,
        tools=(EXEC, PATCH),
        tool_choice=ToolChoice("tool", "apply_patch", parallel=True),
        reasoning=ReasoningConfig(effort="medium", summary="auto"),
        response_format={"name": "r", "schema": {"type": "object"}},
    )
    await client.generate(request)
    await client.aclose()
    assert server.requests[0].path == "/v1/responses"
    body = server.bodies[0]
    assert body["instructions"] == "You are Codex."
    assert body["input"] == [
        {
            "type": "message",
            "role": "developer",
            "content": [{"type": "input_text", "text": "Work in /tmp."}],
        },
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "Fix this"},
                {"type": "input_image", "image_url": "data:image/png;base64,AAA", "detail": "auto"},
            ],
        },
        {
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": "Plan."}],
            "encrypted_content": "enc-1",
        },
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Looking."}],
        },
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "exec_command",
            "arguments": '{"cmd":"ls"}',
        },
        {
            "type": "custom_tool_call",
            "call_id": "call_2",
            "name": "apply_patch",
            "input": "*** Begin Patch",
        },
        {"type": "function_call_output", "call_id": "call_1", "output": "a.py"},
        {"type": "custom_tool_call_output", "call_id": "call_2", "output": "Done!"},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Next?"}]},
    ]
    assert body["tools"] == [
        {
            "type": "function",
            "name": "exec_command",
            "parameters": EXEC.parameters,
            "strict": False,
            "description": "Run a command.",
        },
        {"type": "custom", "name": "apply_patch", "description": "Edit files.", "format": GRAMMAR},
    ]
    assert body["tool_choice"] == {"type": "custom", "name": "apply_patch"}
    assert body["parallel_tool_calls"] is True
    assert body["reasoning"] == {"effort": "medium", "summary": "auto"}
    assert body["include"] == ["reasoning.encrypted_content"] and body["store"] is False
    assert body["text"] == {
        "format": {"type": "json_schema", "name": "r", "schema": {"type": "object"}}
    }
    assert body["max_output_tokens"] == 16  # the API's minimum
    assert "temperature" not in body  # a GPT-5 model refuses it
    assert not {"stop", "seed", "messages", "max_tokens"} & set(body)


async def test_output_items_parse_back(server: ScriptedServer) -> None:
    server.script(
        response(
            {
                "type": "reasoning",
                "id": "rs_9",
                "summary": [{"type": "summary_text", "text": "Need two calls."}],
                "encrypted_content": "enc-9",
            },
            {
                "type": "function_call",
                "id": "fc_1",
                "call_id": "call_a",
                "name": "exec_command",
                "arguments": '{"cmd":"ls"}',
                "status": "completed",
            },
            {
                "type": "custom_tool_call",
                "id": "ctc_1",
                "call_id": "call_b",
                "name": "apply_patch",
                "input": "*** P",
            },
        )
    )
    client = client_for(server, "openai", "gpt-5", api="responses")
    result = await client.generate(GenerateRequest.from_prompt("go", tools=(EXEC, PATCH)))
    await client.aclose()
    assert result.finish_reason is FinishReason.TOOL_CALLS
    assert result.tool_calls == (
        ToolCall("call_a", "exec_command", '{"cmd":"ls"}'),
        ToolCall("call_b", "apply_patch", "*** P", kind="custom"),
    )
    assert result.choices[0].reasoning == (
        Reasoning(text="Need two calls.", encrypted="enc-9", provider="openai", id="rs_9"),
    )
    usage = result.usage
    assert (usage.input_tokens, usage.cached_input_tokens, usage.reasoning_tokens) == (50, 30, 12)
    assert result.metadata["api"] == "responses"


async def test_incomplete_is_length(server: ScriptedServer) -> None:
    server.script(
        response(
            text_item("Par"),
            status="incomplete",
            incomplete_details={"reason": "max_output_tokens"},
        )
    )
    client = client_for(server, "openai", "gpt-4.1", api="responses")
    result = await client.generate(GenerateRequest.from_prompt("x", temperature=0.3))
    await client.aclose()
    assert result.text == "Par" and result.finish_reason is FinishReason.LENGTH
    body = server.bodies[0]
    assert body["temperature"] == 0.3 and "include" not in body and "reasoning" not in body


async def test_encrypted_reasoning_round_trips(server: ScriptedServer) -> None:
    server.script(
        response(
            {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "enc-A"},
            {
                "type": "function_call",
                "call_id": "call_1",
                "name": "exec_command",
                "arguments": "{}",
            },
        ),
        response(text_item("done")),
    )
    client = client_for(server, "openai", "o4-mini", api="responses")
    ask = Message("user", "list files")
    first = await client.generate(GenerateRequest(messages=(ask,), tools=(EXEC,)))
    turn = first.choices[0]
    follow_up = GenerateRequest(
        messages=(
            ask,
            Message("assistant", "", parts=(*turn.reasoning, *turn.tool_calls)),
            Message("user", "", parts=(ToolResult("call_1", "a.py"),)),
        ),
        tools=(EXEC,),
    )
    second = await client.generate(follow_up)
    await client.aclose()
    assert second.text == "done"
    assert server.bodies[1]["input"][1:] == [
        {"type": "reasoning", "summary": [], "encrypted_content": "enc-A"},
        {"type": "function_call", "call_id": "call_1", "name": "exec_command", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "a.py"},
    ]


async def test_streaming_events(server: ScriptedServer) -> None:
    def ev(kind: str, **fields: Any) -> dict[str, Any]:
        return {"type": kind, **fields}

    final = {"id": "resp_1", "status": "completed", "output": [], "usage": USAGE}
    reasoning_item = {
        "type": "reasoning",
        "id": "rs_1",
        "summary": [],
        "encrypted_content": "enc-S",
    }
    call_a = {
        "type": "function_call",
        "id": "fc_1",
        "call_id": "call_a",
        "name": "exec_command",
        "arguments": "",
    }
    call_b = {
        "type": "custom_tool_call",
        "id": "ct_1",
        "call_id": "call_b",
        "name": "apply_patch",
        "input": "",
    }
    server.script(
        Reply.typed(
            ev("response.created", response={**final, "status": "in_progress"}),
            ev(
                "response.output_item.added",
                output_index=0,
                item={**reasoning_item, "encrypted_content": None},
            ),
            ev("response.reasoning_summary_text.delta", output_index=0, delta="Think "),
            ev("response.reasoning_summary_text.delta", output_index=0, delta="hard."),
            ev("response.output_item.done", output_index=0, item=reasoning_item),
            ev(
                "response.output_item.added",
                output_index=1,
                item={"type": "message", "content": []},
            ),
            ev("response.output_text.delta", output_index=1, delta="Run"),
            ev("response.output_text.delta", output_index=1, delta="ning."),
            ev("response.output_item.added", output_index=2, item=call_a),
            ev("response.function_call_arguments.delta", output_index=2, delta='{"cmd":'),
            ev("response.output_item.added", output_index=3, item=call_b),
            ev("response.function_call_arguments.delta", output_index=2, delta='"ls"}'),
            ev("response.custom_tool_call_input.delta", output_index=3, delta="*** Begin"),
            ev(
                "response.output_item.done",
                output_index=2,
                item={**call_a, "arguments": '{"cmd":"ls"}'},
            ),
            ev("response.completed", response=final),
        )
    )
    client = client_for(server, "openai", "gpt-5", api="responses")
    deltas = await collect(client.stream(GenerateRequest.from_prompt("go", tools=(EXEC, PATCH))))
    await client.aclose()
    got = assemble(deltas, provider="openai")
    assert got.text == "Running."
    assert got.reasoning == [Reasoning(text="Think hard.", encrypted="enc-S", provider="openai")]
    assert got.tool_calls() == [
        ToolCall("call_a", "exec_command", '{"cmd":"ls"}'),
        ToolCall("call_b", "apply_patch", "*** Begin", kind="custom"),
    ]
    assert sorted(got.calls) == [2, 3]  # index = output_index
    assert got.finish is FinishReason.TOOL_CALLS
    assert got.usage is not None and got.usage.reasoning_tokens == 12
    assert server.bodies[0]["stream"] is True


@pytest.mark.parametrize(
    ("events", "error", "code"),
    [
        (
            [
                {
                    "type": "response.failed",
                    "response": {
                        "status": "failed",
                        "error": {"code": "invalid_prompt", "message": "flagged"},
                    },
                }
            ],
            BadRequest,
            "invalid_prompt",
        ),
        (
            [
                {
                    "type": "error",
                    "code": "rate_limit_exceeded",
                    "message": "slow down",
                    "param": None,
                }
            ],
            RateLimited,
            "rate_limit_exceeded",
        ),
    ],
)
async def test_failures_in_the_stream_are_typed(
    server: ScriptedServer, events: list[dict[str, Any]], error: type[Exception], code: str
) -> None:
    first = {"type": "response.output_text.delta", "output_index": 0, "delta": "Hi"}
    server.script(Reply.typed(first, *events))
    client = client_for(server, "openai", "gpt-5", api="responses")
    got: list[str] = []
    with pytest.raises(error) as info:
        async for delta in client.stream(GenerateRequest.from_prompt("x")):
            got.append(delta.text)
    await client.aclose()
    assert getattr(info.value, "code", None) == code and got == ["Hi"]
    assert len(server.requests) == 1  # partly streamed: not replayed


async def test_rules_and_learning_hold_for_responses_too(server: ScriptedServer) -> None:
    server.responder = strict_responder
    client = client_for(server, "openai", "house-reasoner", api="responses")
    request = GenerateRequest.from_prompt("What color is the sky?", temperature=0.2)
    first = await client.generate(request)
    streamed = assemble(await collect(client.stream(request)))
    await client.aclose()
    assert first.text == "blue" and streamed.text == "blue"
    assert first.metadata["param_adjustments"] == ["temperature dropped"]
    assert len(server.requests) == 3 and "temperature" not in server.bodies[2]
