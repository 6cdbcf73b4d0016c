"""The official SDKs' agent features through warden: tools (plain, streamed, parallel
calls, the tool-result turn), the Responses API, thinking whose opaque data must come
back, and token counting. Each against a backend of the client's own API (relayed)
and of the other one (translated), a scripted model upstream behind both."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.warden.conftest import Warden
from tests.warden.tool_upstream import MODELS, Call, ToolUpstream, served_warden

pytestmark = pytest.mark.timeout(60)

WEATHER = {"city": "Paris", "unit": "celsius"}
TIME = {"zone": "Europe/Paris"}

CHAT_TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_time",
            "description": "The time in a zone.",
            "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}},
        },
    },
]
RESPONSES_TOOLS: list[Any] = [
    {"type": "function", "strict": False, **tool["function"]} for tool in CHAT_TOOLS
]
ANTHROPIC_TOOLS: list[Any] = [
    {
        "name": tool["function"]["name"],
        "description": tool["function"]["description"],
        "input_schema": tool["function"]["parameters"],
    }
    for tool in CHAT_TOOLS
]
QUESTION = "What is the weather in Paris?"


@pytest.fixture(scope="module")
def upstream() -> Iterator[ToolUpstream]:
    server = ToolUpstream().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def served(upstream: ToolUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warden]:
    yield from served_warden(upstream, tmp_path_factory.mktemp("sdk-agents"))


@pytest.fixture
def warden(served: Warden, upstream: ToolUpstream) -> Warden:
    upstream.reset()
    return served


def _key(warden: Warden) -> str:
    return warden.tenant(MODELS).key


# ---- OpenAI Chat Completions ----------------------------------------------------------
def _chat_turns(upstream_api: str, upstream: ToolUpstream) -> list[dict[str, Any]]:
    """The tool result, as the upstream got it on the second turn."""
    body = upstream.last().body
    if upstream_api == "chat":
        return [m for m in body["messages"] if m["role"] in ("assistant", "tool")]
    return [m for m in body["messages"] if m["role"] in ("assistant", "user")][1:]


@pytest.mark.parametrize(("model", "api"), [("gpt", "chat"), ("claude", "anthropic")])
def test_chat_tools_plain_then_tool_result(
    warden: Warden, upstream: ToolUpstream, model: str, api: str
) -> None:
    upstream.calls = (Call("get_weather", WEATHER),)
    client = warden.openai(_key(warden))
    messages: list[Any] = [{"role": "user", "content": QUESTION}]
    first = client.chat.completions.create(
        model=model, messages=messages, tools=CHAT_TOOLS, max_tokens=200
    )
    assert first.model == model
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls or []
    assert len(calls) == 1 and calls[0].type == "function"
    assert calls[0].function.name == "get_weather"
    assert json.loads(calls[0].function.arguments) == WEATHER
    assert calls[0].id
    assert upstream.last().api == api

    messages += [
        choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": calls[0].id, "content": "18 degrees, sunny"},
    ]
    second = client.chat.completions.create(
        model=model, messages=messages, tools=CHAT_TOOLS, max_tokens=200
    )
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content == "All done."
    sent = _chat_turns(api, upstream)
    if api == "chat":
        assert sent[0]["tool_calls"][0]["id"] == calls[0].id
        assert sent[1] == {
            "role": "tool",
            "tool_call_id": calls[0].id,
            "content": "18 degrees, sunny",
        }
    else:
        assert sent[0]["content"][-1]["type"] == "tool_use"
        assert sent[0]["content"][-1]["id"] == calls[0].id
        assert sent[1]["content"][0] == {
            "type": "tool_result",
            "tool_use_id": calls[0].id,
            "content": "18 degrees, sunny",
        }


def _accumulate(chunks: list[Any]) -> tuple[str, dict[int, dict[str, str]], list[str | None]]:
    """Text, tool calls by index, and finish reasons of a streamed completion."""
    text = ""
    calls: dict[int, dict[str, str]] = {}
    finishes: list[str | None] = []
    for chunk in chunks:
        for choice in chunk.choices:
            finishes.append(choice.finish_reason)
            text += choice.delta.content or ""
            for piece in choice.delta.tool_calls or []:
                call = calls.setdefault(piece.index, {"id": "", "name": "", "arguments": ""})
                if piece.id:
                    call["id"] = piece.id
                if piece.function and piece.function.name:
                    call["name"] += piece.function.name
                if piece.function and piece.function.arguments:
                    call["arguments"] += piece.function.arguments
    return text, calls, finishes


@pytest.mark.parametrize("model", ["gpt", "claude"])
def test_chat_tools_streamed_deltas(warden: Warden, upstream: ToolUpstream, model: str) -> None:
    upstream.calls = (Call("get_weather", WEATHER),)
    stream = warden.openai(_key(warden)).chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": QUESTION}],
        tools=CHAT_TOOLS,
        max_tokens=200,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text, calls, finishes = _accumulate(chunks)
    assert text == ""
    assert list(calls) == [0]
    assert calls[0]["name"] == "get_weather" and calls[0]["id"]
    assert json.loads(calls[0]["arguments"]) == WEATHER
    assert finishes[-1] == "tool_calls"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


@pytest.mark.parametrize("model", ["gpt", "claude"])
def test_chat_stream_helper_accumulates_tool_calls(
    warden: Warden, upstream: ToolUpstream, model: str
) -> None:
    upstream.calls = (Call("get_weather", WEATHER),)
    with warden.openai(_key(warden)).chat.completions.stream(
        model=model,
        messages=[{"role": "user", "content": QUESTION}],
        tools=CHAT_TOOLS,
        max_tokens=200,
    ) as stream:
        events = [event.type for event in stream]
        final = stream.get_final_completion()
    assert "tool_calls.function.arguments.delta" in events
    assert "tool_calls.function.arguments.done" in events
    message = final.choices[0].message
    assert final.choices[0].finish_reason == "tool_calls"
    assert message.tool_calls is not None and len(message.tool_calls) == 1
    assert message.tool_calls[0].function.name == "get_weather"
    assert json.loads(message.tool_calls[0].function.arguments) == WEATHER


@pytest.mark.parametrize("model", ["gpt", "claude"])
@pytest.mark.parametrize("stream", [False, True])
def test_chat_parallel_tool_calls(
    warden: Warden, upstream: ToolUpstream, model: str, stream: bool
) -> None:
    upstream.calls = (Call("get_weather", WEATHER), Call("get_time", TIME))
    client = warden.openai(_key(warden))
    messages: list[Any] = [{"role": "user", "content": "Weather and time in Paris?"}]
    kwargs: dict[str, Any] = {
        "model": model,
        "tools": CHAT_TOOLS,
        "max_tokens": 200,
        "parallel_tool_calls": True,
    }
    if stream:
        with client.chat.completions.stream(messages=messages, **kwargs) as events:
            final = events.get_final_completion()
    else:
        final = client.chat.completions.create(messages=messages, **kwargs)
    message = final.choices[0].message
    calls = message.tool_calls or []
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    assert [json.loads(c.function.arguments) for c in calls] == [WEATHER, TIME]
    assert len({c.id for c in calls}) == 2
    results = [
        {"role": "tool", "tool_call_id": calls[0].id, "content": "sunny"},
        {"role": "tool", "tool_call_id": calls[1].id, "content": "noon"},
    ]
    messages += [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [c.model_dump(exclude_none=True) for c in calls],
        },
        *results,
    ]
    answer = client.chat.completions.create(messages=messages, **kwargs)
    assert answer.choices[0].message.content == "All done."
    body = upstream.last().body
    if model == "gpt":
        assert body["messages"][-2:] == results
        assert body["parallel_tool_calls"] is True
    else:
        last = body["messages"][-1]["content"]
        assert [(b["type"], b["tool_use_id"]) for b in last] == [
            ("tool_result", calls[0].id),
            ("tool_result", calls[1].id),
        ]
        calling = body["messages"][-2]["content"]
        assert [b["id"] for b in calling if b["type"] == "tool_use"] == [c.id for c in calls]


# ---- OpenAI Responses -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("model", "api"), [("gpt", "responses"), ("claude", "anthropic"), ("gpt-chat", "chat")]
)
def test_responses_create_function_call_round_trip(
    warden: Warden, upstream: ToolUpstream, model: str, api: str
) -> None:
    upstream.calls = (Call("get_weather", WEATHER),)
    client = warden.openai(_key(warden))
    first = client.responses.create(
        model=model, input=QUESTION, tools=RESPONSES_TOOLS, store=False, max_output_tokens=300
    )
    assert first.object == "response" and first.status == "completed"
    assert first.model == model
    calls = [item for item in first.output if item.type == "function_call"]
    assert len(calls) == 1
    call = calls[0]
    assert call.name == "get_weather" and json.loads(call.arguments) == WEATHER
    assert call.call_id
    assert upstream.last().api == api
    assert first.usage is not None and first.usage.output_tokens > 0

    second = client.responses.create(
        model=model,
        input=[
            {"role": "user", "content": QUESTION},
            {
                "type": "function_call",
                "call_id": call.call_id,
                "name": call.name,
                "arguments": call.arguments,
            },
            {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"},
        ],
        tools=RESPONSES_TOOLS,
        store=False,
        max_output_tokens=300,
    )
    assert second.output_text == "All done."
    assert second.status == "completed"
    body = upstream.last().body
    if api == "responses":
        assert body["input"][-1] == {
            "type": "function_call_output",
            "call_id": call.call_id,
            "output": "sunny",
        }
        assert body["store"] is False
    elif api == "anthropic":
        assert body["messages"][-1]["content"][0] == {
            "type": "tool_result",
            "tool_use_id": call.call_id,
            "content": "sunny",
        }
    else:
        assert body["messages"][-1] == {
            "role": "tool",
            "tool_call_id": call.call_id,
            "content": "sunny",
        }


@pytest.mark.parametrize("model", ["gpt", "claude", "gpt-chat"])
def test_responses_stream_function_call_round_trip(
    warden: Warden, upstream: ToolUpstream, model: str
) -> None:
    upstream.text_before_calls = "Checking."
    upstream.calls = (Call("get_weather", WEATHER), Call("get_time", TIME))
    client = warden.openai(_key(warden))
    with client.responses.stream(
        model=model, input=QUESTION, tools=RESPONSES_TOOLS, store=False
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "response.function_call_arguments.delta" in kinds
    assert final.output_text == "Checking."
    calls = [item for item in final.output if item.type == "function_call"]
    assert [c.name for c in calls] == ["get_weather", "get_time"]
    assert [json.loads(c.arguments) for c in calls] == [WEATHER, TIME]

    history: list[Any] = [{"role": "user", "content": QUESTION}]
    for call in calls:
        history.append(
            {
                "type": "function_call",
                "call_id": call.call_id,
                "name": call.name,
                "arguments": call.arguments,
            }
        )
    history += [
        {"type": "function_call_output", "call_id": calls[0].call_id, "output": "sunny"},
        {"type": "function_call_output", "call_id": calls[1].call_id, "output": "noon"},
    ]
    with client.responses.stream(
        model=model, input=history, tools=RESPONSES_TOOLS, store=False
    ) as stream:
        text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        done = stream.get_final_response()
    assert text == "All done." and done.output_text == "All done."


# ---- Anthropic Messages ---------------------------------------------------------------
@pytest.mark.parametrize(("model", "api"), [("claude", "anthropic"), ("gpt-chat", "chat")])
def test_anthropic_stream_tool_use_then_result(
    warden: Warden, upstream: ToolUpstream, model: str, api: str
) -> None:
    upstream.text_before_calls = "I will look."
    upstream.calls = (Call("get_weather", WEATHER),)
    client = warden.anthropic(_key(warden))
    messages: list[Any] = [{"role": "user", "content": QUESTION}]
    with client.messages.stream(
        model=model, max_tokens=300, messages=messages, tools=ANTHROPIC_TOOLS
    ) as stream:
        events = list(stream)
        final = stream.get_final_message()
    partial = "".join(
        e.delta.partial_json
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "input_json_delta"
    )
    assert json.loads(partial) == WEATHER
    starts = [e.content_block.type for e in events if e.type == "content_block_start"]
    assert starts == ["text", "tool_use"]
    assert final.stop_reason == "tool_use"
    uses = [b for b in final.content if b.type == "tool_use"]
    assert len(uses) == 1 and uses[0].name == "get_weather" and uses[0].input == WEATHER
    assert upstream.last().api == api

    messages += [
        {"role": "assistant", "content": [b.model_dump() for b in final.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": uses[0].id, "content": "sunny"}],
        },
    ]
    with client.messages.stream(
        model=model, max_tokens=300, messages=messages, tools=ANTHROPIC_TOOLS
    ) as stream:
        text = "".join(stream.text_stream)
        done = stream.get_final_message()
    assert text == "All done." and done.stop_reason == "end_turn"
    body = upstream.last().body
    if api == "chat":
        assert body["messages"][-1] == {
            "role": "tool",
            "tool_call_id": uses[0].id,
            "content": "sunny",
        }
    else:
        assert body["messages"][-1]["content"][0]["tool_use_id"] == uses[0].id


@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_thinking_signature_round_trips(
    warden: Warden, upstream: ToolUpstream, stream: bool
) -> None:
    upstream.calls = (Call("get_weather", WEATHER),)
    client = warden.anthropic(_key(warden))
    messages: list[Any] = [{"role": "user", "content": QUESTION}]
    kwargs: dict[str, Any] = {
        "model": "claude",
        "max_tokens": 4096,
        "tools": ANTHROPIC_TOOLS,
        "thinking": {"type": "enabled", "budget_tokens": 2048},
    }
    if stream:
        with client.messages.stream(messages=messages, **kwargs) as events:
            kinds = [e.delta.type for e in events if e.type == "content_block_delta"]
            message = events.get_final_message()
        assert "thinking_delta" in kinds and "signature_delta" in kinds
    else:
        message = client.messages.create(messages=messages, **kwargs)
    assert upstream.last().body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    thinking = message.content[0]
    assert thinking.type == "thinking"
    assert thinking.thinking == "Let me think."
    signature = thinking.signature
    assert signature.startswith("sig-")
    use = next(b for b in message.content if b.type == "tool_use")
    messages += [
        {"role": "assistant", "content": [b.model_dump() for b in message.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}],
        },
    ]
    answer = client.messages.create(messages=messages, **kwargs)
    assert [b.type for b in answer.content] == ["thinking", "text"]
    sent = upstream.last().body["messages"][1]["content"][0]
    assert sent == {"type": "thinking", "thinking": "Let me think.", "signature": signature}


@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_client_on_responses_backend_encrypted_reasoning_round_trips(
    warden: Warden, upstream: ToolUpstream, stream: bool
) -> None:
    """An Anthropic client on an OpenAI backend that speaks only Responses: the
    reasoning's encrypted_content comes back as a thinking signature, and the next turn
    gives the upstream its own encrypted_content again."""
    upstream.calls = (Call("get_weather", WEATHER),)
    client = warden.anthropic(_key(warden))
    messages: list[Any] = [{"role": "user", "content": QUESTION}]
    kwargs: dict[str, Any] = {
        "model": "gpt-resp",
        "max_tokens": 4096,
        "tools": ANTHROPIC_TOOLS,
        "thinking": {"type": "enabled", "budget_tokens": 2048},
    }
    if stream:
        with client.messages.stream(messages=messages, **kwargs) as events:
            message = events.get_final_message()
    else:
        message = client.messages.create(messages=messages, **kwargs)
    seen = upstream.last()
    assert seen.api == "responses", f"translated onto {seen.path}, not /v1/responses"
    assert seen.body["reasoning"]["effort"]
    assert "reasoning.encrypted_content" in seen.body.get("include", [])
    issued = upstream.issued[-1]
    assert issued.startswith("enc-")
    thinking = message.content[0]
    assert thinking.type == "thinking" and thinking.signature
    use = next(b for b in message.content if b.type == "tool_use")
    messages += [
        {"role": "assistant", "content": [b.model_dump() for b in message.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}],
        },
    ]
    answer = client.messages.create(messages=messages, **kwargs)
    assert any(b.type == "text" and b.text == "All done." for b in answer.content)
    items = upstream.last().body["input"]
    reasoning = [i for i in items if i.get("type") == "reasoning"]
    assert len(reasoning) == 1 and reasoning[0]["encrypted_content"] == issued


@pytest.mark.parametrize("stream", [False, True])
def test_responses_client_on_anthropic_backend_signature_round_trips(
    warden: Warden, upstream: ToolUpstream, stream: bool
) -> None:
    """A Responses client on an Anthropic backend: the thinking's signature travels in
    the reasoning item's encrypted_content and reaches the upstream again, unchanged."""
    upstream.calls = (Call("get_weather", WEATHER),)
    client = warden.openai(_key(warden))
    kwargs: dict[str, Any] = {
        "model": "claude",
        "tools": RESPONSES_TOOLS,
        "store": False,
        "include": ["reasoning.encrypted_content"],
        "reasoning": {"effort": "low"},
        "max_output_tokens": 4000,
    }
    if stream:
        with client.responses.stream(input=QUESTION, **kwargs) as events:
            kinds = [e.type for e in events]
            response = events.get_final_response()
        assert "response.reasoning_summary_text.delta" in kinds
    else:
        response = client.responses.create(input=QUESTION, **kwargs)
    first = upstream.last().body
    assert first["thinking"]["type"] == "enabled"
    assert first["thinking"]["budget_tokens"] >= 1024
    signature = upstream.issued[-1]
    assert signature.startswith("sig-")
    reasoning = [i for i in response.output if i.type == "reasoning"]
    assert len(reasoning) == 1 and reasoning[0].encrypted_content
    assert signature not in (reasoning[0].encrypted_content or "")  # wrapped, not raw
    call = next(i for i in response.output if i.type == "function_call")
    history: list[Any] = [
        {"role": "user", "content": QUESTION},
        *[item.model_dump(exclude_none=True) for item in response.output],
        {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"},
    ]
    answer = client.responses.create(input=history, **kwargs)
    assert answer.output_text == "All done."
    assistant = upstream.last().body["messages"][1]
    assert assistant["role"] == "assistant"
    assert assistant["content"][0] == {
        "type": "thinking",
        "thinking": "Let me think.",
        "signature": signature,
    }
    assert assistant["content"][-1]["type"] == "tool_use"


@pytest.mark.parametrize(("model", "relayed"), [("claude", True), ("gpt", False)])
def test_anthropic_count_tokens_with_tools(
    warden: Warden, upstream: ToolUpstream, model: str, relayed: bool
) -> None:
    client = warden.anthropic(_key(warden))
    counted = client.messages.count_tokens(
        model=model,
        messages=[{"role": "user", "content": QUESTION}],
        tools=ANTHROPIC_TOOLS,
        system="Be brief.",
    )
    assert counted.input_tokens > 0
    seen = [r for r in upstream.requests if r.api == "count_tokens"]
    if relayed:
        assert len(seen) == 1
        assert seen[0].body["model"] == "up-claude"
        assert [t["name"] for t in seen[0].body["tools"]] == ["get_weather", "get_time"]
        assert counted.input_tokens >= 1000  # the upstream's own count
    else:
        assert seen == [] and upstream.conversation() == []
        bare = client.messages.count_tokens(
            model=model, messages=[{"role": "user", "content": QUESTION}]
        )
        assert counted.input_tokens > bare.input_tokens  # the tools are counted


def test_audit_names_the_sdk_client_and_the_tools(warden: Warden, upstream: ToolUpstream) -> None:
    upstream.calls = (Call("get_weather", WEATHER),)
    tenant = warden.tenant(MODELS)
    warden.openai(tenant.key).chat.completions.create(
        model="claude", messages=[{"role": "user", "content": QUESTION}], tools=CHAT_TOOLS
    )
    warden.anthropic(tenant.key).messages.create(
        model="gpt",
        max_tokens=100,
        messages=[{"role": "user", "content": QUESTION}],
        tools=ANTHROPIC_TOOLS,
    )

    def settled(rows: list[Any]) -> bool:
        return sum(r.org == tenant.org and r.action.endswith(".settle") for r in rows) >= 2

    rows = [r for r in warden.audit_rows(wait_for=settled) if r.org == tenant.org]
    chat = next(r for r in rows if r.action == "chat.completions")
    messages = next(r for r in rows if r.action == "messages")
    assert chat.detail["client"].startswith("OpenAI/Python")
    assert messages.detail["client"].startswith("Anthropic/Python")
    for row in (chat, messages):
        assert row.detail["tools"] == ["get_weather", "get_time"]
        assert row.detail["route"] == "translate"
    settles = [r for r in rows if r.action.endswith(".settle")]
    assert all(r.detail["tools_called"] == ["get_weather"] for r in settles)
    dump = repr(rows)
    assert QUESTION not in dump and "Paris" not in dump


@pytest.mark.parametrize("before", ["text", "thinking"])
def test_chat_stream_from_anthropic_backend_indexes_tool_calls_from_zero(
    warden: Warden, upstream: ToolUpstream, before: str
) -> None:
    """Claude often says something (or thinks) before it calls a tool: the Chat stream
    must still number the calls 0, 1... (the SDK's helper indexes its list by them)."""
    upstream.calls = (Call("get_weather", WEATHER),)
    extra: dict[str, Any] = {}
    if before == "text":
        upstream.text_before_calls = "Let me check."
    else:
        extra["reasoning_effort"] = "low"
    client = warden.openai(_key(warden))
    kwargs: dict[str, Any] = {
        "model": "claude",
        "messages": [{"role": "user", "content": QUESTION}],
        "tools": CHAT_TOOLS,
        "max_tokens": 200,
        **extra,
    }
    chunks = list(client.chat.completions.create(stream=True, **kwargs))
    _, calls, _ = _accumulate(chunks)
    assert list(calls) == [0], f"tool_calls indexed {list(calls)}"
    with client.chat.completions.stream(**kwargs) as stream:
        final = stream.get_final_completion()
    tool_calls = final.choices[0].message.tool_calls or []
    assert [c.function.name for c in tool_calls] == ["get_weather"]
    assert json.loads(tool_calls[0].function.arguments) == WEATHER
