"""OpenAI Responses API (``POST {base_url}/responses``) over any base URL.

What Codex CLI speaks, and the API OpenAI's newest models are served best through:
input items instead of messages, reasoning items that carry their
``encrypted_content`` from turn to turn (``store: false``: nothing is kept upstream),
custom tools with a grammar. Rendering is ``responses_render``, reading answers and
stream events back ``responses_parse``. The API has no ``n``, ``stop`` or ``seed``: n
answers are n calls; stop sequences and seeds are not sent.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from benchwarden.models import responses_render as render
from benchwarden.models.errors import (
    BadRequest,
    ModelError,
    RateLimited,
    UpstreamError,
)
from benchwarden.models.http_base import HttpTransportBase
from benchwarden.models.http_errors import classify_stream_error
from benchwarden.models.param_rules import ParamRules, ReasoningSettings
from benchwarden.models.responses_parse import ResponsesStream, response_choice, response_usage
from benchwarden.models.sse import iter_sse
from benchwarden.models.types import (
    Choice,
    GenerateRequest,
    GenerateResult,
    Mode,
    StreamDelta,
    Usage,
)

# Codes of a failed response that another try cannot fix (the input itself is refused).
_REQUEST_CODES = ("invalid_prompt", "bio_policy", "data_residency_mismatch")


def response_error(model: str, fields: dict[str, Any]) -> ModelError:
    """A failed response (``response.failed``, an ``error`` event) as a typed error."""
    code = fields.get("code") or fields.get("type")
    code = str(code) if code is not None else None
    message = str(fields.get("message") or "the response failed")[:300]
    if code == "rate_limit_exceeded":
        return RateLimited(model, message, code=code)
    if code is not None and (code in _REQUEST_CODES or "image" in code):
        return BadRequest(model, message, code=code, hint="Fix the request (its input).")
    return classify_stream_error(model, {**fields, "code": code, "message": message})


class ResponsesTransport(HttpTransportBase):
    def __init__(
        self,
        name: str,
        base_url: str,
        upstream_model: str,
        api_key: str | None,
        *,
        max_connections: int = 64,
        extra_headers: Mapping[str, str] | None = None,
        observe: Callable[[Mapping[str, str]], None] | None = None,
        reasoning: ReasoningSettings | None = None,
    ) -> None:
        headers = dict(extra_headers or {})
        if api_key:
            headers["authorization"] = f"Bearer {api_key}"
        super().__init__(
            name, base_url, max_connections=max_connections, headers=headers, observe=observe
        )
        self.upstream_model = upstream_model
        self.rules = ParamRules.for_model(upstream_model, reasoning)

    def _payload(self, request: GenerateRequest, stream: bool) -> dict[str, Any]:
        if request.mode is Mode.COMPLETION:
            raise BadRequest(
                self.name,
                "the Responses API has no completion mode",
                hint="Use chat mode, or api = 'chat' for a base model.",
            )
        payload: dict[str, Any] = {
            "model": self.upstream_model,
            "input": render.input_items(request),
            "max_output_tokens": max(request.max_tokens, render.MIN_OUTPUT_TOKENS),
            "store": False,
        }
        instructions = render.system_text(request)
        if instructions:
            payload["instructions"] = instructions
        if request.temperature is not None:
            payload["temperature"] = request.temperature
        if request.top_p is not None:
            payload["top_p"] = request.top_p
        if request.tools:
            payload["tools"] = render.tools(request.tools)
        choice = request.tool_choice
        if choice is not None:
            if request.tools:  # the APIs refuse a tool_choice without tools
                payload["tool_choice"] = render.tool_choice(choice, request.tools)
            if choice.parallel is not None and request.tools:
                payload["parallel_tool_calls"] = choice.parallel
        effort = self.rules.effort(request)
        summary = request.reasoning.summary if request.reasoning else None
        if effort is not None or summary is not None:
            payload["reasoning"] = {
                **({"effort": effort} if effort is not None else {}),
                **({"summary": summary} if summary is not None else {}),
            }
        if effort is not None or self.rules.reasoning_model:
            payload["include"] = ["reasoning.encrypted_content"]
        if request.response_format:
            payload["text"] = {"format": render.text_format(request.response_format)}
        if stream:
            payload["stream"] = True
        return self.rules.shape(payload, cap=None)

    async def _post(
        self, request: GenerateRequest, timeout_s: float, notes: list[str]
    ) -> dict[str, Any]:
        while True:
            payload = self._payload(request, False)
            try:
                return await self._post_json("/responses", payload, timeout_s, request.purpose)
            except BadRequest as exc:
                if not self.rules.adjust(exc, payload, notes):
                    raise

    async def attempt(self, request: GenerateRequest, timeout_s: float) -> GenerateResult:
        choices: list[Choice] = []
        usage = Usage()
        notes: list[str] = []
        data: dict[str, Any] = {}
        started = time.perf_counter()
        for _ in range(request.n):
            data = await self._post(request, timeout_s, notes)
            if data.get("status") == "failed" or (data.get("error") and not data.get("output")):
                error = data.get("error")
                raise response_error(self.name, error if isinstance(error, dict) else {})
            try:
                choices.append(response_choice(data))
            except ValueError as exc:
                raise self._bad_shape(str(exc)) from exc
            usage = usage + response_usage(data.get("usage"))
        metadata: dict[str, Any] = {
            "provider": "openai",
            "api": "responses",
            "upstream_model": data.get("model"),
            "response_id": data.get("id"),
        }
        if notes:
            metadata["param_adjustments"] = notes
        return GenerateResult(
            model=self.name,
            choices=tuple(choices),
            usage=usage,
            latency_s=time.perf_counter() - started,
            mode=Mode.CHAT,
            endpoint=self.endpoint,
            metadata=metadata,
        )

    async def attempt_stream(
        self, request: GenerateRequest, timeout_s: float
    ) -> AsyncIterator[StreamDelta]:
        state = ResponsesStream()
        notes: list[str] = []
        yielded = False
        while True:
            payload = self._payload(request, True)
            try:
                async with self._open_stream(
                    "/responses", payload, timeout_s, request.purpose
                ) as lines:
                    async for event, data in iter_sse(lines):
                        if data.strip() == "[DONE]":
                            break
                        try:
                            parsed = json.loads(data)
                        except ValueError as exc:
                            raise UpstreamError(self.name, "malformed JSON in the stream") from exc
                        if not isinstance(parsed, dict):
                            raise UpstreamError(self.name, "unexpected event in the stream")
                        parsed.setdefault("type", event)
                        for delta in state.feed(parsed):
                            yielded = True
                            yield delta
                        if state.error is not None:
                            raise response_error(self.name, state.error)
                        if state.done:
                            break
                break
            except BadRequest as exc:  # refused before the first byte: nothing yielded yet
                if yielded or exc.status is None or not self.rules.adjust(exc, payload, notes):
                    raise
        yield state.close()
