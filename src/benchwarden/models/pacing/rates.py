"""What rate to pace at, and what a request costs. Pure decisions over plain values.

- Advertised: a provider that sends its limits (``headers.read_limits``) is paced at
  ``HEADROOM`` of each per-minute figure, in every dimension it names (requests,
  tokens, input and output tokens).
- Learned: a provider that only refuses (429, perhaps with ``Retry-After``) gets a
  rate estimated from what it accepted before the first refusal, then AIMD on the
  rate: doubling each second until the second refusal, then faster with every second
  of calm (ever faster the longer it lasts) and, on each refusal, ``DECREASE`` times
  slower than both the refused pace and what was accepted just before. Concurrency
  cannot do this job: at 50 ms an answer, one call in flight is already 20 requests
  per second.
- Requests cost one each; tokens are estimated before the call (prompt characters / 4
  plus ``max_tokens``, which is what providers reserve) and corrected by the answer's
  usage.
"""

from __future__ import annotations

from collections.abc import Mapping

from benchwarden.models.pacing.headers import LimitReading
from benchwarden.models.types import GenerateRequest, Usage

# Pace at this share of an advertised limit: the provider's clock and ours differ a
# little, and its bucket may refill in steps.
HEADROOM = 0.99
# The client's bucket, in seconds of the rate (see ``bucket``).
BURST_S = 0.5
# Learned rates: one refusal slows by this factor; each second without one speeds up
# by GROWTH (so the limit is found again in some seconds, and overrun only slowly).
DECREASE = 0.85
GROWTH = 0.02
ACCELERATION = 0.03  # per second of calm, per second
SEARCH_GROWTH = 1.0  # per second, before the second refusal
MEASURE_S = 2.0  # the window of accepted requests a refusal is compared with
# Fewer accepted requests than this before the first refusal say nothing of the rate.
MIN_EVIDENCE = 2
MIN_RATE = 0.05  # one request every 20 s at worst
# A shared key (another client using it) refuses us even when we keep to the
# advertised figure: the share we take shrinks the same way and recovers slowly.
MIN_SHARE = 0.2
SHARE_RECOVERY = 0.01  # per second without a refusal
# Refusals closer together than this are one congestion event (those already in flight).
EVENT_S = 0.25
WINDOW_S = 60.0  # providers advertise per-minute limits


def advertised_rates(readings: Mapping[str, LimitReading], share: float = 1.0) -> dict[str, float]:
    """Units per second to pace at, per advertised dimension."""
    return {dim: r.limit / WINDOW_S * HEADROOM * share for dim, r in readings.items()}


def first_rate(accepted: int, elapsed_s: float, retry_after_s: float | None) -> float:
    """A first estimate at the first refusal: what was accepted, spread over the time
    it took plus the wait the provider asked for (at least a second: buckets refill
    over seconds, so a quick burst says little about the rate)."""
    span = max(1.0, elapsed_s + (retry_after_s or 0.0))
    return max(MIN_RATE, accepted / span) * DECREASE


def slower(rate: float) -> float:
    return max(MIN_RATE, rate * DECREASE)


def measured_rate(accepted_times: list[float], now: float, since: float) -> float | None:
    """Accepted requests per second over the last ``MEASURE_S`` (not before ``since``);
    None when that is too short a time to say. Overrunning a bucket, what it accepts
    is its rate (plus what was left in it)."""
    start = max(now - MEASURE_S, since)
    if now - start < MEASURE_S / 4:
        return None
    return sum(1 for t in accepted_times if t >= start) / (now - start)


def after_refusal(rate: float, measured: float | None) -> float:
    """The learned rate after a refusal: slower than both the pace that was refused
    and what the provider was seen to accept."""
    if measured is not None:
        rate = min(rate, measured)
    return slower(rate)


def faster(rate: float, seconds: float, calm_s: float, *, searching: bool = False) -> float:
    """``seconds`` more of pacing at ``rate``, ``calm_s`` since the last refusal: the
    longer it has been calm, the faster the rate climbs (so an estimate that was far
    too low recovers in tens of seconds, while one near the limit overruns it slowly).
    ``searching``: between the first and the second refusal the first estimate may be
    far off, so the rate doubles about every second until the provider refuses again."""
    growth = SEARCH_GROWTH if searching else GROWTH + ACCELERATION * max(0.0, calm_s)
    return rate * (1.0 + growth * max(0.0, min(seconds, 1.0)))


def smaller_share(share: float) -> float:
    return max(MIN_SHARE, share * DECREASE)


def larger_share(share: float, seconds: float) -> float:
    return min(1.0, share + SHARE_RECOVERY * max(0.0, min(seconds, 1.0)))


def prompt_tokens_estimate(request: GenerateRequest) -> int:
    """About four characters a token, over everything the prompt carries."""
    chars = len(request.system or "") + len(request.prompt or "")
    for message in request.messages:
        chars += len(message.content) + (len(repr(message.parts)) if message.parts else 4)
    for tool in request.tools:
        chars += len(str(tool))
    return chars // 4 + 1


def request_costs(request: GenerateRequest) -> dict[str, float]:
    """What a request takes from each dimension before its answer is known."""
    prompt = float(prompt_tokens_estimate(request))
    output = float(request.max_tokens * request.n)
    return {
        "requests": 1.0,
        "tokens": prompt + output,
        "input_tokens": prompt,
        "output_tokens": output,
    }


def usage_costs(usage: Usage) -> dict[str, float]:
    """What the answer says it took (tokens dimensions only)."""
    return {
        "tokens": float(usage.input_tokens + usage.output_tokens),
        "input_tokens": float(usage.input_tokens),
        "output_tokens": float(usage.output_tokens),
    }
