"""What both wire formats share: a parsed call, the stream encoder interface, SSE framing.

A ``ParsedCall`` is a request translated into the neutral ``GenerateRequest`` that
every model client takes. A ``StreamEncoder`` turns the neutral stream (text pieces,
then an end or an error) into that API's exact server-sent events.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any, Protocol

from benchwarden.api.errors import ApiError
from benchwarden.models.types import (
    FinishReason,
    GenerateRequest,
    GenerateResult,
    StreamDelta,
    Usage,
)

# What max_tokens means when a request leaves it out (OpenAI allows that).
DEFAULT_MAX_TOKENS = 512


@dataclass(frozen=True, slots=True)
class ParsedCall:
    """A valid request: the model asked for, the neutral request, and stream options."""

    model: str
    request: GenerateRequest
    stream: bool = False
    include_usage: bool = False
    # The body as the client sent it: forwarded as is to a backend of the same API.
    raw: dict[str, Any] = field(default_factory=dict)
    # Fields that only a backend of the same API can serve (``logprobs``, ``n`` on
    # Anthropic...): translating to another API is a 400 naming the first.
    untranslatable: tuple[str, ...] = ()
    # Hosted tools (``web_search``...): (index in the raw ``tools``, type).
    hosted_tools: tuple[tuple[int, str], ...] = ()
    # Hints that a backend of another API does without (``cache_control``...): named
    # in the audit detail when the call is translated.
    dropped: tuple[str, ...] = ()
    # (message, part) of a neutral tool call or result -> the field it came from.
    places: dict[tuple[int, int], str] = field(default_factory=dict)


class StreamEncoder(Protocol):
    """One response stream in one API's format. Call ``start`` once, ``delta`` per
    piece (text, thinking or a piece of a tool call), then exactly one of ``end`` (a
    clean finish) or ``error`` (the stream is cut)."""

    def start(self, input_tokens_estimate: int) -> bytes: ...

    def text(self, piece: str) -> bytes: ...

    def delta(self, delta: StreamDelta) -> bytes: ...

    def end(self, finish: FinishReason, usage: Usage) -> bytes: ...

    def error(self, error: ApiError) -> bytes: ...


class Wire(Protocol):
    """An API's wire format: parse a body, render a result, open a stream encoder."""

    dialect: str

    def parse(self, data: dict[str, Any]) -> ParsedCall: ...

    def response(self, call: ParsedCall, result: GenerateResult) -> dict[str, Any]: ...

    def encoder(self, call: ParsedCall) -> StreamEncoder: ...


def sse(data: dict[str, Any] | str, event: str | None = None) -> bytes:
    """One server-sent event. JSON is compact, one line, so ``data:`` is a single field."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


def new_id(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(12)}"
