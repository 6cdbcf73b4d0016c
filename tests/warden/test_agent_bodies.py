"""Agent request bodies through warden, on the wire: what the upstream receives when a
call is translated to another API (tools rendered in its terms, tool results paired
with their calls), what bad input gets (a 4xx in the called API's own error format
naming the field, never a 5xx, the upstream never called), hosted tools a backend
cannot run, and what the audit chain keeps of agent traffic (names, never content)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest

from benchwarden.api.conversation import MAX_TOOL_RESULT_BYTES
from tests.warden.conftest import Tenant, Warden
from tests.warden.tool_upstream import MODELS, Call, ToolUpstream, served_warden

pytestmark = pytest.mark.timeout(60)

USER_AGENT = "agent-test/1.0 (bodies)"
WEATHER = {"city": "Paris"}
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
ANTHROPIC_TOOL = {"name": "get_weather", "description": "Weather.", "input_schema": SCHEMA}
CHAT_TOOL = {
    "type": "function",
    "function": {"name": "get_weather", "description": "Weather.", "parameters": SCHEMA},
}
RESPONSES_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather.",
    "parameters": SCHEMA,
}
PATHS = {"anthropic": "/v1/messages", "chat": "/v1/chat/completions", "responses": "/v1/responses"}


@pytest.fixture(scope="module")
def upstream() -> Iterator[ToolUpstream]:
    server = ToolUpstream().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def served(upstream: ToolUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warden]:
    yield from served_warden(upstream, tmp_path_factory.mktemp("agent-bodies"))


@pytest.fixture
def warden(served: Warden, upstream: ToolUpstream) -> Warden:
    upstream.reset()
    return served


@pytest.fixture
def tenant(warden: Warden) -> Tenant:
    return warden.tenant(MODELS)


def post(
    warden: Warden, tenant: Tenant, api: str, body: dict[str, Any], **headers: str
) -> httpx.Response:
    sent = {
        "authorization": f"Bearer {tenant.key}",
        "benchwarden-purpose": "benchmarking",
        "user-agent": USER_AGENT,
        **headers,
    }
    return httpx.post(f"{warden.url}{PATHS[api]}", json=body, headers=sent, timeout=30)


def events(response: httpx.Response) -> list[dict[str, Any]]:
    out = []
    for line in response.text.splitlines():
        if line.startswith("data: ") and line[6:].strip() != "[DONE]":
            out.append(json.loads(line[6:]))
    return out


# ---- cross-API translation, both ways ---------------------------------------------------
def test_anthropic_client_to_chat_backend(
    warden: Warden, tenant: Tenant, upstream: ToolUpstream
) -> None:
    body = {
        "model": "gpt-chat",
        "max_tokens": 300,
        "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        "tools": [ANTHROPIC_TOOL, {**ANTHROPIC_TOOL, "name": "get_time"}],
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
        "messages": [
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "toolu_a", "name": "get_weather", "input": WEATHER},
                    {
                        "type": "tool_use",
                        "id": "toolu_b",
                        "name": "get_weather",
                        "input": {"city": "Rome"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_a", "content": "sunny"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_b",
                        "content": [{"type": "text", "text": "no such city"}],
                        "is_error": True,
                    },
                    {"type": "text", "text": "Thanks."},
                ],
            },
        ],
    }
    response = post(warden, tenant, "anthropic", body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["type"] == "message" and answer["model"] == "gpt-chat"
    assert answer["content"] == [{"type": "text", "text": "All done."}]
    seen = upstream.last()
    assert seen.api == "chat" and seen.path == "/v1/chat/completions"
    sent = seen.body
    assert sent["model"] == "up-gpt-chat"
    assert sent["tools"] == [
        {
            "type": "function",
            "function": {"name": "get_weather", "description": "Weather.", "parameters": SCHEMA},
        },
        {
            "type": "function",
            "function": {"name": "get_time", "description": "Weather.", "parameters": SCHEMA},
        },
    ]
    assert sent["tool_choice"] == "auto" and sent["parallel_tool_calls"] is False
    messages = sent["messages"]
    assert messages[0] == {"role": "system", "content": "Be brief."}
    assert messages[1] == {"role": "user", "content": "Weather in Paris and Rome?"}
    assistant = messages[2]
    assert assistant["role"] == "assistant" and assistant["content"] == "Checking."
    assert [(c["id"], c["function"]["name"]) for c in assistant["tool_calls"]] == [
        ("toolu_a", "get_weather"),
        ("toolu_b", "get_weather"),
    ]
    assert json.loads(assistant["tool_calls"][1]["function"]["arguments"]) == {"city": "Rome"}
    assert messages[3] == {"role": "tool", "tool_call_id": "toolu_a", "content": "sunny"}
    assert messages[4]["role"] == "tool" and messages[4]["tool_call_id"] == "toolu_b"
    assert "no such city" in messages[4]["content"]
    assert messages[4]["content"].lower().startswith("error")  # is_error survives
    assert messages[5] == {"role": "user", "content": "Thanks."}


def test_chat_client_to_anthropic_backend(
    warden: Warden, tenant: Tenant, upstream: ToolUpstream
) -> None:
    body = {
        "model": "claude",
        "max_tokens": 300,
        "tools": [CHAT_TOOL],
        "tool_choice": "required",
        "parallel_tool_calls": False,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_a",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": json.dumps(WEATHER)},
                    },
                    {
                        "id": "call_b",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_a", "content": "sunny"},
            {"role": "tool", "tool_call_id": "call_b", "content": "rainy"},
        ],
    }
    response = post(warden, tenant, "chat", body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["object"] == "chat.completion" and answer["model"] == "claude"
    assert answer["choices"][0]["message"]["content"] == "All done."
    seen = upstream.last()
    assert seen.api == "anthropic" and seen.path == "/v1/messages"
    sent = seen.body
    assert sent["model"] == "up-claude" and sent["system"] == "Be brief."
    assert sent["tools"] == [
        {"name": "get_weather", "description": "Weather.", "input_schema": SCHEMA}
    ]
    assert sent["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert sent["messages"] == [
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "call_a", "name": "get_weather", "input": WEATHER},
                {
                    "type": "tool_use",
                    "id": "call_b",
                    "name": "get_weather",
                    "input": {"city": "Rome"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_a", "content": "sunny"},
                {"type": "tool_result", "tool_use_id": "call_b", "content": "rainy"},
            ],
        },
    ]


RESPONSES_HISTORY: list[Any] = [
    {"role": "developer", "content": "Use tools."},
    {"role": "user", "content": [{"type": "input_text", "text": "Weather in Paris?"}]},
    {
        "type": "function_call",
        "call_id": "call_r1",
        "name": "get_weather",
        "arguments": json.dumps(WEATHER),
    },
    {"type": "function_call_output", "call_id": "call_r1", "output": "sunny"},
]


def test_responses_client_to_anthropic_backend(
    warden: Warden, tenant: Tenant, upstream: ToolUpstream
) -> None:
    body = {
        "model": "claude",
        "instructions": "You are terse.",
        "input": RESPONSES_HISTORY,
        "tools": [RESPONSES_TOOL],
        "tool_choice": {"type": "function", "name": "get_weather"},
        "store": False,
        "max_output_tokens": 500,
    }
    response = post(warden, tenant, "responses", body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["object"] == "response" and answer["status"] == "completed"
    assert answer["output"][-1]["content"][0]["text"] == "All done."
    seen = upstream.last()
    assert seen.api == "anthropic"
    sent = seen.body
    assert sent["system"] == "You are terse.\n\nUse tools."
    assert sent["tools"] == [
        {"name": "get_weather", "description": "Weather.", "input_schema": SCHEMA}
    ]
    assert sent["tool_choice"] == {"type": "tool", "name": "get_weather"}
    assert sent["max_tokens"] == 500
    assert sent["messages"] == [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "call_r1", "name": "get_weather", "input": WEATHER}
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "call_r1", "content": "sunny"}],
        },
    ]


def test_responses_client_to_chat_backend(
    warden: Warden, tenant: Tenant, upstream: ToolUpstream
) -> None:
    body = {
        "model": "gpt-chat",
        "input": RESPONSES_HISTORY,
        "tools": [RESPONSES_TOOL],
        "parallel_tool_calls": False,
        "store": False,
        "stream": True,
    }
    response = post(warden, tenant, "responses", body)
    assert response.status_code == 200, response.text
    kinds = [e["type"] for e in events(response)]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    completed = events(response)[-1]["response"]
    assert completed["output"][0]["content"][0]["text"] == "All done."
    seen = upstream.last()
    assert seen.api == "chat" and seen.path == "/v1/chat/completions"
    sent = seen.body
    assert sent["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather.",
                "parameters": SCHEMA,
            },
        }
    ]
    assert sent["parallel_tool_calls"] is False
    assert sent["messages"][0] == {"role": "system", "content": "Use tools."}
    assert sent["messages"][1] == {"role": "user", "content": "Weather in Paris?"}
    call = sent["messages"][2]
    assert call["role"] == "assistant"
    assert call["tool_calls"][0]["id"] == "call_r1"
    assert call["tool_calls"][0]["function"]["name"] == "get_weather"
    assert json.loads(call["tool_calls"][0]["function"]["arguments"]) == WEATHER
    assert sent["messages"][3] == {"role": "tool", "tool_call_id": "call_r1", "content": "sunny"}


# ---- bad input ------------------------------------------------------------------------
def _anthropic(model: str, **fields: Any) -> dict[str, Any]:
    return {
        "model": model,
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "hi"}],
        **fields,
    }


def _chat(model: str, **fields: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}], **fields}


def _responses(model: str, **fields: Any) -> dict[str, Any]:
    return {"model": model, "input": "hi", **fields}


def _tool_use(call_id: str) -> dict[str, Any]:
    return {"type": "tool_use", "id": call_id, "name": "get_weather", "input": WEATHER}


def _tool_result(call_id: str, content: str = "sunny") -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": call_id, "content": content}


def _chat_call(call_id: str) -> dict[str, Any]:
    function = {"name": "get_weather", "arguments": "{}"}
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": call_id, "type": "function", "function": function}],
    }


def _fc(call_id: str) -> dict[str, Any]:
    return {"type": "function_call", "call_id": call_id, "name": "get_weather", "arguments": "{}"}


def _fco(call_id: str, output: str = "sunny") -> dict[str, Any]:
    return {"type": "function_call_output", "call_id": call_id, "output": output}


# (api, relayed model, translated model)
ROUTES = {
    "anthropic": ("claude", "gpt-chat"),
    "chat": ("gpt", "claude"),
    "responses": ("gpt", "claude"),
}


def _bad_bodies() -> list[Any]:
    """(id, api, body builder taking the model, text the error must contain)."""
    cases: list[tuple[str, str, Any, str]] = [
        (
            "anthropic-schema-not-object",
            "anthropic",
            lambda m: _anthropic(m, tools=[{"name": "t", "input_schema": "object"}]),
            "tools[0].input_schema",
        ),
        (
            "anthropic-schema-type-string",
            "anthropic",
            lambda m: _anthropic(m, tools=[{"name": "t", "input_schema": {"type": "string"}}]),
            "tools[0]",
        ),
        (
            "anthropic-schema-properties-array",
            "anthropic",
            lambda m: _anthropic(
                m, tools=[{"name": "t", "input_schema": {"type": "object", "properties": []}}]
            ),
            "tools[0]",
        ),
        (
            "anthropic-tool-name",
            "anthropic",
            lambda m: _anthropic(m, tools=[{"name": "bad name!", "input_schema": SCHEMA}]),
            "tools[0].name",
        ),
        (
            "chat-parameters-array",
            "chat",
            lambda m: _chat(
                m, tools=[{"type": "function", "function": {"name": "t", "parameters": []}}]
            ),
            "tools[0].function.parameters",
        ),
        (
            "chat-parameters-type-string",
            "chat",
            lambda m: _chat(
                m,
                tools=[
                    {"type": "function", "function": {"name": "t", "parameters": {"type": "array"}}}
                ],
            ),
            "tools[0]",
        ),
        (
            "responses-parameters-array",
            "responses",
            lambda m: _responses(
                m, tools=[{"type": "function", "name": "t", "parameters": [{"type": "object"}]}]
            ),
            "tools[0].parameters",
        ),
        (
            "responses-parameters-type-string",
            "responses",
            lambda m: _responses(
                m, tools=[{"type": "function", "name": "t", "parameters": {"type": "string"}}]
            ),
            "tools[0]",
        ),
        (
            "anthropic-result-without-call",
            "anthropic",
            lambda m: _anthropic(
                m,
                tools=[ANTHROPIC_TOOL],
                messages=[
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": "ok"},
                    {"role": "user", "content": [_tool_result("toolu_nope")]},
                ],
            ),
            "messages[2].content",
        ),
        (
            "chat-result-without-call",
            "chat",
            lambda m: _chat(
                m,
                tools=[CHAT_TOOL],
                messages=[
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": "ok"},
                    {"role": "tool", "tool_call_id": "call_nope", "content": "sunny"},
                ],
            ),
            "call_nope",
        ),
        (
            "responses-result-without-call",
            "responses",
            lambda m: _responses(
                m,
                tools=[RESPONSES_TOOL],
                input=[{"role": "user", "content": "hi"}, _fco("call_nope")],
            ),
            "call_nope",
        ),
        (
            "anthropic-call-id-reused",
            "anthropic",
            lambda m: _anthropic(
                m,
                tools=[ANTHROPIC_TOOL],
                messages=[
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": [_tool_use("toolu_x")]},
                    {"role": "user", "content": [_tool_result("toolu_x")]},
                    {"role": "assistant", "content": [_tool_use("toolu_x")]},
                    {"role": "user", "content": [_tool_result("toolu_x")]},
                ],
            ),
            "messages[3].content",
        ),
        (
            "anthropic-call-id-reused-in-one-turn",
            "anthropic",
            lambda m: _anthropic(
                m,
                tools=[ANTHROPIC_TOOL],
                messages=[
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": [_tool_use("toolu_y"), _tool_use("toolu_y")]},
                    {"role": "user", "content": [_tool_result("toolu_y")]},
                ],
            ),
            "messages[1].content",
        ),
        (
            "chat-call-id-reused",
            "chat",
            lambda m: _chat(
                m,
                tools=[CHAT_TOOL],
                messages=[
                    {"role": "user", "content": "hi"},
                    _chat_call("call_x"),
                    {"role": "tool", "tool_call_id": "call_x", "content": "a"},
                    _chat_call("call_x"),
                    {"role": "tool", "tool_call_id": "call_x", "content": "b"},
                ],
            ),
            "messages[3]",
        ),
        (
            "responses-call-id-reused",
            "responses",
            lambda m: _responses(
                m,
                tools=[RESPONSES_TOOL],
                input=[
                    {"role": "user", "content": "hi"},
                    _fc("call_x"),
                    _fco("call_x"),
                    _fc("call_x"),
                    _fco("call_x"),
                ],
            ),
            "input[3]",
        ),
        (
            "anthropic-tool-choice-undeclared",
            "anthropic",
            lambda m: _anthropic(
                m, tools=[ANTHROPIC_TOOL], tool_choice={"type": "tool", "name": "nope"}
            ),
            "tool_choice.name",
        ),
        (
            "chat-tool-choice-undeclared",
            "chat",
            lambda m: _chat(
                m,
                tools=[CHAT_TOOL],
                tool_choice={"type": "function", "function": {"name": "nope"}},
            ),
            "tool_choice",
        ),
        (
            "responses-tool-choice-undeclared",
            "responses",
            lambda m: _responses(
                m, tools=[RESPONSES_TOOL], tool_choice={"type": "function", "name": "nope"}
            ),
            "tool_choice.name",
        ),
        (
            "anthropic-tool-choice-without-tools",
            "anthropic",
            lambda m: _anthropic(m, tool_choice={"type": "tool", "name": "get_weather"}),
            "tool_choice.name",
        ),
    ]
    return [pytest.param(api, builder, needle, id=name) for name, api, builder, needle in cases]


def _assert_refused(
    response: httpx.Response, api: str, needle: str, upstream: ToolUpstream
) -> dict[str, Any]:
    assert 400 <= response.status_code < 500, response.text
    body = response.json()
    if api == "anthropic":
        assert body["type"] == "error"
        assert body["error"]["type"] == "invalid_request_error"
    else:
        assert set(body) == {"error"}
        assert body["error"]["type"] == "invalid_request_error"
        assert "param" in body["error"]
    error = body["error"]
    assert needle in error["message"], error["message"]
    assert upstream.conversation() == [], "the upstream was called"
    return error


@pytest.mark.parametrize("relayed", [True, False], ids=["relayed", "translated"])
@pytest.mark.parametrize(("api", "builder", "needle"), _bad_bodies())
def test_bad_agent_input_is_a_4xx_naming_the_field(
    warden: Warden,
    tenant: Tenant,
    upstream: ToolUpstream,
    api: str,
    builder: Any,
    needle: str,
    relayed: bool,
) -> None:
    model = ROUTES[api][0 if relayed else 1]
    for stream in (False, True):
        body = builder(model)
        if stream:
            body["stream"] = True
        response = post(warden, tenant, api, body)
        _assert_refused(response, api, needle, upstream)


@pytest.mark.parametrize("api", ["anthropic", "chat", "responses"])
def test_oversized_tool_result_is_refused(
    warden: Warden, tenant: Tenant, upstream: ToolUpstream, api: str
) -> None:
    big = "x" * (MAX_TOOL_RESULT_BYTES + 1)
    model = ROUTES[api][0]
    if api == "anthropic":
        body = _anthropic(
            model,
            tools=[ANTHROPIC_TOOL],
            messages=[
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": [_tool_use("toolu_big")]},
                {"role": "user", "content": [_tool_result("toolu_big", big)]},
            ],
        )
        where = "messages[2].content"
    elif api == "chat":
        body = _chat(
            model,
            tools=[CHAT_TOOL],
            messages=[
                {"role": "user", "content": "hi"},
                _chat_call("call_big"),
                {"role": "tool", "tool_call_id": "call_big", "content": big},
            ],
        )
        where = "messages"
    else:
        body = _responses(
            model,
            tools=[RESPONSES_TOOL],
            input=[{"role": "user", "content": "hi"}, _fc("call_big"), _fco("call_big", big)],
        )
        where = "input[2]"
    error = _assert_refused(post(warden, tenant, api, body), api, where, upstream)
    assert error["code"] == "tool_result_too_large"
    assert str(MAX_TOOL_RESULT_BYTES) in error["message"]
    # Just under the bound is served.
    small = json.loads(json.dumps(body).replace(big, "x" * (MAX_TOOL_RESULT_BYTES - 10)))
    assert post(warden, tenant, api, small).status_code == 200


UNTRANSLATABLE = [
    pytest.param("chat", "logprobs", lambda m: _chat(m, logprobs=True), id="chat-logprobs"),
    pytest.param(
        "anthropic",
        "mcp_servers",
        lambda m: _anthropic(
            m, mcp_servers=[{"type": "url", "url": "https://mcp.example", "name": "x"}]
        ),
        id="messages-mcp_servers",
    ),
    pytest.param(
        "responses",
        "previous_response_id",
        lambda m: _responses(m, previous_response_id="resp_123"),
        id="responses-previous_response_id",
    ),
]


@pytest.mark.parametrize(("api", "field", "builder"), UNTRANSLATABLE)
def test_untranslatable_field_is_refused_across_apis_and_relayed_within(
    warden: Warden, tenant: Tenant, upstream: ToolUpstream, api: str, field: str, builder: Any
) -> None:
    relayed, translated = ROUTES[api]
    error = _assert_refused(post(warden, tenant, api, builder(translated)), api, field, upstream)
    assert error["code"] == "unsupported"
    response = post(warden, tenant, api, builder(relayed))
    assert response.status_code == 200, response.text
    assert field in upstream.last().body


def test_anthropic_client_fields_to_openai_backend_are_refused(
    warden: Warden, tenant: Tenant, upstream: ToolUpstream
) -> None:
    """``mcp_servers`` to the other OpenAI routes too (translated onto Chat)."""
    body = _anthropic("gpt", mcp_servers=[{"type": "url", "url": "https://mcp.example"}])
    _assert_refused(post(warden, tenant, "anthropic", body), "anthropic", "mcp_servers", upstream)


# ---- hosted tools ---------------------------------------------------------------------
HOSTED_TOOLS: list[Any] = [
    {"type": "function", "name": "exec_command", "parameters": {"type": "object"}},
    {"type": "web_search"},
]


def _decision(warden: Warden, tenant: Tenant, action: str) -> Any:
    rows = [r for r in warden.audit_rows() if r.org == tenant.org and r.action == action]
    assert rows, f"no {action} decision for {tenant.org}"
    return rows[-1]


@pytest.mark.parametrize("model", ["claude", "gpt-chat"])
@pytest.mark.parametrize("stream", [False, True])
def test_hosted_tool_removed_for_a_backend_that_cannot_run_it(
    warden: Warden, tenant: Tenant, upstream: ToolUpstream, model: str, stream: bool
) -> None:
    body = _responses(model, tools=HOSTED_TOOLS, store=False, stream=stream)
    response = post(warden, tenant, "responses", body)
    assert response.status_code == 200, response.text
    assert response.headers["benchwarden-removed-tools"] == "web_search"
    sent = upstream.last().body
    names = [t.get("name") or (t.get("function") or {}).get("name") for t in sent["tools"]]
    assert names == ["exec_command"]
    assert "web_search" not in json.dumps(sent)
    detail = _decision(warden, tenant, "responses").detail
    assert detail["hosted_tools_removed"] == ["web_search"]
    assert detail["tools"] == ["exec_command", "web_search"]
    assert detail["route"] == "translate"


def test_hosted_tool_kept_for_a_backend_of_the_same_api(
    warden: Warden, tenant: Tenant, upstream: ToolUpstream
) -> None:
    response = post(warden, tenant, "responses", _responses("gpt", tools=HOSTED_TOOLS))
    assert response.status_code == 200, response.text
    assert "benchwarden-removed-tools" not in response.headers
    assert upstream.last().body["tools"] == HOSTED_TOOLS
    detail = _decision(warden, tenant, "responses").detail
    assert "hosted_tools_removed" not in detail and detail["route"] == "relay"


@pytest.mark.parametrize("stream", [False, True])
def test_hosted_tool_refused_by_backend_policy(
    warden: Warden, tenant: Tenant, upstream: ToolUpstream, stream: bool
) -> None:
    body = _responses("claude-refuse", tools=HOSTED_TOOLS, stream=stream)
    error = _assert_refused(
        post(warden, tenant, "responses", body), "responses", "tools[1]", upstream
    )
    assert "web_search" in error["message"]


# ---- audit ----------------------------------------------------------------------------
SECRET_PROMPT = "PROMPT-7f3a91 what is in the vault"
SECRET_ARG = "ARG-c0ffee-rm -rf /secret"
SECRET_RESULT = "RESULT-b16b00b5 the vault holds gold"


def _first_turn(api: str, model: str, stream: bool) -> dict[str, Any]:
    if api == "anthropic":
        body = _anthropic(
            model, tools=[ANTHROPIC_TOOL], messages=[{"role": "user", "content": SECRET_PROMPT}]
        )
    elif api == "chat":
        body = _chat(
            model, tools=[CHAT_TOOL], messages=[{"role": "user", "content": SECRET_PROMPT}]
        )
    else:
        body = _responses(model, tools=[RESPONSES_TOOL], input=SECRET_PROMPT)
    return {**body, "stream": stream}


def _second_turn(api: str, model: str, stream: bool) -> dict[str, Any]:
    arguments = {"city": SECRET_ARG}
    if api == "anthropic":
        use = {**_tool_use("toolu_s"), "input": arguments}
        messages = [
            {"role": "user", "content": SECRET_PROMPT},
            {"role": "assistant", "content": [use]},
            {"role": "user", "content": [_tool_result("toolu_s", SECRET_RESULT)]},
        ]
        body = _anthropic(model, tools=[ANTHROPIC_TOOL], messages=messages)
    elif api == "chat":
        call = _chat_call("call_s")
        call["tool_calls"][0]["function"]["arguments"] = json.dumps(arguments)
        messages = [
            {"role": "user", "content": SECRET_PROMPT},
            call,
            {"role": "tool", "tool_call_id": "call_s", "content": SECRET_RESULT},
        ]
        body = _chat(model, tools=[CHAT_TOOL], messages=messages)
    else:
        items = [
            {"role": "user", "content": SECRET_PROMPT},
            {**_fc("call_s"), "arguments": json.dumps(arguments)},
            _fco("call_s", SECRET_RESULT),
        ]
        body = _responses(model, tools=[RESPONSES_TOOL], input=items)
    return {**body, "stream": stream}


ENDPOINTS = {"anthropic": "messages", "chat": "chat.completions", "responses": "responses"}


@pytest.mark.parametrize(
    ("api", "model", "route"),
    [
        ("anthropic", "claude", "relay"),
        ("anthropic", "gpt-chat", "translate"),
        ("chat", "gpt", "relay"),
        ("chat", "claude", "translate"),
        ("responses", "gpt", "relay"),
        ("responses", "claude", "translate"),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_audit_names_tools_and_client_never_content(
    warden: Warden,
    tenant: Tenant,
    upstream: ToolUpstream,
    api: str,
    model: str,
    route: str,
    stream: bool,
) -> None:
    upstream.calls = (Call("get_weather", {"city": SECRET_ARG}),)
    first = post(warden, tenant, api, _first_turn(api, model, stream))
    assert first.status_code == 200, first.text
    if not stream:
        assert SECRET_ARG in first.text  # the client does get the arguments
    second = post(warden, tenant, api, _second_turn(api, model, stream))
    assert second.status_code == 200, second.text
    endpoint = ENDPOINTS[api]

    def settled(rows: list[Any]) -> bool:
        mine = [r for r in rows if r.org == tenant.org and r.action == f"{endpoint}.settle"]
        return len(mine) >= 2

    rows = [r for r in warden.audit_rows(wait_for=settled) if r.org == tenant.org]
    decisions = [r for r in rows if r.action == endpoint]
    settles = [r for r in rows if r.action == f"{endpoint}.settle"]
    assert [d.decision for d in decisions] == ["allow", "allow"]
    assert [s.decision for s in settles] == ["completed", "completed"]
    for decision in decisions:
        assert decision.detail["tools"] == ["get_weather"]
        assert decision.detail["client"] == USER_AGENT
        assert decision.detail["route"] == route
        assert decision.detail["stream"] is stream
    assert decisions[1].detail.get("tool_results") == 1
    assert settles[0].detail.get("tools_called") == ["get_weather"]
    assert "tools_called" not in settles[1].detail
    assert settles[0].output_tokens > 0
    dump = repr(rows)
    for secret in (SECRET_PROMPT, SECRET_ARG, SECRET_RESULT, "PROMPT-7f3a91", "c0ffee", "b16b00b5"):
        assert secret not in dump


def test_anthropic_server_tool_removed_for_an_openai_backend(
    warden: Warden, tenant: Tenant, upstream: ToolUpstream
) -> None:
    server_tool = {"type": "web_search_20250305", "name": "web_search", "max_uses": 2}
    body = _anthropic("gpt-chat", tools=[server_tool, ANTHROPIC_TOOL])
    response = post(warden, tenant, "anthropic", body)
    assert response.status_code == 200, response.text
    assert response.headers["benchwarden-removed-tools"] == "web_search_20250305"
    assert [t["function"]["name"] for t in upstream.last().body["tools"]] == ["get_weather"]
    detail = _decision(warden, tenant, "messages").detail
    assert detail["hosted_tools_removed"] == ["web_search_20250305"]


# ---- custom tools (Codex's apply_patch) across APIs -------------------------------------
PATCH = "*** Begin Patch\n*** Add File: a.txt\n+hello\n*** End Patch"
CUSTOM_TOOL = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Apply a patch.",
    "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"},
}


@pytest.mark.parametrize("stream", [False, True])
def test_responses_custom_tool_round_trip_on_anthropic_backend(
    warden: Warden, tenant: Tenant, upstream: ToolUpstream, stream: bool
) -> None:
    upstream.calls = (Call("apply_patch", {"input": PATCH}, "toolu_patch1"),)
    response = post(
        warden, tenant, "responses", _responses("claude", tools=[CUSTOM_TOOL], stream=stream)
    )
    assert response.status_code == 200, response.text
    declared = upstream.last().body["tools"]
    assert declared[0]["name"] == "apply_patch"
    assert declared[0]["input_schema"]["properties"]["input"]["type"] == "string"
    assert "start: /.+/" in declared[0]["description"]  # the grammar is told
    output = events(response)[-1]["response"]["output"] if stream else response.json()["output"]
    calls = [item for item in output if item["type"] == "custom_tool_call"]
    assert len(calls) == 1
    assert calls[0]["name"] == "apply_patch" and calls[0]["input"] == PATCH
    assert calls[0]["call_id"] == "toolu_patch1"
    history = [
        {"role": "user", "content": "hi"},
        {
            "type": "custom_tool_call",
            "call_id": "toolu_patch1",
            "name": "apply_patch",
            "input": PATCH,
        },
        {"type": "custom_tool_call_output", "call_id": "toolu_patch1", "output": "Done!"},
    ]
    answer = post(
        warden, tenant, "responses", _responses("claude", tools=[CUSTOM_TOOL], input=history)
    )
    assert answer.status_code == 200, answer.text
    messages = upstream.last().body["messages"]
    assert messages[1]["content"] == [
        {"type": "tool_use", "id": "toolu_patch1", "name": "apply_patch", "input": {"input": PATCH}}
    ]
    assert messages[2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_patch1", "content": "Done!"}
    ]


# ---- more refusals before any model is called -------------------------------------------
@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"tools": [{"name": "t", "input_schema": "object"}]}, "tools[0].input_schema"),
        (
            {"messages": [{"role": "user", "content": [_tool_result("toolu_nope")]}]},
            "toolu_nope",
        ),
    ],
    ids=["bad-schema", "orphan-result"],
)
@pytest.mark.parametrize("model", ["claude", "gpt"])
def test_count_tokens_refuses_bad_agent_input(
    warden: Warden,
    tenant: Tenant,
    upstream: ToolUpstream,
    body: dict[str, Any],
    needle: str,
    model: str,
) -> None:
    sent = {"model": model, "messages": [{"role": "user", "content": "hi"}], **body}
    response = httpx.post(
        f"{warden.url}/v1/messages/count_tokens",
        json=sent,
        headers={"x-api-key": tenant.key, "benchwarden-purpose": "benchmarking"},
        timeout=30,
    )
    _assert_refused(response, "anthropic", needle, upstream)
    assert upstream.requests == []


@pytest.mark.parametrize("model", ["claude", "gpt-chat"])
def test_thinking_budget_must_be_below_max_tokens(
    warden: Warden, tenant: Tenant, upstream: ToolUpstream, model: str
) -> None:
    body = _anthropic(model, max_tokens=2000, thinking={"type": "enabled", "budget_tokens": 2000})
    _assert_refused(
        post(warden, tenant, "anthropic", body), "anthropic", "thinking.budget_tokens", upstream
    )


@pytest.mark.parametrize("api", ["anthropic", "chat", "responses"])
def test_reservation_counts_tool_definitions_and_results(
    warden: Warden, tenant: Tenant, upstream: ToolUpstream, api: str
) -> None:
    """The TPM reservation made before the model answers covers the tool result and the
    tool definitions, not just the text turns."""
    result = "r" * 50_000
    description = "d" * 20_000
    model = ROUTES[api][1]
    if api == "anthropic":
        tool = {**ANTHROPIC_TOOL, "description": description}
        body = _anthropic(
            model,
            max_tokens=100,
            tools=[tool],
            messages=[
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": [_tool_use("toolu_m")]},
                {"role": "user", "content": [_tool_result("toolu_m", result)]},
            ],
        )
    elif api == "chat":
        tool = {**CHAT_TOOL, "function": {**CHAT_TOOL["function"], "description": description}}
        body = _chat(
            model,
            max_tokens=100,
            tools=[tool],
            messages=[
                {"role": "user", "content": "hi"},
                _chat_call("call_m"),
                {"role": "tool", "tool_call_id": "call_m", "content": result},
            ],
        )
    else:
        tool = {**RESPONSES_TOOL, "description": description}
        body = _responses(
            model,
            max_output_tokens=100,
            tools=[tool],
            input=[{"role": "user", "content": "hi"}, _fc("call_m"), _fco("call_m", result)],
        )
    assert post(warden, tenant, api, body).status_code == 200
    reserved = _decision(warden, tenant, ENDPOINTS[api]).detail["reserved_tokens"]
    assert reserved >= len(result) + len(description) + 100


# ---- found broken (see the report): kept failing until src is fixed ----------------------
CHAT_CUSTOM_TOOL = {
    "type": "custom",
    "custom": {"name": "apply_patch", "description": "Apply a patch.", "format": {"type": "text"}},
}


def test_chat_custom_tool_is_never_dropped(
    warden: Warden, tenant: Tenant, upstream: ToolUpstream
) -> None:
    """A Chat Completions ``custom`` tool (GPT-5's free-text tools) to an Anthropic
    backend is translated or refused; it is not a hosted tool to drop."""
    response = post(warden, tenant, "chat", _chat("claude", tools=[CHAT_CUSTOM_TOOL]))
    assert "benchwarden-removed-tools" not in response.headers, "the custom tool was dropped"
    if response.status_code == 200:
        assert [t["name"] for t in upstream.last().body.get("tools", [])] == ["apply_patch"]
    else:
        _assert_refused(response, "chat", "tools[0]", upstream)


def test_responses_empty_parameters_array_is_refused(
    warden: Warden, tenant: Tenant, upstream: ToolUpstream
) -> None:
    """``parameters: []`` is not a schema (Chat refuses it; Responses took it as {})."""
    for model in ROUTES["responses"]:
        body = _responses(model, tools=[{"type": "function", "name": "t", "parameters": []}])
        _assert_refused(
            post(warden, tenant, "responses", body), "responses", "tools[0].parameters", upstream
        )


@pytest.mark.parametrize(
    ("api", "body", "needle"),
    [
        (
            "responses",
            _responses("claude", input=[{"role": "user", "content": "hi"}, _fco("call_nope")]),
            "input[1]",
        ),
        (
            "chat",
            _chat(
                "claude",
                messages=[
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": "ok"},
                    {"role": "tool", "tool_call_id": "call_nope", "content": "sunny"},
                ],
            ),
            "messages[2]",
        ),
    ],
    ids=["responses", "chat"],
)
def test_orphan_tool_result_error_names_its_own_item(
    warden: Warden,
    tenant: Tenant,
    upstream: ToolUpstream,
    api: str,
    body: dict[str, Any],
    needle: str,
) -> None:
    _assert_refused(post(warden, tenant, api, body), api, needle, upstream)


@pytest.mark.parametrize(
    ("api", "body", "needle"),
    [
        ("anthropic", _anthropic("claude", tools=[{"input_schema": SCHEMA}]), "tools[0].name"),
        (
            "chat",
            _chat("gpt", tools=[{"type": "function", "function": {"parameters": SCHEMA}}]),
            "tools[0].function.name",
        ),
        (
            "anthropic",
            _anthropic(
                "claude",
                messages=[
                    {"role": "user", "content": "hi"},
                    {
                        "role": "assistant",
                        "content": [{"type": "tool_use", "name": "t", "input": {}}],
                    },
                ],
            ),
            "messages[1].content[0].id",
        ),
        (
            "chat",
            _chat(
                "claude",
                messages=[{"role": "user", "content": "hi"}, {"role": "tool", "content": "x"}],
            ),
            "messages[1].tool_call_id",
        ),
        (
            "responses",
            _responses(
                "claude",
                input=[
                    {"role": "user", "content": "hi"},
                    {"type": "function_call_output", "output": "x"},
                ],
            ),
            "input[1].call_id",
        ),
    ],
    ids=[
        "anthropic-tool-name",
        "chat-tool-name",
        "tool_use-id",
        "chat-tool_call_id",
        "responses-call_id",
    ],
)
def test_missing_tool_fields_are_named_with_their_path(
    warden: Warden,
    tenant: Tenant,
    upstream: ToolUpstream,
    api: str,
    body: dict[str, Any],
    needle: str,
) -> None:
    _assert_refused(post(warden, tenant, api, body), api, needle, upstream)


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("api", "body", "needle"),
    [
        (
            "chat",
            _chat(
                "claude",
                tools=[CHAT_TOOL],
                messages=[
                    {"role": "user", "content": "hi"},
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "c1",
                                "type": "function",
                                "function": {"name": "get_weather", "arguments": "not json"},
                            }
                        ],
                    },
                    {"role": "tool", "tool_call_id": "c1", "content": "x"},
                ],
            ),
            "messages[1].tool_calls[0].function.arguments",
        ),
        (
            "responses",
            _responses(
                "claude",
                tools=[RESPONSES_TOOL],
                input=[
                    {"role": "user", "content": "hi"},
                    {**_fc("c1"), "arguments": "[1, 2]"},
                    _fco("c1"),
                ],
            ),
            "input[1].arguments",
        ),
    ],
    ids=["chat", "responses"],
)
def test_tool_arguments_an_anthropic_backend_cannot_take_name_the_field(
    warden: Warden,
    tenant: Tenant,
    upstream: ToolUpstream,
    api: str,
    body: dict[str, Any],
    needle: str,
    stream: bool,
) -> None:
    """Arguments that are not a JSON object cannot become a tool_use input: a 400 that
    names the field, not an upstream refusal (no model was asked)."""
    error = _assert_refused(
        post(warden, tenant, api, {**body, "stream": stream}), api, needle, upstream
    )
    assert error["code"] != "upstream_bad_request"
    assert "model refused" not in error["message"]
