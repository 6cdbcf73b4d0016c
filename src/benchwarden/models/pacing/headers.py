"""Reading the providers' pacing headers. Pure functions over header mappings.

OpenAI sends ``retry-after``/``retry-after-ms`` and ``x-ratelimit-remaining-*`` with
``x-ratelimit-reset-*`` as durations ("1s", "6m0s", "250ms"); Anthropic sends
``retry-after`` and ``anthropic-ratelimit-*-remaining``/``-reset`` as RFC 3339 times.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
# Never wait longer than this on the word of a header alone.
MAX_HEADER_WAIT_S = 300.0


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def parse_duration(text: str) -> float | None:
    """'1s', '6m0s', '250ms', '1h2m3.5s' or a bare number of seconds, in seconds."""
    text = text.strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            return None
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    return total if pos == len(text) else None


def _seconds_until(text: str, now: datetime) -> float | None:
    """An HTTP date or an RFC 3339 time, as seconds from ``now`` (never negative)."""
    when: datetime | None = None
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def retry_after_seconds(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """How long the provider asked us to wait, from any header that says so."""
    h = _lower(headers)
    now = now or datetime.now(UTC)
    if "retry-after-ms" in h:
        try:
            return min(MAX_HEADER_WAIT_S, max(0.0, float(h["retry-after-ms"]) / 1000.0))
        except ValueError:
            pass
    if "retry-after" in h:
        value = h["retry-after"].strip()
        try:
            return min(MAX_HEADER_WAIT_S, max(0.0, float(value)))
        except ValueError:
            seconds = _seconds_until(value, now)
            if seconds is not None:
                return min(MAX_HEADER_WAIT_S, seconds)
    return None


def exhausted_quota_wait(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """If a remaining-requests or remaining-tokens counter hit zero, seconds until reset.

    Lets a client pause *before* sending a request it knows will be refused.
    """
    h = _lower(headers)
    now = now or datetime.now(UTC)
    waits: list[float] = []
    for kind in ("requests", "tokens"):
        openai_remaining = h.get(f"x-ratelimit-remaining-{kind}")
        if openai_remaining is not None and _is_zero(openai_remaining):
            reset = parse_duration(h.get(f"x-ratelimit-reset-{kind}", ""))
            if reset is not None:
                waits.append(reset)
        anthropic_remaining = h.get(f"anthropic-ratelimit-{kind}-remaining")
        if anthropic_remaining is not None and _is_zero(anthropic_remaining):
            reset_at = h.get(f"anthropic-ratelimit-{kind}-reset")
            seconds = _seconds_until(reset_at, now) if reset_at else None
            if seconds is not None:
                waits.append(seconds)
    return min(MAX_HEADER_WAIT_S, max(waits)) if waits else None


def _is_zero(value: str) -> bool:
    try:
        return float(value) <= 0
    except ValueError:
        return False


# The dimensions a provider may advertise, by the names used here.
DIMENSIONS = ("requests", "tokens", "input_tokens", "output_tokens")


@dataclass(frozen=True, slots=True)
class LimitReading:
    """One advertised limit as an answer reported it: the limit per minute, what is
    left of it, and seconds until it is whole again (None when a header was absent)."""

    limit: float
    remaining: float | None = None
    reset_s: float | None = None


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if value >= 0 else None


def read_limits(headers: Mapping[str, str], now: datetime | None = None) -> dict[str, LimitReading]:
    """Every advertised limit in ``headers``, by dimension (``DIMENSIONS``).

    OpenAI: ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}`` (reset as a
    duration). Anthropic: ``anthropic-ratelimit-{requests,tokens,input-tokens,
    output-tokens}-{limit,remaining,reset}`` (reset as an RFC 3339 time). A dimension
    without a usable positive limit is left out.
    """
    h = _lower(headers)
    now = now or datetime.now(UTC)
    found: dict[str, LimitReading] = {}
    for dim in DIMENSIONS:
        wire = dim.replace("_", "-")
        limit = _number(h.get(f"x-ratelimit-limit-{wire}"))
        if limit:
            reset_text = h.get(f"x-ratelimit-reset-{wire}")
            found[dim] = LimitReading(
                limit,
                _number(h.get(f"x-ratelimit-remaining-{wire}")),
                parse_duration(reset_text) if reset_text else None,
            )
            continue
        limit = _number(h.get(f"anthropic-ratelimit-{wire}-limit"))
        if limit:
            reset_at = h.get(f"anthropic-ratelimit-{wire}-reset")
            found[dim] = LimitReading(
                limit,
                _number(h.get(f"anthropic-ratelimit-{wire}-remaining")),
                _seconds_until(reset_at, now) if reset_at else None,
            )
    return found
