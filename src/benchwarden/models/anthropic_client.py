"""Anthropic Messages over any base URL (Anthropic itself, warden, compatible servers).

Rendering under the API's rules is ``anthropic_render``; reading answers and stream
events back is ``anthropic_parse``. A thinking budget comes from the request
(``reasoning``) or the model's config (``thinking_budget``, ``reasoning_effort``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from benchwarden.models import anthropic_render as render
from benchwarden.models import custom_tools
from benchwarden.models.anthropic_parse import MessagesStream, message_choice, message_usage
from benchwarden.models.anthropic_parse import parse_event as _parse_event
from benchwarden.models.errors import BadRequest, UpstreamError
from benchwarden.models.http_base import HttpTransportBase
from benchwarden.models.http_errors import classify_stream_error
from benchwarden.models.param_rules import ParamRules, ReasoningSettings
from benchwarden.models.sse import iter_sse
from benchwarden.models.types import (
    Choice,
    GenerateRequest,
    GenerateResult,
    Mode,
    StreamDelta,
    Usage,
)

ANTHROPIC_VERSION = "2023-06-01"


class AnthropicTransport(HttpTransportBase):
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
        headers = {"anthropic-version": ANTHROPIC_VERSION, **dict(extra_headers or {})}
        if api_key:
            headers["x-api-key"] = api_key
        super().__init__(
            name, base_url, max_connections=max_connections, headers=headers, observe=observe
        )
        self.upstream_model = upstream_model
        self.rules = ParamRules.for_model(upstream_model, reasoning)

    def _payload(self, request: GenerateRequest, stream: bool) -> dict[str, Any]:
        if request.mode is Mode.COMPLETION:
            raise BadRequest(
                self.name,
                "the Messages API has no completion mode",
                hint="Use chat mode for Anthropic models.",
            )
        payload: dict[str, Any] = {
            "model": self.upstream_model,
            "max_tokens": request.max_tokens,
            "messages": render.messages(self.name, request),
        }
        system = render.system_text(request)
        if system:
            payload["system"] = system
        if request.temperature is not None:
            payload["temperature"] = min(1.0, request.temperature)
        if request.top_p is not None:
            payload["top_p"] = request.top_p
        if request.stop:
            payload["stop_sequences"] = list(request.stop)
        if request.tools:
            payload["tools"] = render.tools(request.tools)
        choice = request.tool_choice
        if choice is not None and request.tools:  # the APIs refuse a choice without tools
            payload["tool_choice"] = render.tool_choice(choice)
        if not render.forces_tool_use(choice):  # the API refuses thinking with a forced call
            render.apply_thinking(payload, self.rules.thinking_budget(request))
        if stream:
            payload["stream"] = True
        return payload

    async def attempt(self, request: GenerateRequest, timeout_s: float) -> GenerateResult:
        choices: list[Choice] = []
        usage = Usage()
        latency = 0.0
        data: dict[str, Any] = {}
        custom = custom_tools.custom_names(request.tools)
        payload = self._payload(request, False)
        # The Messages API has no n: ask n times.
        for _ in range(request.n):
            started = time.perf_counter()
            data = await self._post_json("/v1/messages", payload, timeout_s, request.purpose)
            latency += time.perf_counter() - started
            try:
                choices.append(message_choice(data, custom))
            except ValueError as exc:
                raise self._bad_shape(str(exc)) from exc
            usage = usage + message_usage(data.get("usage"))
        metadata: dict[str, Any] = {
            "provider": "anthropic",
            "api": "messages",
            "upstream_model": data.get("model"),
            "response_id": data.get("id"),
        }
        if "thinking" in payload:
            metadata["thinking_budget"] = payload["thinking"]["budget_tokens"]
        return GenerateResult(
            model=self.name,
            choices=tuple(choices),
            usage=usage,
            latency_s=latency,
            mode=Mode.CHAT,
            endpoint=self.endpoint,
            metadata=metadata,
        )

    async def attempt_stream(
        self, request: GenerateRequest, timeout_s: float
    ) -> AsyncIterator[StreamDelta]:
        state = MessagesStream(custom_tools.custom_names(request.tools))
        async with self._open_stream(
            "/v1/messages", self._payload(request, True), timeout_s, request.purpose
        ) as lines:
            async for event, data in iter_sse(lines):
                try:
                    payload = _parse_event(data)
                except ValueError as exc:
                    raise UpstreamError(self.name, "malformed JSON in the stream") from exc
                kind = payload.get("type", event)
                if kind == "error":
                    raise classify_stream_error(self.name, payload.get("error"))
                for delta in state.feed(kind, payload):
                    yield delta
                if state.done:
                    break
        yield state.close()
