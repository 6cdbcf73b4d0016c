"""When to try again, and after how long. A pure decision over plain values.

Two kinds of failure, counted apart:
- A rate limit (429, or 503/529 that says when to come back) is not a failure of the
  model: the provider said when to return. It is waited out and retried as often as
  the call's time budget allows; only the budget ends it.
- Real failures (5xx without ``Retry-After``, timeouts, dropped connections, malformed
  answers) are retried with full-jitter exponential backoff, at most
  ``max_attempts`` times in all.
Client errors (400, 401, 403) are never retried: the same request would be refused
the same way.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from benchwarden.models.errors import ModelError, RateLimited


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    # Attempts that end in a real failure (rate limits are not counted here).
    max_attempts: int = 6
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    # Overall wall-clock budget for one call, retries and waits included.
    time_budget_s: float = 600.0
    # Timeout of a single attempt (connect + read of the whole answer).
    attempt_timeout_s: float = 120.0


@dataclass(frozen=True, slots=True)
class Retry:
    delay_s: float


@dataclass(frozen=True, slots=True)
class GiveUp:
    reason: str


def _backoff(count: int, policy: RetryPolicy, rng: random.Random) -> tuple[float, float]:
    """(delay, cap): full jitter below an exponential cap."""
    cap = min(policy.max_delay_s, policy.base_delay_s * (2 ** (max(1, count) - 1)))
    return rng.uniform(0.0, cap), cap


def decide_retry(
    error: ModelError,
    attempt: int,
    elapsed_s: float,
    policy: RetryPolicy,
    rng: random.Random | None = None,
) -> Retry | GiveUp:
    """``attempt`` counts the failures of this kind so far, this one included: real
    failures for a real failure, rate limits for a rate limit."""
    if not error.retryable:
        return GiveUp(f"{error.kind} is not retryable")
    rng = rng or random.Random()
    limited = isinstance(error, RateLimited)
    asked = error.retry_after_s if isinstance(error, RateLimited) else None
    if not limited and attempt >= policy.max_attempts:
        return GiveUp(f"gave up after {attempt} attempts")
    delay, cap = _backoff(attempt, policy, rng)
    if asked is not None:
        # The provider said when; a little jitter keeps waiters from stampeding.
        delay = asked + rng.uniform(0.0, min(0.05, cap))
    remaining = policy.time_budget_s - elapsed_s
    if delay >= remaining:
        what = "rate-limit waits" if limited else "retries"
        return GiveUp(f"{what} would exceed the time budget of {policy.time_budget_s:g}s")
    return Retry(delay)
