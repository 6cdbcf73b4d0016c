"""OpenAI Chat Completions (and legacy Completions) over any base URL.

Works with OpenAI, vLLM, llama.cpp's server, Ollama and warden: all speak this
wire format. Completion mode uses ``/completions`` for base models. Tools, images,
tool results, structured output and reasoning are rendered by ``chat_render`` and read
back by ``chat_parse``; a reasoning model gets the parameters it accepts
(``param_rules``), learnt from its own 400 when the name and config did not tell.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from benchwarden.models import custom_tools
from benchwarden.models.chat_parse import ChatStream, chat_choice, chat_usage
from benchwarden.models.chat_render import agent_fields, chat_messages, completion_prompt
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
    map_finish_reason,
)

__all__ = ["OpenAITransport", "chat_messages", "completion_prompt"]


class OpenAITransport(HttpTransportBase):
    def __init__(
        self,
        name: str,
        base_url: str,
        upstream_model: str,
        api_key: str | None,
        *,
        default_mode: Mode = Mode.CHAT,
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
        self.default_mode = default_mode
        self.rules = ParamRules.for_model(upstream_model, reasoning)

    def _mode(self, request: GenerateRequest) -> Mode:
        if request.mode is not None:
            return request.mode
        return Mode.COMPLETION if request.prompt is not None else self.default_mode

    def _payload(self, request: GenerateRequest, mode: Mode, stream: bool) -> dict[str, Any]:
        payload: dict[str, Any] = {"model": self.upstream_model}
        if mode is Mode.CHAT:
            payload["messages"] = chat_messages(request)
        else:
            payload["prompt"] = completion_prompt(request)
        payload["max_tokens"] = request.max_tokens
        if request.temperature is not None:
            payload["temperature"] = request.temperature
        if request.top_p is not None:
            payload["top_p"] = request.top_p
        if request.stop:
            payload["stop"] = list(request.stop)
        if request.seed is not None:
            payload["seed"] = request.seed
        if request.n != 1:
            payload["n"] = request.n
        if mode is Mode.CHAT:
            payload.update(agent_fields(request))
            effort = self.rules.effort(request)
            if effort is not None:
                payload["reasoning_effort"] = effort
        if stream:
            payload["stream"] = True
            payload["stream_options"] = {"include_usage": True}
        # The legacy Completions API knows only max_tokens.
        return self.rules.shape(payload, cap="max_tokens" if mode is Mode.CHAT else None)

    async def attempt(self, request: GenerateRequest, timeout_s: float) -> GenerateResult:
        mode = self._mode(request)
        path = "/chat/completions" if mode is Mode.CHAT else "/completions"
        notes: list[str] = []
        started = time.perf_counter()
        while True:
            payload = self._payload(request, mode, False)
            try:
                data = await self._post_json(path, payload, timeout_s, request.purpose)
                break
            except BadRequest as exc:
                if not self.rules.adjust(exc, payload, notes):
                    raise
        latency = time.perf_counter() - started
        raw_choices = data.get("choices")
        if not isinstance(raw_choices, list) or not raw_choices:
            raise self._bad_shape("no choices")
        custom = custom_tools.custom_names(request.tools)
        choices = []
        try:
            for choice in sorted(raw_choices, key=lambda c: int(c.get("index", 0))):
                if mode is Mode.CHAT:
                    choices.append(chat_choice(choice, custom))
                else:
                    text = choice.get("text") or ""
                    choices.append(
                        Choice(str(text), map_finish_reason(choice.get("finish_reason")))
                    )
        except (AttributeError, TypeError, ValueError) as exc:
            raise self._bad_shape("malformed choice") from exc
        metadata: dict[str, Any] = {
            "provider": "openai",
            "api": "chat" if mode is Mode.CHAT else "completions",
            "upstream_model": data.get("model"),
            "response_id": data.get("id"),
        }
        if notes:
            metadata["param_adjustments"] = notes
        return GenerateResult(
            model=self.name,
            choices=tuple(choices),
            usage=chat_usage(data.get("usage")),
            latency_s=latency,
            mode=mode,
            endpoint=self.endpoint,
            metadata=metadata,
        )

    async def attempt_stream(
        self, request: GenerateRequest, timeout_s: float
    ) -> AsyncIterator[StreamDelta]:
        mode = self._mode(request)
        path = "/chat/completions" if mode is Mode.CHAT else "/completions"
        state = ChatStream(custom_tools.custom_names(request.tools), chat=mode is Mode.CHAT)
        notes: list[str] = []
        yielded = False
        while True:
            payload = self._payload(request, mode, True)
            try:
                async with self._open_stream(path, payload, timeout_s, request.purpose) as lines:
                    async for _event, data in iter_sse(lines):
                        if data.strip() == "[DONE]":
                            break
                        try:
                            chunk = json.loads(data)
                        except ValueError as exc:
                            raise UpstreamError(self.name, "malformed JSON in the stream") from exc
                        if not isinstance(chunk, dict):
                            raise UpstreamError(self.name, "unexpected chunk in the stream")
                        if "error" in chunk:  # ended by the provider (e.g. access revoked)
                            raise classify_stream_error(self.name, chunk["error"])
                        for delta in state.feed(chunk):
                            yielded = True
                            yield delta
                break
            except BadRequest as exc:  # refused before the first byte: nothing yielded yet
                if yielded or not self.rules.adjust(exc, payload, notes):
                    raise
        for delta in state.close():
            yield delta
