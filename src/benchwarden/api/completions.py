"""OpenAI's legacy Completions (``POST /v1/completions``): raw text in, text out.

What base models speak (Gemma 3 270M), and what bench's OpenAI client sends for
models in completion mode, so that bench can compare base models through warden.
One prompt per request; ``echo``, ``suffix``, ``logprobs`` and ``best_of`` are refused.
"""

from __future__ import annotations

import time
from typing import Any

from benchwarden.api import fields
from benchwarden.api.errors import ApiError, error_body, invalid
from benchwarden.api.openai import FINISH, usage_body
from benchwarden.api.wire import ParsedCall, new_id, sse
from benchwarden.models.types import (
    FinishReason,
    GenerateRequest,
    GenerateResult,
    Mode,
    StreamDelta,
    Usage,
)

# The real API's default when max_tokens is left out.
DEFAULT_COMPLETION_TOKENS = 16


def _prompt(data: dict[str, Any]) -> str:
    raw = data.get("prompt")
    if isinstance(raw, list):
        if len(raw) != 1:
            raise invalid("Field 'prompt' must hold exactly one prompt here.", "unsupported")
        raw = raw[0]
    if raw is None:
        raise invalid("Field 'prompt' is required.")
    if not isinstance(raw, str):
        raise invalid(f"Field 'prompt' must be a string, not {fields.json_type(raw)}.")
    return fields.text(raw, "prompt")


def parse_request(data: dict[str, Any]) -> ParsedCall:
    model = fields.get_text(data, "model", required=True) or ""
    if not model:
        raise invalid("Field 'model' must not be empty.")
    prompt = _prompt(data)
    if fields.get_bool(data, "echo"):
        raise invalid("Field 'echo' is not supported here.", "unsupported")
    for name in ("suffix", "logprobs"):
        if data.get(name) is not None:
            raise invalid(f"Field '{name}' is not supported here.", "unsupported")
    for name in ("n", "best_of"):
        if fields.get_int(data, name, low=1) not in (None, 1):
            raise invalid(f"Field '{name}' must be 1: one answer per request.", "unsupported")
    stream = fields.get_bool(data, "stream")
    options = fields.get_object(data, "stream_options")
    if options is not None and not stream:
        raise invalid("Field 'stream_options' is only allowed when 'stream' is true.")
    max_tokens = fields.get_int(data, "max_tokens", low=1, high=fields.MAX_TOKENS_CAP)
    request = GenerateRequest(
        prompt=prompt,
        mode=Mode.COMPLETION,
        max_tokens=max_tokens or DEFAULT_COMPLETION_TOKENS,
        temperature=fields.get_number(data, "temperature", low=0.0, high=2.0),
        top_p=fields.get_number(data, "top_p", low=0.0, high=1.0, low_open=True),
        stop=fields.get_stops(data, "stop", allow_string=True),
        seed=fields.get_int(data, "seed", low=-(2**63), high=2**63 - 1),
    )
    include_usage = fields.get_bool(options or {}, "include_usage")
    return ParsedCall(model, request, stream=stream, include_usage=include_usage, raw=data)


def response_body(call: ParsedCall, result: GenerateResult) -> dict[str, Any]:
    return {
        "id": new_id("cmpl-"),
        "object": "text_completion",
        "created": int(time.time()),
        "model": call.model,
        "choices": [
            {
                "text": result.text,
                "index": 0,
                "logprobs": None,
                "finish_reason": FINISH[result.finish_reason],
            }
        ],
        "usage": usage_body(result.usage),
    }


class CompletionStream:
    def __init__(self, call: ParsedCall) -> None:
        self.id = new_id("cmpl-")
        self.created = int(time.time())
        self.model = call.model
        self.include_usage = call.include_usage

    def _chunk(self, text: str, finish: str | None) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": self.id,
            "object": "text_completion",
            "created": self.created,
            "model": self.model,
            "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": finish}],
        }
        if self.include_usage:
            chunk["usage"] = None
        return chunk

    def start(self, input_tokens_estimate: int) -> bytes:
        return b""

    def text(self, piece: str) -> bytes:
        return sse(self._chunk(piece, None))

    def delta(self, delta: StreamDelta) -> bytes:
        return self.text(delta.text) if delta.text else b""

    def end(self, finish: FinishReason, usage: Usage) -> bytes:
        out = sse(self._chunk("", FINISH[finish]))
        if self.include_usage:
            last = self._chunk("", None)
            last["choices"] = []
            last["usage"] = usage_body(usage)
            out += sse(last)
        return out + sse("[DONE]")

    def error(self, error: ApiError) -> bytes:
        return sse(error_body("openai", error))


class CompletionsWire:
    dialect = "openai"

    def parse(self, data: dict[str, Any]) -> ParsedCall:
        return parse_request(data)

    def response(self, call: ParsedCall, result: GenerateResult) -> dict[str, Any]:
        return response_body(call, result)

    def encoder(self, call: ParsedCall) -> CompletionStream:
        return CompletionStream(call)
