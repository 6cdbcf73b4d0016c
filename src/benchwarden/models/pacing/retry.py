"""When to try again, and after how long. A pure decision over plain values.

Transient failures (5xx, timeouts, dropped connections) and rate limits are retried
with full-jitter exponential backoff, within a bounded number of attempts and the
call's overall time budget. Client errors (400, 401, 403) are never retried: the
same request would be refused the same way.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from benchwarden.models.errors import ModelError, RateLimited


@dataclass(frozen=True, slots=True)
class RetryPolicy:
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


def decide_retry(
    error: ModelError,
    attempt: int,
    elapsed_s: float,
    policy: RetryPolicy,
    rng: random.Random | None = None,
) -> Retry | GiveUp:
    """``attempt`` counts attempts already made (1 after the first failure)."""
    if not error.retryable:
        return GiveUp(f"{error.kind} is not retryable")
    if attempt >= policy.max_attempts:
        return GiveUp(f"gave up after {attempt} attempts")
    rng = rng or random.Random()
    backoff_cap = min(policy.max_delay_s, policy.base_delay_s * (2 ** (attempt - 1)))
    delay = rng.uniform(0.0, backoff_cap)
    if isinstance(error, RateLimited) and error.retry_after_s is not None:
        # The provider said when; a little jitter keeps waiters from stampeding.
        delay = error.retry_after_s + rng.uniform(0.0, min(0.05, backoff_cap))
    remaining = policy.time_budget_s - elapsed_s
    if delay >= remaining:
        return GiveUp(f"time budget of {policy.time_budget_s:g}s would be exceeded")
    return Retry(delay)
