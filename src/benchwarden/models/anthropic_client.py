"""Anthropic Messages over any base URL (Anthropic itself, warden, compatible servers)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from benchwarden.models.errors import BadRequest, UpstreamError
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
        pause: Callable[[float], None] | None = None,
    ) -> None:
        headers = {"anthropic-version": ANTHROPIC_VERSION, **dict(extra_headers or {})}
        if api_key:
            headers["x-api-key"] = api_key
        super().__init__(
            name, base_url, max_connections=max_connections, headers=headers, pause=pause
        )
        self.upstream_model = upstream_model

    def _payload(self, request: GenerateRequest, stream: bool) -> dict[str, Any]:
        if request.mode is Mode.COMPLETION:
            raise BadRequest(
                self.name,
                "the Messages API has no completion mode",
                hint="Use chat mode for Anthropic models.",
            )
        messages = [
            {"role": m.role, "content": m.content} for m in request.messages if m.role != "system"
        ]
        if request.prompt is not None and not messages:
            messages = [{"role": "user", "content": request.prompt}]
        system_parts = [request.system] if request.system else []
        system_parts += [m.content for m in request.messages if m.role == "system"]
        payload: dict[str, Any] = {
            "model": self.upstream_model,
            "max_tokens": request.max_tokens,
            "messages": messages,
        }
        if system_parts:
            payload["system"] = "\n\n".join(system_parts)
        if request.temperature is not None:
            payload["temperature"] = min(1.0, request.temperature)
        if request.top_p is not None:
            payload["top_p"] = request.top_p
        if request.stop:
            payload["stop_sequences"] = list(request.stop)
        if stream:
            payload["stream"] = True
        return payload

    async def attempt(self, request: GenerateRequest, timeout_s: float) -> GenerateResult:
        choices: list[Choice] = []
        usage = Usage()
        latency = 0.0
        data: dict[str, Any] = {}
        # The Messages API has no n: ask n times.
        for _ in range(request.n):
            started = time.perf_counter()
            data = await self._post_json(
                "/v1/messages", self._payload(request, False), timeout_s, request.purpose
            )
            latency += time.perf_counter() - started
            content = data.get("content")
            if not isinstance(content, list):
                raise self._bad_shape("no content list")
            text = "".join(
                str(block.get("text", ""))
                for block in content
                if isinstance(block, dict) and block.get("type") == "text"
            )
            choices.append(Choice(text, map_finish_reason(data.get("stop_reason"))))
            u = data.get("usage") or {}
            usage = usage + Usage(int(u.get("input_tokens") or 0), int(u.get("output_tokens") or 0))
        return GenerateResult(
            model=self.name,
            choices=tuple(choices),
            usage=usage,
            latency_s=latency,
            mode=Mode.CHAT,
            endpoint=self.endpoint,
            metadata={
                "provider": "anthropic",
                "upstream_model": data.get("model"),
                "response_id": data.get("id"),
            },
        )

    async def attempt_stream(
        self, request: GenerateRequest, timeout_s: float
    ) -> AsyncIterator[StreamDelta]:
        input_tokens = output_tokens = 0
        stop_reason: str | None = None
        async with self._open_stream(
            "/v1/messages", self._payload(request, True), timeout_s, request.purpose
        ) as lines:
            async for event, data in iter_sse(lines):
                try:
                    payload = json.loads(data)
                except ValueError as exc:
                    raise UpstreamError(self.name, "malformed JSON in the stream") from exc
                kind = payload.get("type", event)
                if kind == "message_start":
                    u = (payload.get("message") or {}).get("usage") or {}
                    input_tokens = int(u.get("input_tokens") or 0)
                    output_tokens = int(u.get("output_tokens") or 0)
                elif kind == "content_block_delta":
                    delta = payload.get("delta") or {}
                    if delta.get("type") == "text_delta" and delta.get("text"):
                        yield StreamDelta(text=str(delta["text"]))
                elif kind == "message_delta":
                    stop_reason = (payload.get("delta") or {}).get("stop_reason") or stop_reason
                    u = payload.get("usage") or {}
                    output_tokens = int(u.get("output_tokens") or output_tokens)
                    # The final count, where a server sends it (message_start may estimate).
                    input_tokens = int(u.get("input_tokens") or input_tokens)
                elif kind == "error":
                    raise classify_stream_error(self.name, payload.get("error"))
                elif kind == "message_stop":
                    break
        yield StreamDelta(
            finish_reason=map_finish_reason(stop_reason), usage=Usage(input_tokens, output_tokens)
        )
