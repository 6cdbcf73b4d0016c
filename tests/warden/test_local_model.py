"""The embedded SmolLM2 served through warden, for real (a few tokens): warden's
default backends need no network and no key."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import openai
import pytest

from benchwarden.warden.app import create_app, runtime_of
from benchwarden.warden.server import BackgroundServer
from benchwarden.warden.tenancy import GrantTerms

SMOL = "local/smollm2-135m"
GEMMA = "local/gemma3-270m"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    app = create_app(str(tmp_path_factory.mktemp("local") / "w.db"), admin_token="")
    tenancy = runtime_of(app).tenancy
    tenancy.create_org("lab")
    tenancy.add_grant("lab", SMOL, GrantTerms(("benchmarking",), tpm=5000))
    tenancy.add_grant("lab", GEMMA, GrantTerms(("benchmarking",)))
    _, key = tenancy.create_key("lab", ["benchmarking"])
    with BackgroundServer(app) as server:
        yield server.url, key


def test_smollm2_plain_and_streaming_through_warden(served: tuple[str, str]) -> None:
    url, key = served
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)
    question = [{"role": "user", "content": "Name the capital city of Japan."}]
    reply = client.chat.completions.create(
        model=SMOL, messages=question, max_tokens=12, temperature=0
    )
    assert "tokyo" in (reply.choices[0].message.content or "").lower()
    assert reply.usage is not None
    assert reply.usage.prompt_tokens > 5 and 0 < reply.usage.completion_tokens <= 12

    chunks = list(
        client.chat.completions.create(
            model=SMOL,
            messages=question,
            max_tokens=6,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens <= 6
    assert chunks[-1].usage.prompt_tokens == reply.usage.prompt_tokens  # exact, from llama.cpp

    message = anthropic.Anthropic(base_url=url, api_key=key, max_retries=0).messages.create(
        model=SMOL, max_tokens=4, messages=question
    )
    assert message.content[0].type == "text" and message.usage.output_tokens <= 4


def test_gemma_base_model_by_completion_through_warden(served: tuple[str, str]) -> None:
    url, key = served
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)
    reply = client.completions.create(
        model=GEMMA,
        prompt='def add(a, b):\n    """Return the sum of a and b."""\n',
        max_tokens=8,
        temperature=0,
        stop=["\ndef "],
    )
    assert "return" in reply.choices[0].text
    assert reply.usage is not None and 0 < reply.usage.completion_tokens <= 8


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def test_smollm2_calls_a_declared_tool_through_warden(served: tuple[str, str]) -> None:
    """Grammar-constrained decoding: the call is valid for the tool's schema, through
    both APIs, and the tool-result turn comes back as text."""
    import json

    url, key = served
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)
    question = [{"role": "user", "content": "What is the weather in Paris?"}]
    reply = client.chat.completions.create(
        model=SMOL,
        messages=question,
        tools=[WEATHER],
        tool_choice="required",
        max_tokens=40,
        temperature=0,
    )
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.tool_calls
    call = choice.message.tool_calls[0]
    assert call.type == "function" and call.function.name == "get_weather"
    arguments = json.loads(call.function.arguments)
    assert set(arguments) == {"city"} and isinstance(arguments["city"], str)

    answer = client.chat.completions.create(
        model=SMOL,
        messages=[
            *question,
            {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
            {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 21 C"},
        ],
        tools=[WEATHER],
        max_tokens=24,
        temperature=0,
    )
    assert answer.choices[0].finish_reason != "tool_calls"
    assert answer.choices[0].message.content

    tool = {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "input_schema": WEATHER["function"]["parameters"],  # type: ignore[index]
    }
    message = anthropic.Anthropic(base_url=url, api_key=key, max_retries=0).messages.create(
        model=SMOL,
        max_tokens=40,
        messages=question,  # type: ignore[arg-type]
        tools=[tool],  # type: ignore[list-item]
        tool_choice={"type": "any"},
    )
    assert message.stop_reason == "tool_use"
    used = [b for b in message.content if b.type == "tool_use"]
    assert used and used[0].name == "get_weather" and isinstance(used[0].input, dict)
    assert set(used[0].input) == {"city"}
