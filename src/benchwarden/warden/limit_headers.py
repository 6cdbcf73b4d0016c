"""The rate-limit headers warden sends for a grant, in each API's names. Pure.

A limiter fills a ``LimitSnapshot`` when it admits a call (what the grant allows per
minute, what is left after this call, seconds until the window is whole again); the
answer carries it as the providers do, so any client can pace itself on warden the
way it would on them (bench's pacer reads exactly these):

- OpenAI: ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}``, reset as a
  duration ("1s", "250ms").
- Anthropic: ``anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}``, reset
  as an RFC 3339 time.

A limit the grant does not set (None) is not advertised.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from benchwarden.api.errors import ApiError, Dialect


@dataclass(frozen=True, slots=True)
class Window:
    """One limit per minute: the limit, what is left of it, seconds until whole."""

    limit: int
    remaining: int
    reset_s: float


@dataclass(frozen=True, slots=True)
class LimitSnapshot:
    requests: Window | None = None
    tokens: Window | None = None


class LimitRefusal(ApiError):
    """A 429 warden itself gives for a grant's limits: it carries the grant's headers
    too, as a provider's 429 does, so a client paces itself on the refusal alone."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        snapshot: LimitSnapshot,
        *,
        retry_after_s: float | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(status, code, message, retry_after_s=retry_after_s, retryable=retryable)
        self.snapshot = snapshot


def _duration(seconds: float) -> str:
    millis = max(0, math.ceil(seconds * 1000))
    return f"{millis // 1000}s" if millis % 1000 == 0 else f"{millis}ms"


def limit_headers(
    dialect: Dialect, snapshot: LimitSnapshot | None, now: datetime | None = None
) -> dict[str, str]:
    if snapshot is None:
        return {}
    now = now or datetime.now(UTC)
    headers: dict[str, str] = {}
    for name, window in (("requests", snapshot.requests), ("tokens", snapshot.tokens)):
        if window is None:
            continue
        remaining = max(0, min(window.limit, window.remaining))
        if dialect == "openai":
            headers[f"x-ratelimit-limit-{name}"] = str(window.limit)
            headers[f"x-ratelimit-remaining-{name}"] = str(remaining)
            headers[f"x-ratelimit-reset-{name}"] = _duration(window.reset_s)
        else:
            at = now + timedelta(seconds=max(0.0, window.reset_s))
            if at.microsecond:  # whole seconds, rounded up: waiting that long is enough
                at = at.replace(microsecond=0) + timedelta(seconds=1)
            headers[f"anthropic-ratelimit-{name}-limit"] = str(window.limit)
            headers[f"anthropic-ratelimit-{name}-remaining"] = str(remaining)
            headers[f"anthropic-ratelimit-{name}-reset"] = at.isoformat().replace("+00:00", "Z")
    return headers
