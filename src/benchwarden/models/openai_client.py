"""OpenAI Chat Completions (and legacy Completions) over any base URL.

Works with OpenAI, vLLM, llama.cpp's server, Ollama and warden: all speak this
wire format. Completion mode uses ``/completions`` for base models.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from benchwarden.models.errors import UpstreamError
from benchwarden.models.http_base import HttpTransportBase
from benchwarden.models.http_errors import classify_stream_error
from benchwarden.models.sse import iter_sse
from benchwarden.models.types import (
    Choice,
    GenerateRequest,
    GenerateResult,
    Mode,
    StreamDelta,
    Usage,
    map_finish_reason,
)


def completion_prompt(request: GenerateRequest) -> str:
    """The raw text a base model continues. A lone user turn is sent as is."""
    if request.prompt is not None:
        return request.prompt
    if request.system is None and len(request.messages) == 1:
        return request.messages[0].content
    lines = [request.system, ""] if request.system else []
    for message in request.messages:
        lines.append(f"{message.role.capitalize()}: {message.content}")
    lines.append("Assistant:")
    return "\n".join(lines)


def chat_messages(request: GenerateRequest) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": request.system}] if request.system else []
    if request.prompt is not None and not request.messages:
        messages.append({"role": "user", "content": request.prompt})
    messages.extend({"role": m.role, "content": m.content} for m in request.messages)
    return messages


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
        pause: Callable[[float], None] | None = None,
    ) -> None:
        headers = dict(extra_headers or {})
        if api_key:
            headers["authorization"] = f"Bearer {api_key}"
        super().__init__(
            name, base_url, max_connections=max_connections, headers=headers, pause=pause
        )
        self.upstream_model = upstream_model
        self.default_mode = default_mode

    def _mode(self, request: GenerateRequest) -> Mode:
        if request.mode is not None:
            return request.mode
        return Mode.COMPLETION if request.prompt is not None else self.default_mode

    def _payload(self, request: GenerateRequest, mode: Mode, stream: bool) -> dict[str, Any]:
        payload: dict[str, Any] = {"model": self.upstream_model, "max_tokens": request.max_tokens}
        if mode is Mode.CHAT:
            payload["messages"] = chat_messages(request)
        else:
            payload["prompt"] = completion_prompt(request)
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
        if stream:
            payload["stream"] = True
            payload["stream_options"] = {"include_usage": True}
        return payload

    async def attempt(self, request: GenerateRequest, timeout_s: float) -> GenerateResult:
        mode = self._mode(request)
        path = "/chat/completions" if mode is Mode.CHAT else "/completions"
        started = time.perf_counter()
        data = await self._post_json(
            path, self._payload(request, mode, False), timeout_s, request.purpose
        )
        latency = time.perf_counter() - started
        raw_choices = data.get("choices")
        if not isinstance(raw_choices, list) or not raw_choices:
            raise self._bad_shape("no choices")
        choices = []
        try:
            for choice in sorted(raw_choices, key=lambda c: int(c.get("index", 0))):
                if mode is Mode.CHAT:
                    text = (choice.get("message") or {}).get("content") or ""
                else:
                    text = choice.get("text") or ""
                choices.append(Choice(str(text), map_finish_reason(choice.get("finish_reason"))))
        except (AttributeError, TypeError, ValueError) as exc:
            raise self._bad_shape("malformed choice") from exc
        usage = data.get("usage") or {}
        return GenerateResult(
            model=self.name,
            choices=tuple(choices),
            usage=Usage(
                int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
            ),
            latency_s=latency,
            mode=mode,
            endpoint=self.endpoint,
            metadata={
                "provider": "openai",
                "upstream_model": data.get("model"),
                "response_id": data.get("id"),
            },
        )

    async def attempt_stream(
        self, request: GenerateRequest, timeout_s: float
    ) -> AsyncIterator[StreamDelta]:
        mode = self._mode(request)
        path = "/chat/completions" if mode is Mode.CHAT else "/completions"
        finish: str | None = None
        usage: Usage | None = None
        async with self._open_stream(
            path, self._payload(request, mode, True), timeout_s, request.purpose
        ) as lines:
            async for _event, data in iter_sse(lines):
                if data.strip() == "[DONE]":
                    break
                try:
                    chunk = json.loads(data)
                except ValueError as exc:
                    raise UpstreamError(self.name, "malformed JSON in the stream") from exc
                if "error" in chunk:  # ended by the provider (e.g. access revoked mid-stream)
                    raise classify_stream_error(self.name, chunk["error"])
                if chunk.get("usage"):
                    u = chunk["usage"]
                    usage = Usage(
                        int(u.get("prompt_tokens") or 0), int(u.get("completion_tokens") or 0)
                    )
                for choice in chunk.get("choices") or []:
                    if int(choice.get("index", 0)) != 0:
                        continue
                    if mode is Mode.CHAT:
                        text = (choice.get("delta") or {}).get("content") or ""
                    else:
                        text = choice.get("text") or ""
                    if choice.get("finish_reason"):
                        finish = choice["finish_reason"]
                    if text:
                        yield StreamDelta(text=text)
        yield StreamDelta(finish_reason=map_finish_reason(finish), usage=usage or Usage())
