"""Tool calls from the embedded models, under a llama.cpp grammar.

The model tests run the real SmolLM2-135M (and Gemma 3 270M once, by completion) on
tiny prompts with few tokens; the rest checks the plan, prompt and grammar pieces
without a model.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from benchwarden.models.content import TextPart, ToolCall, ToolChoice, ToolResult, ToolSpec
from benchwarden.models.errors import BadRequest
from benchwarden.models.factory import open_client
from benchwarden.models.local.client import model_path
from benchwarden.models.local.engine import engine_for
from benchwarden.models.local.tool_grammar import call_grammar, rename_rules, tool_rules
from benchwarden.models.local.tool_plan import Branch, ToolChoiceError, plan_tools
from benchwarden.models.local.tools import read_call, render_chat
from benchwarden.models.protocol import ModelClient
from benchwarden.models.registry import resolve
from benchwarden.models.types import FinishReason, GenerateRequest, Message

SMOL = "local/smollm2-135m"
GEMMA = "local/gemma3-270m"

WEATHER = ToolSpec(
    "get_weather",
    "Get the current weather for a city.",
    {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City name"}},
        "required": ["city"],
    },
)
TIME = ToolSpec(
    "get_time",
    "Get the current local time in a time zone.",
    {
        "type": "object",
        "properties": {"zone": {"type": "string", "description": "IANA time zone"}},
        "required": ["zone"],
    },
)
AWKWARD = (
    ToolSpec(
        "either_shape",
        "anyOf at the top",
        {
            "anyOf": [
                {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]},
                {"type": "object", "properties": {"y": {"type": "string"}}, "required": ["y"]},
            ]
        },
    ),
    ToolSpec(
        "with_ref",
        "a $ref to $defs",
        {
            "type": "object",
            "properties": {"item": {"$ref": "#/$defs/Item"}},
            "required": ["item"],
            "$defs": {
                "Item": {
                    "type": "object",
                    "properties": {"id": {"type": "integer"}},
                    "required": ["id"],
                }
            },
        },
    ),
    ToolSpec("no_properties", "any object", {"type": "object"}),
    ToolSpec("no_schema", "nothing at all"),
    ToolSpec("remote_ref", "", {"properties": {"z": {"$ref": "https://example.com/s.json"}}}),
    ToolSpec("bad_type", "", {"type": "object", "properties": {"q": {"type": "wat"}}}),
    ToolSpec("not_an_object", "", {"type": "array", "items": {"type": "string"}}),
    ToolSpec("apply_patch", "Apply a patch to files.", kind="custom"),
)
QUESTION = (Message("user", "What is the weather in Paris?"),)
CALL = ToolCall("call_1", "get_weather", '{"city":"Paris"}')
ANSWERED = (
    *QUESTION,
    Message("assistant", "", (CALL,)),
    Message("user", "", (ToolResult("call_1", '{"temperature_c": 18, "sky": "sunny"}'),)),
)


def local(name: str = SMOL) -> ModelClient:
    return open_client(resolve(name), use_cache=False)


def ask(messages: tuple[Message, ...], **kwargs: Any) -> GenerateRequest:
    kwargs.setdefault("max_tokens", 40)
    kwargs.setdefault("temperature", 0.0)
    return GenerateRequest(messages=messages, **kwargs)


def check_arguments(arguments: dict[str, Any], schema: dict[str, Any]) -> None:
    """What jsonschema would say for these flat schemas (it is not installed)."""
    types = {"string": str, "integer": int, "number": int | float, "boolean": bool}
    properties = schema["properties"]
    assert set(schema.get("required", ())) <= set(arguments)
    assert set(arguments) <= set(properties)
    for key, value in arguments.items():
        assert isinstance(value, types[properties[key]["type"]]), (key, value)


def the_call(result_calls: tuple[ToolCall, ...], spec: ToolSpec) -> dict[str, Any]:
    assert len(result_calls) == 1
    call = result_calls[0]
    assert call.name == spec.name and call.kind == "function"
    assert call.id.startswith("call_") and int(call.id[5:], 16) >= 0
    assert call.arguments == json.dumps(json.loads(call.arguments), separators=(",", ":"))
    arguments = call.parsed()
    check_arguments(arguments, spec.parameters)
    return dict(arguments)


# ---- the real model -------------------------------------------------------------
async def test_a_call_that_validates_against_the_schema() -> None:
    result = await local().generate(ask(QUESTION, tools=(WEATHER,)))
    assert result.finish_reason is FinishReason.TOOL_CALLS and result.text == ""
    assert the_call(result.tool_calls, WEATHER) == {"city": "Paris"}
    assert result.metadata["tools"] == {
        "decoding": "call",
        "reason": "auto: asked for get_weather",
    }


async def test_required_gets_a_call_even_for_small_talk() -> None:
    result = await local().generate(
        ask(
            (Message("user", "Hello there."),), tools=(WEATHER,), tool_choice=ToolChoice("required")
        )
    )
    assert result.finish_reason is FinishReason.TOOL_CALLS
    the_call(result.tool_calls, WEATHER)


async def test_a_named_tool_among_two() -> None:
    result = await local().generate(
        ask(QUESTION, tools=(WEATHER, TIME), tool_choice=ToolChoice("tool", "get_time"))
    )
    the_call(result.tool_calls, TIME)


async def test_small_talk_in_auto_is_text_and_honors_stop() -> None:
    result = await local().generate(
        ask((Message("user", "Hi! How are you?"),), tools=(WEATHER, TIME), stop=(".",))
    )
    assert result.tool_calls == () and result.finish_reason is FinishReason.STOP
    assert result.text and not result.text.startswith("{") and "." not in result.text


async def test_a_stop_string_does_not_cut_a_call() -> None:
    result = await local().generate(ask(QUESTION, tools=(WEATHER,), stop=('"', ":")))
    assert the_call(result.tool_calls, WEATHER) == {"city": "Paris"}


@pytest.mark.parametrize("mode", ["auto", "none"])
async def test_after_the_tool_result_the_answer_is_text(mode: str) -> None:
    result = await local().generate(
        ask(ANSWERED, tools=(WEATHER,), tool_choice=ToolChoice(mode))  # type: ignore[arg-type]
    )
    assert result.tool_calls == () and result.finish_reason is FinishReason.STOP
    assert "sunny" in result.text.lower() and not result.text.startswith("{")


async def test_a_streamed_call() -> None:
    client = local()
    request = ask(QUESTION, tools=(WEATHER,), tool_choice=ToolChoice("required"))
    whole = await client.generate(request)
    deltas = [d async for d in client.stream(request)]
    assert [d.tool_call is not None for d in deltas] == [True, False]
    piece = deltas[0].tool_call
    assert piece is not None and piece.index == 0 and piece.name == "get_weather"
    assert piece.id and piece.id.startswith("call_") and piece.id != whole.tool_calls[0].id
    assert piece.arguments == whole.tool_calls[0].arguments
    assert deltas[-1].finish_reason is FinishReason.TOOL_CALLS
    assert deltas[-1].usage == whole.usage
    assert "".join(d.text for d in deltas) == ""


async def test_a_streamed_answer_from_the_tool_result() -> None:
    client = local()
    request = ask(ANSWERED, tools=(WEATHER,))
    whole = await client.generate(request)
    deltas = [d async for d in client.stream(request)]
    assert len(deltas) > 2 and all(d.tool_call is None for d in deltas)
    assert "".join(d.text for d in deltas) == whole.text
    assert deltas[-1].finish_reason is FinishReason.STOP


async def test_awkward_schemas_never_crash() -> None:
    client = local()
    result = await client.generate(
        ask(
            (Message("user", "Go."),),
            tools=AWKWARD,
            tool_choice=ToolChoice("required"),
            max_tokens=24,
        )
    )
    # A call of one of them, or (cut at max_tokens) text: never an exception.
    for call in result.tool_calls:
        assert call.name in {t.name for t in AWKWARD}
        parsed = call.arguments if call.kind == "custom" else call.parsed()
        assert isinstance(parsed, str if call.kind == "custom" else dict)
    for tool in AWKWARD[:3]:  # each alone too (the grammars of all: the test below)
        one = await client.generate(
            ask(
                (Message("user", "Go."),),
                tools=(tool,),
                tool_choice=ToolChoice("tool", tool.name),
                max_tokens=10,
            )
        )
        assert one.finish_reason in (FinishReason.TOOL_CALLS, FinishReason.LENGTH)


async def test_sampling_with_a_seed_repeats_the_call() -> None:
    client = local()
    request = ask(QUESTION, tools=(WEATHER, TIME), temperature=1.0, seed=7)
    first, again = await client.generate(request), await client.generate(request)
    assert [c.arguments for c in first.tool_calls] == [c.arguments for c in again.tool_calls]
    assert first.tool_calls  # the question asks for the weather tool


async def test_a_named_tool_that_is_not_declared_is_a_bad_request() -> None:
    with pytest.raises(BadRequest, match="not among the declared tools"):
        await local().generate(ask(QUESTION, tools=(WEATHER,), tool_choice=ToolChoice("tool", "x")))


async def test_gemma_calls_by_completion() -> None:
    result = await local(GEMMA).generate(
        ask(QUESTION, tools=(WEATHER,), tool_choice=ToolChoice("required"))
    )
    assert result.metadata["mode"] == "completion"
    the_call(result.tool_calls, WEATHER)


def test_llama_cpp_parses_every_tool_grammar() -> None:
    engine = engine_for(model_path(resolve(SMOL)))

    def accepts(grammar: str) -> bool:
        return engine._executor.submit(engine.accepts, grammar).result()

    assert not accepts('root ::= "a" | undefined-rule')
    rules = tool_rules(AWKWARD, accepts)
    fallbacks = {r.name for r in rules if r.fallback}
    assert fallbacks == {"remote_ref", "bad_type", "not_an_object"}
    for text in (True, False):
        assert accepts(call_grammar(rules, text=text))


# ---- without a model ------------------------------------------------------------
def test_plans() -> None:
    def plan(messages: tuple[Message, ...], tools: tuple[ToolSpec, ...], **kw: Any) -> Branch:
        return plan_tools(ask(messages, tools=tools, **kw)).branch

    hello = (Message("user", "Hi! How are you?"),)
    assert plan(QUESTION, (WEATHER, TIME)) is Branch.CALL
    assert plan_tools(ask(QUESTION, tools=(WEATHER, TIME))).tools == (WEATHER,)
    assert plan(hello, (WEATHER, TIME)) is Branch.EITHER
    assert plan(ANSWERED, (WEATHER,)) is Branch.TEXT
    assert plan(hello, (WEATHER,), tool_choice=ToolChoice("required")) is Branch.CALL
    assert plan(QUESTION, (WEATHER,), tool_choice=ToolChoice("none")) is Branch.TEXT
    named = plan_tools(
        ask(hello, tools=(WEATHER, TIME), tool_choice=ToolChoice("tool", "get_time"))
    )
    assert named.branch is Branch.CALL and named.tools == (TIME,)
    with pytest.raises(ToolChoiceError):
        plan_tools(ask(hello, tool_choice=ToolChoice("required")))


def test_the_prompt_shows_tools_calls_and_results() -> None:
    request = ask(ANSWERED, tools=(WEATHER,), system="Be brief.")
    first = render_chat(ask(QUESTION, tools=(WEATHER,), system="Be brief."), plan_tools(request))
    assert first[0]["role"] == "system" and first[0]["content"].startswith("Be brief.")
    # A text plan lists no tools; a call plan lists them with their schema.
    call_plan = plan_tools(ask(QUESTION, tools=(WEATHER,)))
    system = render_chat(ask(QUESTION, tools=(WEATHER,)), call_plan)[0]["content"]
    assert "get_weather: Get the current weather" in system and '"required":["city"]' in system
    rendered = render_chat(request, plan_tools(request))
    assert [m["role"] for m in rendered] == ["system", "user", "assistant", "user"]
    assert rendered[2]["content"] == '{"name": "get_weather", "arguments": {"city": "Paris"}}'
    assert rendered[3]["content"].startswith('Tool get_weather returned: {"temperature_c": 18')
    mixed = Message("user", "", (TextPart("and also"), ToolResult("nope", "boom", is_error=True)))
    text = render_chat(ask((mixed,), tools=(WEATHER,)), call_plan)[1]["content"]
    assert text == "and also\nTool call nope failed: boom"


def test_reading_a_call() -> None:
    assert read_call('{"name": "get_weather", "arguments": { "city": "Paris" } }', (WEATHER,))
    assert read_call('{"name": "get_weather", "arguments": {"city": "Pa', (WEATHER,)) is None
    assert read_call('{"name": "other", "arguments": {}}', (WEATHER,)) is None
    assert read_call("The weather is fine.", (WEATHER,)) is None
    patch = read_call('{"name": "apply_patch", "arguments": "*** Begin"}', AWKWARD)
    assert patch is not None and patch.kind == "custom" and patch.arguments == "*** Begin"
    raw = read_call('{"name": "get_weather", "arguments": {"city": "a\nb"}}', (WEATHER,))
    assert raw is not None and raw.arguments == '{"city":"a\\nb"}'


def test_renaming_rules_leaves_literals_alone() -> None:
    grammar = 'root ::= "root \\" x" [a-z] item*\nitem ::= "{" space'
    assert rename_rules(grammar, "t0-") == (
        't0-root ::= "root \\" x" [a-z] t0-item*\nt0-item ::= "{" t0-space'
    )
