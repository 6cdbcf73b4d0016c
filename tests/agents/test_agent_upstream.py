"""The scripted agent upstream, read by the official SDKs: each wire format, plain and
streamed, asks for one shell call while no tool result is in the conversation and
answers with the final text once one is, whichever API the client's tools came on."""

from __future__ import annotations

import json
from collections.abc import Iterator

import anthropic
import httpx2
import openai
import pytest

from benchwarden.testing.agent_upstream import AgentUpstream, ThreadedAgentUpstream

BASH = {
    "name": "Bash",
    "description": "Run a shell command",
    "input_schema": {
        "type": "object",
        "properties": {"command": {"type": "string"}, "description": {"type": "string"}},
        "required": ["command"],
    },
}
EXEC = {
    "type": "function",
    "name": "exec_command",
    "description": "Run a command",
    "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}},
}
SHELL_ARGV = {
    "type": "function",
    "function": {
        "name": "shell",
        "parameters": {
            "type": "object",
            "properties": {"command": {"type": "array", "items": {"type": "string"}}},
        },
    },
}
COMMAND = "echo done > result.txt"


@pytest.fixture
def upstream() -> Iterator[AgentUpstream]:
    with ThreadedAgentUpstream(file_name="result.txt", content="done") as server:
        yield server


def test_anthropic_stream_asks_for_bash_then_answers(upstream: AgentUpstream) -> None:
    client = anthropic.Anthropic(base_url=upstream.base_url, api_key="k", max_retries=0)
    messages: list[dict[str, object]] = [{"role": "user", "content": "write it"}]
    with client.messages.stream(
        model="m", max_tokens=100, messages=messages, tools=[BASH]
    ) as stream:
        first = stream.get_final_message()
    assert first.stop_reason == "tool_use"
    (call,) = first.content
    assert call.type == "tool_use" and call.name == "Bash"
    assert call.input == {"command": COMMAND, "description": "Write the file the task asks for"}
    messages += [
        {"role": "assistant", "content": [call.model_dump()]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call.id, "content": ""}],
        },
    ]
    final = client.messages.create(model="m", max_tokens=100, messages=messages, tools=[BASH])
    assert final.stop_reason == "end_turn"
    assert final.content[0].type == "text" and final.content[0].text == "Wrote result.txt."
    count = client.messages.count_tokens(model="m", messages=messages, tools=[BASH])
    assert count.input_tokens > 0
    assert upstream.saw_tool_result() and len(upstream.conversation()) == 2


def test_responses_stream_calls_exec_command_then_answers(upstream: AgentUpstream) -> None:
    client = openai.OpenAI(base_url=upstream.base_url + "/v1", api_key="k", max_retries=0)
    kinds = []
    with client.responses.stream(model="gpt-5.5", input="write it", tools=[EXEC]) as stream:
        for event in stream:
            kinds.append(event.type)
        first = stream.get_final_response()
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "response.function_call_arguments.delta" in kinds
    (call,) = first.output
    assert call.type == "function_call" and call.name == "exec_command"
    assert json.loads(call.arguments) == {"cmd": COMMAND}
    assert first.usage is not None and first.usage.total_tokens == 18
    follow = [
        {"role": "user", "content": "write it"},
        {
            "type": "function_call",
            "call_id": call.call_id,
            "name": call.name,
            "arguments": call.arguments,
        },
        {"type": "function_call_output", "call_id": call.call_id, "output": "ok"},
    ]
    final = client.responses.create(model="gpt-5.5", input=follow, tools=[EXEC])
    assert final.output_text == "Wrote result.txt."
    with client.responses.stream(model="gpt-5.5", input=follow, tools=[EXEC]) as stream:
        assert stream.get_final_response().output_text == "Wrote result.txt."


def test_chat_streams_tool_call_deltas_for_a_translated_claude_tool(
    upstream: AgentUpstream,
) -> None:
    """Claude Code's ``Bash`` arriving on Chat Completions (warden translated it)."""
    client = openai.OpenAI(base_url=upstream.base_url + "/v1", api_key="k", max_retries=0)
    tool = {"type": "function", "function": {"name": "Bash", "parameters": BASH["input_schema"]}}
    chunks = list(
        client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "write it"}],
            tools=[tool],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    calls = [
        c.choices[0].delta.tool_calls for c in chunks if c.choices and c.choices[0].delta.tool_calls
    ]
    assert calls[0][0].function.name == "Bash" and calls[0][0].id == "call_mock01"
    arguments = "".join(c[0].function.arguments or "" for c in calls)
    assert json.loads(arguments)["command"] == COMMAND
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    assert chunks[-1].usage is not None
    follow = [
        {"role": "user", "content": "write it"},
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "call_mock01",
                    "type": "function",
                    "function": {"name": "Bash", "arguments": arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_mock01", "content": ""},
    ]
    final = client.chat.completions.create(model="m", messages=follow, tools=[tool])
    assert final.choices[0].message.content == "Wrote result.txt."


def test_argv_shell_and_codex_tools_on_anthropic(upstream: AgentUpstream) -> None:
    """An argv ``shell`` on Chat, and Codex's ``exec_command`` arriving as an Anthropic
    tool (warden translated a Codex request into Messages)."""
    client = openai.OpenAI(base_url=upstream.base_url + "/v1", api_key="k", max_retries=0)
    plain = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "x"}], tools=[SHELL_ARGV]
    )
    (call,) = plain.choices[0].message.tool_calls or []
    assert json.loads(call.function.arguments) == {"command": ["bash", "-lc", COMMAND]}
    claude = anthropic.Anthropic(base_url=upstream.base_url, api_key="k", max_retries=0)
    tool = {"name": "exec_command", "input_schema": EXEC["parameters"]}
    message = claude.messages.create(
        model="m", max_tokens=10, messages=[{"role": "user", "content": "x"}], tools=[tool]
    )
    assert message.content[0].type == "tool_use" and message.content[0].input == {"cmd": COMMAND}


def test_side_calls_get_text_and_failures_are_scripted(upstream: AgentUpstream) -> None:
    claude = anthropic.Anthropic(base_url=upstream.base_url, api_key="k", max_retries=0)
    title = claude.messages.create(
        model="small", max_tokens=10, messages=[{"role": "user", "content": "title?"}]
    )
    assert title.content[0].type == "text" and title.content[0].text == "Writing a file"
    assert httpx2.head(upstream.base_url + "/").status_code == 200
    assert httpx2.get(upstream.base_url + "/v1/models").json()["data"][0]["id"] == "mock"
    body = {"type": "error", "error": {"type": "permission_error", "message": "revoked"}}
    upstream.fail_from(1, 403, body)
    with pytest.raises(anthropic.PermissionDeniedError, match="revoked"):
        claude.messages.create(
            model="m", max_tokens=10, messages=[{"role": "user", "content": "x"}]
        )
    assert [r.method for r in upstream.requests] == ["POST", "HEAD", "GET", "POST"]
