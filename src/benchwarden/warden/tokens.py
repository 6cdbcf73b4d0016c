"""Counting a call's tokens before and while it runs.

Before: ``prompt_bound`` is an upper bound of the prompt's tokens without a tokenizer,
tool definitions, tool calls and results, thinking and images included.
Byte-level BPE (SmolLM2, GPT-style) and byte-fallback SentencePiece (Gemma) never use
more tokens than UTF-8 bytes; a chat template adds a few tokens per message and a
default system prompt, which the per-message and fixed allowances cover. Reserving
this bound plus ``max_tokens`` means a grant's TPM holds even before the model says
how many tokens it used; the excess is refunded at settlement, seconds later.

While: ``Meter`` counts a stream's pieces (one token each at least), ends it at
``max_tokens`` (whatever the backend does), and extends the reservation when the
count outgrows it; when the grant has no room left it says to end the stream.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable

from benchwarden.models.content import ImagePart, Part, Reasoning, TextPart, ToolCall, ToolResult
from benchwarden.models.types import GenerateRequest, Usage
from benchwarden.warden.limits import Reservation
from benchwarden.warden.shared_limits import AnyLimiter, SharedLimiter, extend

PER_MESSAGE_ALLOWANCE = 8
FIXED_ALLOWANCE = 64
# An image costs a fixed number of tokens whatever its bytes: at most ~1,600 on
# Anthropic, ~1,100 for OpenAI's high detail; this bounds both with room to spare.
IMAGE_TOKENS = 4096


def _part_texts(part: Part) -> list[str]:
    if isinstance(part, TextPart):
        return [part.text]
    if isinstance(part, ToolCall):
        return [part.name, part.arguments]
    if isinstance(part, ToolResult):
        return [part.content]
    if isinstance(part, Reasoning):
        return [part.text]  # signatures and encrypted content are not read as tokens
    return []


def _texts(request: GenerateRequest) -> list[str]:
    """Everything the model reads as text: turns (every part of them), the system
    prompt, and each tool's definition as the provider will show it to the model."""
    texts: list[str] = []
    for message in request.messages:
        if message.parts:
            texts.extend(t for part in message.parts for t in _part_texts(part))
        else:
            texts.append(message.content)
    if request.system:
        texts.append(request.system)
    if request.prompt:
        texts.append(request.prompt)
    for tool in request.tools:
        definition = {"n": tool.name, "d": tool.description, "p": tool.parameters}
        texts.append(json.dumps({**definition, "g": tool.grammar}, ensure_ascii=False))
    if request.response_format:
        texts.append(json.dumps(request.response_format, ensure_ascii=False))
    return texts


def _images(request: GenerateRequest) -> int:
    count = 0
    for message in request.messages:
        for part in message.parts:
            if isinstance(part, ImagePart):
                count += 1
            elif isinstance(part, ToolResult):
                count += len(part.images)
    return count


def prompt_bound(request: GenerateRequest) -> int:
    """At least as many tokens as the prompt will take (see the module docstring)."""
    texts = _texts(request)
    size = sum(len(t.encode("utf-8")) for t in texts)
    allowance = PER_MESSAGE_ALLOWANCE * len(texts)  # per text: a tool call's syntax too
    return size + allowance + IMAGE_TOKENS * _images(request) + FIXED_ALLOWANCE


def rough_estimate(request: GenerateRequest) -> int:
    """A typical count (about four bytes a token), for display before the real one."""
    size = sum(len(t.encode("utf-8")) for t in _texts(request))
    return math.ceil(size / 4) + 4 * len(request.messages)


class Meter:
    """One call's running count against its reservation."""

    EXTEND_STEP = 16  # extend in steps, not token by token

    def __init__(
        self,
        limiter: AnyLimiter,
        reservation: Reservation,
        prompt_tokens: int,
        max_tokens: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limiter = limiter
        self.reservation = reservation
        self.prompt_tokens = prompt_tokens
        self.max_tokens = max_tokens
        self._clock = clock
        self.output = 0

    def admit_piece(self) -> str | None:
        """Count one piece; None to send it, or why the stream must end instead
        (``max_tokens``: the request's own limit; ``token_limit``: the grant's TPM).
        For an in-process limiter; ``admit`` takes either kind."""
        limiter = self._limiter
        assert not isinstance(limiter, SharedLimiter), "a shared limiter needs admit()"
        if self.output + 1 > self.max_tokens:
            return "max_tokens"
        needed = self.prompt_tokens + self.output + 1 - self.reservation.tokens
        if needed > 0:
            step = max(needed, self.EXTEND_STEP)
            now = self._clock()
            extended = limiter.extend(self.reservation, step, now)
            if not extended and not limiter.extend(self.reservation, needed, now):
                return "token_limit"
        self.output += 1
        return None

    async def admit(self) -> str | None:
        """``admit_piece`` for any limiter: a shared one is asked only when the count
        outgrows the reservation (at most once every ``EXTEND_STEP`` pieces)."""
        if self.output + 1 > self.max_tokens:
            return "max_tokens"
        needed = self.prompt_tokens + self.output + 1 - self.reservation.tokens
        if needed > 0:
            step = max(needed, self.EXTEND_STEP)
            now = self._clock()
            extended = await extend(self._limiter, self.reservation, step, now)
            if not extended and not await extend(self._limiter, self.reservation, needed, now):
                return "token_limit"
        self.output += 1
        return None

    def counted(self) -> Usage:
        return Usage(self.prompt_tokens, self.output)
