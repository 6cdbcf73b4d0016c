"""A prompt longer than the model's window is a 400 ``context_length_exceeded`` with the
prompt's size, the window and what to do, never "refused": from the embedded model
directly (bench), through warden in each API's error format, and from an upstream's
own overflow (OpenAI's code, Anthropic's wording) relayed or translated."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import anthropic
import openai
import pytest

from benchwarden.bench.agentic.attempt import is_context_overflow
from benchwarden.models.errors import BadRequest
from benchwarden.models.factory import open_client
from benchwarden.models.registry import EMBEDDED
from benchwarden.models.types import GenerateRequest
from benchwarden.testing.mock_upstream import Fault, MockUpstream
from benchwarden.warden.app import create_app, runtime_of
from benchwarden.warden.server import BackgroundServer
from benchwarden.warden.tenancy import GrantTerms
from tests.warden.conftest import Warden

SMOL = "local/smollm2-135m"
LONG = "Please summarise these words: " + "river stone cloud " * 2000  # ~6000 tokens
WINDOW = 4096


def _says_what_happened(message: str) -> None:
    assert f"maximum context length is {WINDOW} tokens" in message
    assert "the prompt has " in message and "Reduce the length" in message
    assert "refus" not in message.lower()


def test_embedded_model_overflow_is_typed_for_bench() -> None:
    async def ask() -> BadRequest:
        client = open_client(EMBEDDED[SMOL], use_cache=False)
        try:
            await client.generate(GenerateRequest.from_prompt(LONG, max_tokens=8))
        except BadRequest as exc:
            return exc
        finally:
            await client.aclose()
        raise AssertionError("a prompt past the window was answered")

    error = asyncio.run(ask())
    assert error.code == "context_length_exceeded"
    prompt_tokens = int(error.message.split("the prompt has ")[1].split()[0])
    assert prompt_tokens > WINDOW
    assert "BENCHWARDEN_LOCAL_CTX" in error.hint and "refus" not in str(error).lower()
    assert is_context_overflow(error)  # bench's agentic loop ends the attempt on it


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    app = create_app(str(tmp_path_factory.mktemp("ctx") / "w.db"), admin_token="")
    tenancy = runtime_of(app).tenancy
    tenancy.create_org("lab")
    tenancy.add_grant("lab", SMOL, GrantTerms(("benchmarking",)))
    _, key = tenancy.create_key("lab", ["benchmarking"])
    with BackgroundServer(app) as server:
        yield server.url, key


@pytest.mark.parametrize("stream", [False, True])
def test_openai_chat_through_warden(served: tuple[str, str], stream: bool) -> None:
    url, key = served
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)
    with pytest.raises(openai.BadRequestError) as caught:
        reply = client.chat.completions.create(
            model=SMOL,
            messages=[{"role": "user", "content": LONG}],
            max_tokens=8,
            stream=stream,
        )
        if stream:
            list(reply)
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["code"] == "context_length_exceeded" and body["param"] == "messages"
    assert body["type"] == "invalid_request_error"
    _says_what_happened(body["message"])


def test_openai_responses_through_warden(served: tuple[str, str]) -> None:
    url, key = served
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model=SMOL, input=LONG, max_output_tokens=16)
    body = caught.value.body
    assert isinstance(body, dict) and body["code"] == "context_length_exceeded"
    _says_what_happened(body["message"])


def test_anthropic_messages_through_warden(served: tuple[str, str]) -> None:
    url, key = served
    client = anthropic.Anthropic(base_url=url, api_key=key, max_retries=0)
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(
            model=SMOL, max_tokens=8, messages=[{"role": "user", "content": LONG}]
        )
    body = caught.value.body
    assert isinstance(body, dict) and body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["code"] == "context_length_exceeded"
    _says_what_happened(body["error"]["message"])


_OPENAI_OVERFLOW = {
    "error": {
        "message": "This model's maximum context length is 4096 tokens. However, your "
        "messages resulted in 6031 tokens. Please reduce the length of the messages.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "context_length_exceeded",
    }
}
_ANTHROPIC_OVERFLOW = {
    "type": "error",
    "error": {
        "type": "invalid_request_error",
        "message": "prompt is too long: 6031 tokens > 4096 maximum",
    },
}


@pytest.mark.parametrize(
    ("model", "body", "size"),
    [("mock-gpt", _OPENAI_OVERFLOW, "6031 tokens"), ("mock-claude", _ANTHROPIC_OVERFLOW, "6031")],
    ids=["openai-upstream", "anthropic-upstream"],
)
def test_an_upstreams_overflow_keeps_its_name(
    warden: Warden, upstream: MockUpstream, model: str, body: dict[str, object], size: str
) -> None:
    tenant = warden.tenant()
    # Called through the OpenAI API: relayed to the OpenAI upstream, translated to the
    # Anthropic one; either way the caller learns the prompt did not fit.
    upstream.script(Fault("status", 400, body))
    with pytest.raises(openai.BadRequestError) as caught:
        warden.openai(tenant.key).chat.completions.create(
            model=model, messages=[{"role": "user", "content": "hi"}], max_tokens=8
        )
    error = caught.value.body
    assert isinstance(error, dict) and error["code"] == "context_length_exceeded"
    assert size in error["message"] and "Reduce the length" in error["message"]
    assert "refus" not in error["message"].lower()


def test_other_upstream_400s_are_not_called_refusals(
    warden: Warden, upstream: MockUpstream
) -> None:
    tenant = warden.tenant()
    invalid = {"error": {"message": "temperature: out of range", "type": "invalid_request_error"}}
    upstream.script(Fault("status", 400, invalid))
    with pytest.raises(openai.BadRequestError) as caught:
        warden.openai(tenant.key).chat.completions.create(
            model="mock-gpt", messages=[{"role": "user", "content": "hi"}], max_tokens=8
        )
    error = caught.value.body
    assert isinstance(error, dict) and error["code"] == "upstream_bad_request"
    assert "rejected the request: temperature: out of range" in error["message"]
    assert "refus" not in error["message"].lower()
