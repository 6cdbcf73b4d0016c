"""Malformed, oversize and wrongly-typed bodies: always a 4xx with the called API's
error body, never a 5xx and never a call to a model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest

from benchwarden.testing.mock_upstream import MockUpstream
from benchwarden.warden.app import WardenSettings
from tests.warden.conftest import Tenant, Warden

OK_MESSAGES = [{"role": "user", "content": "hi"}]


def _openai(**fields: Any) -> dict[str, Any]:
    return {"model": "mock-gpt", "messages": OK_MESSAGES, "max_tokens": 8, **fields}


def _anthropic(**fields: Any) -> dict[str, Any]:
    return {"model": "mock-claude", "messages": OK_MESSAGES, "max_tokens": 8, **fields}


RAW_BODIES: list[tuple[str, bytes]] = [
    ("empty", b""),
    ("whitespace", b"  \n "),
    ("not json", b"{"),
    ("array", b"[]"),
    ("string", b'"hello"'),
    ("null", b"null"),
    ("not utf-8", b'{"model": "\xff\xfe"}'),
    ("deep nesting", b"[" * 100_000 + b"]" * 100_000),
    (
        "NaN",
        b'{"model": "mock-gpt", "messages": [{"role": "user", "content": "x"}], '
        b'"max_tokens": 8, "temperature": NaN}',
    ),
    (
        "infinity",
        b'{"model": "mock-gpt", "messages": [{"role": "user", "content": "x"}], '
        b'"max_tokens": 8, "temperature": 1e999}',
    ),
    (
        "lone surrogate",
        b'{"model": "mock-gpt", "messages": [{"role": "user", '
        b'"content": "\\ud800"}], "max_tokens": 8}',
    ),
    ("huge integer", b'{"model": "mock-gpt", "messages": [], "max_tokens": 1' + b"0" * 5000 + b"}"),
]

OPENAI_BODIES: list[tuple[str, dict[str, Any]]] = [
    ("model missing", {"messages": OK_MESSAGES}),
    ("model wrong type", _openai(model=42)),
    ("model empty", _openai(model="")),
    ("messages missing", {"model": "mock-gpt"}),
    ("messages not a list", _openai(messages="hi")),
    ("messages empty", _openai(messages=[])),
    ("message not an object", _openai(messages=["hi"])),
    ("role unknown", _openai(messages=[{"role": "wizard", "content": "hi"}])),
    ("role tool", _openai(messages=[{"role": "tool", "content": "x", "tool_call_id": "1"}])),
    ("content wrong type", _openai(messages=[{"role": "user", "content": 5}])),
    ("content null", _openai(messages=[{"role": "user", "content": None}])),
    ("image part", _openai(messages=[{"role": "user", "content": [{"type": "image_url"}]}])),
    ("only system", _openai(messages=[{"role": "system", "content": "x"}])),
    ("max_tokens string", _openai(max_tokens="10")),
    ("max_tokens zero", _openai(max_tokens=0)),
    ("max_tokens bool", _openai(max_tokens=True)),
    ("max_tokens float", _openai(max_tokens=1.5)),
    ("max_tokens huge", _openai(max_tokens=10**30)),
    ("temperature high", _openai(temperature=3)),
    ("temperature string", _openai(temperature="hot")),
    ("top_p zero", _openai(top_p=0)),
    ("stop wrong type", _openai(stop=5)),
    ("stop list of ints", _openai(stop=[1, 2])),
    ("n two streamed to another API", {**_openai(n=2, stream=True), "model": "mock-claude"}),
    ("stream string", _openai(stream="yes")),
    ("stream_options without stream", _openai(stream_options={"include_usage": True})),
    ("tools", _openai(tools=[{"type": "function", "function": {"name": "bad name"}}])),
    ("json mode", _openai(response_format={"type": "xml"})),
    ("seed string", _openai(seed="1")),
]

ANTHROPIC_BODIES: list[tuple[str, dict[str, Any]]] = [
    ("max_tokens missing", {"model": "mock-claude", "messages": OK_MESSAGES}),
    ("max_tokens negative", _anthropic(max_tokens=-1)),
    ("system wrong type", _anthropic(system=1)),
    ("tool role in messages", _anthropic(messages=[{"role": "tool", "content": "x"}])),
    ("stop_sequences string", _anthropic(stop_sequences="\n")),
    ("temperature above 1", _anthropic(temperature=1.5)),
    ("image block", _anthropic(messages=[{"role": "user", "content": [{"type": "image"}]}])),
    ("tools", _anthropic(tools=[{"name": "f", "input_schema": {"type": "string"}}])),
    (
        "tool result without call",
        _anthropic(
            messages=[
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": "toolu_x", "content": "ok"}],
                }
            ]
        ),
    ),
    ("messages wrong type", _anthropic(messages={"role": "user"})),
]


@pytest.fixture(scope="module")
def served(warden_factory_module: Any) -> Iterator[tuple[Warden, Tenant]]:
    warden = warden_factory_module()
    yield warden, warden.tenant()


def _post(warden: Warden, path: str, key: str, content: bytes, **kwargs: Any) -> httpx.Response:
    headers = {
        "authorization": f"Bearer {key}",
        "benchwarden-purpose": "benchmarking",
        "content-type": "application/json",
        **kwargs.pop("headers", {}),
    }
    return httpx.post(f"{warden.url}{path}", content=content, headers=headers, timeout=30, **kwargs)


def _check_openai(response: httpx.Response, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert {"message", "type", "code"} <= set(body["error"])
    return dict(body["error"])


def _check_anthropic(response: httpx.Response, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == "error"
    assert {"message", "type", "code"} <= set(body["error"])
    return dict(body["error"])


@pytest.mark.parametrize(("name", "content"), RAW_BODIES, ids=[n for n, _ in RAW_BODIES])
def test_raw_bodies_on_both_endpoints(
    served: tuple[Warden, Tenant], upstream: MockUpstream, name: str, content: bytes
) -> None:
    warden, tenant = served
    before = upstream.stats.requests
    error = _check_openai(_post(warden, "/v1/chat/completions", tenant.key, content))
    assert error["type"] == "invalid_request_error" and error["code"] == "invalid_request"
    error = _check_anthropic(_post(warden, "/v1/messages", tenant.key, content))
    assert error["type"] == "invalid_request_error" and error["code"] == "invalid_request"
    assert upstream.stats.requests == before  # no model was called


@pytest.mark.parametrize(("name", "body"), OPENAI_BODIES, ids=[n for n, _ in OPENAI_BODIES])
def test_openai_fields(served: tuple[Warden, Tenant], name: str, body: dict[str, Any]) -> None:
    warden, tenant = served
    error = _check_openai(
        _post(warden, "/v1/chat/completions", tenant.key, json.dumps(body).encode())
    )
    assert error["code"] in ("invalid_request", "unsupported")
    assert error["message"]


@pytest.mark.parametrize(("name", "body"), ANTHROPIC_BODIES, ids=[n for n, _ in ANTHROPIC_BODIES])
def test_anthropic_fields(served: tuple[Warden, Tenant], name: str, body: dict[str, Any]) -> None:
    warden, tenant = served
    error = _check_anthropic(_post(warden, "/v1/messages", tenant.key, json.dumps(body).encode()))
    assert error["code"] in ("invalid_request", "unsupported")


def test_messages_name_the_field(served: tuple[Warden, Tenant]) -> None:
    warden, tenant = served
    body = json.dumps(_openai(max_tokens="10")).encode()
    error = _check_openai(_post(warden, "/v1/chat/completions", tenant.key, body))
    assert error["message"] == "Field 'max_tokens' must be an integer, not a string."


def test_oversize_bodies_are_refused_before_reading(warden_factory_module: Any) -> None:
    warden = warden_factory_module(WardenSettings(max_body_bytes=1_000_000))
    tenant = warden.tenant()
    big = json.dumps(_openai(messages=[{"role": "user", "content": "x" * 1_100_000}])).encode()
    error = _check_openai(_post(warden, "/v1/chat/completions", tenant.key, big), 413)
    assert error["code"] == "request_too_large"
    error = _check_anthropic(_post(warden, "/v1/messages", tenant.key, big), 413)
    assert error["type"] == "request_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(40):
            yield b"x" * 50_000

    response = _post(warden, "/v1/chat/completions", tenant.key, chunks())  # type: ignore[arg-type]
    assert _check_openai(response, 413)["code"] == "request_too_large"


def test_authentication_comes_before_the_body(served: tuple[Warden, Tenant]) -> None:
    warden, _ = served
    response = _post(warden, "/v1/chat/completions", "bw_00000000_" + "A" * 43, b"{")
    assert _check_openai(response, 401)["code"] == "invalid_key"


def test_unknown_paths_and_methods_answer_json(served: tuple[Warden, Tenant]) -> None:
    warden, _ = served
    response = httpx.get(f"{warden.url}/v1/chat/completions")
    assert _check_openai(response, 405)["code"] == "method_not_allowed"
    response = httpx.post(f"{warden.url}/v1/nothing-here", content=b"{}")
    assert _check_openai(response, 404)["code"] == "not_found"


def test_malformed_bodies_are_audited_as_refusals(served: tuple[Warden, Tenant]) -> None:
    warden, tenant = served
    _post(warden, "/v1/chat/completions", tenant.key, b"{not json")
    row = warden.audit_rows()[-1]
    assert (row.decision, row.code, row.key_id) == ("refuse", "invalid_request", tenant.key_id)
    assert row.detail["status"] == 400
