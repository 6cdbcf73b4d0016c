"""Counting a call's tokens before and while it runs.

Before: ``prompt_bound`` is an upper bound of the prompt's tokens without a tokenizer.
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

import math
import time
from collections.abc import Callable

from benchwarden.models.types import GenerateRequest, Usage
from benchwarden.warden.limits import Limiter, Reservation

PER_MESSAGE_ALLOWANCE = 8
FIXED_ALLOWANCE = 64


def _texts(request: GenerateRequest) -> list[str]:
    texts = [m.content for m in request.messages]
    if request.system:
        texts.append(request.system)
    if request.prompt:
        texts.append(request.prompt)
    return texts


def prompt_bound(request: GenerateRequest) -> int:
    """At least as many tokens as the prompt will take (see the module docstring)."""
    texts = _texts(request)
    size = sum(len(t.encode("utf-8")) for t in texts)
    return size + PER_MESSAGE_ALLOWANCE * len(texts) + FIXED_ALLOWANCE


def rough_estimate(request: GenerateRequest) -> int:
    """A typical count (about four bytes a token), for display before the real one."""
    size = sum(len(t.encode("utf-8")) for t in _texts(request))
    return math.ceil(size / 4) + 4 * len(request.messages)


class Meter:
    """One call's running count against its reservation."""

    EXTEND_STEP = 16  # extend in steps, not token by token

    def __init__(
        self,
        limiter: Limiter,
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
        (``max_tokens``: the request's own limit; ``token_limit``: the grant's TPM)."""
        if self.output + 1 > self.max_tokens:
            return "max_tokens"
        needed = self.prompt_tokens + self.output + 1 - self.reservation.tokens
        if needed > 0:
            step = max(needed, self.EXTEND_STEP)
            now = self._clock()
            extended = self._limiter.extend(self.reservation, step, now)
            if not extended and not self._limiter.extend(self.reservation, needed, now):
                return "token_limit"
        self.output += 1
        return None

    def counted(self) -> Usage:
        return Usage(self.prompt_tokens, self.output)
