"""The pure parts of pacing under a rate limit: limit headers, the bucket's spacing
math, the rates it learns, the retry decision's two counts. No I/O, no clock."""

from __future__ import annotations

import itertools
import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from benchwarden.models.errors import RateLimited, UpstreamError
from benchwarden.models.http_errors import classify_http_error
from benchwarden.models.pacing import rates
from benchwarden.models.pacing.bucket import (
    Bucket,
    adjust,
    make_bucket,
    reset_to,
    sync,
    take,
    wait_s,
    with_rate,
)
from benchwarden.models.pacing.headers import LimitReading, read_limits
from benchwarden.models.pacing.retry import GiveUp, Retry, RetryPolicy, decide_retry
from benchwarden.models.types import GenerateRequest, Message, Usage

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)


# ---- headers ------------------------------------------------------------------------
def test_openai_limits_are_read_per_dimension() -> None:
    headers = {
        "X-RateLimit-Limit-Requests": "600",
        "x-ratelimit-remaining-requests": "599",
        "x-ratelimit-reset-requests": "100ms",
        "x-ratelimit-limit-tokens": "150000",
        "x-ratelimit-remaining-tokens": "149000",
        "x-ratelimit-reset-tokens": "6m0s",
    }
    assert read_limits(headers, NOW) == {
        "requests": LimitReading(600, 599, 0.1),
        "tokens": LimitReading(150000, 149000, 360.0),
    }


def test_anthropic_limits_are_read_per_dimension() -> None:
    reset = (NOW + timedelta(seconds=4)).isoformat().replace("+00:00", "Z")
    headers = {
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "49",
        "anthropic-ratelimit-requests-reset": reset,
        "anthropic-ratelimit-tokens-limit": "90000",
        "anthropic-ratelimit-input-tokens-limit": "40000",
        "anthropic-ratelimit-input-tokens-remaining": "39000",
        "anthropic-ratelimit-output-tokens-limit": "8000",
        "anthropic-ratelimit-output-tokens-reset": reset,
    }
    found = read_limits(headers, NOW)
    assert found["requests"] == LimitReading(50, 49, pytest.approx(4.0))
    assert found["tokens"] == LimitReading(90000, None, None)
    assert found["input_tokens"] == LimitReading(40000, 39000, None)
    assert found["output_tokens"].reset_s == pytest.approx(4.0)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1s"},
        {"x-ratelimit-limit-requests": "0"},
        {"x-ratelimit-limit-requests": "-5"},
        {"x-ratelimit-limit-requests": "lots"},
        {"retry-after": "3"},
    ],
)
def test_no_usable_limit_no_reading(headers: dict[str, str]) -> None:
    assert read_limits(headers, NOW) == {}


def test_unreadable_remaining_or_reset_is_absent_not_zero() -> None:
    found = read_limits(
        {
            "x-ratelimit-limit-requests": "60",
            "x-ratelimit-remaining-requests": "n/a",
            "x-ratelimit-reset-requests": "soon",
        },
        NOW,
    )
    assert found == {"requests": LimitReading(60, None, None)}


def _body(code: str) -> bytes:
    return json.dumps({"error": {"message": "busy", "type": "x", "code": code}}).encode()


def test_overloaded_with_retry_after_is_a_rate_limit_not_a_failure() -> None:
    for status in (503, 529):
        said = classify_http_error("m", status, {"retry-after": "2"}, _body("overloaded"))
        assert isinstance(said, RateLimited) and said.retry_after_s == 2.0
        assert said.status == status
        silent = classify_http_error("m", status, {}, _body("overloaded"))
        assert isinstance(silent, UpstreamError)
    assert isinstance(classify_http_error("m", 500, {"retry-after": "2"}, b""), UpstreamError)


# ---- the bucket ---------------------------------------------------------------------
def test_a_full_bucket_lets_its_capacity_go_then_spaces_by_the_rate() -> None:
    bucket = make_bucket(10.0, 0.5, now=0.0)  # capacity 5, one every 0.1 s
    assert bucket.capacity == 5.0
    sent = []
    now = 0.0
    for _ in range(25):
        now += wait_s(bucket, 1.0, now)
        bucket = take(bucket, 1.0, now)
        sent.append(now)
    assert sent[:5] == [0.0] * 5
    gaps = [b - a for a, b in itertools.pairwise(sent[5:])]
    assert all(g == pytest.approx(0.1) for g in gaps)
    # In any window, never more than capacity + rate * window.
    for i, start in enumerate(sent):
        inside = [t for t in sent[i:] if t < start + 1.0]
        assert len(inside) <= 5 + 10


def test_the_level_refills_at_the_rate_and_never_passes_capacity() -> None:
    bucket = take(make_bucket(2.0, 1.0, now=0.0), 2.0, 0.0)  # capacity 2, emptied
    assert bucket.level(0.0) == pytest.approx(0.0)
    assert bucket.level(0.5) == pytest.approx(1.0)
    assert bucket.level(10.0) == pytest.approx(2.0)
    assert wait_s(bucket, 1.0, 0.0) == pytest.approx(0.5)
    assert wait_s(bucket, 2.0, 0.0) == pytest.approx(1.0)


def test_a_cost_above_capacity_waits_for_a_full_bucket_and_keeps_the_average() -> None:
    bucket = make_bucket(100.0, 0.5, now=0.0)  # capacity 50
    now, sent = 0.0, []
    for _ in range(10):
        now += wait_s(bucket, 200.0, now)
        bucket = take(bucket, 200.0, now)
        sent.append(now)
    assert sent[0] == 0.0
    assert (sent[-1] - sent[0]) / 9 == pytest.approx(2.0)  # 200 units at 100/s


def test_adjust_refunds_and_charges_what_was_misestimated() -> None:
    bucket = take(make_bucket(10.0, 1.0, now=0.0), 8.0, 0.0)
    assert wait_s(bucket, 5.0, 0.0) == pytest.approx(0.3)
    refunded = adjust(bucket, -6.0)  # used 2, not 8
    assert wait_s(refunded, 5.0, 0.0) == 0.0
    charged = adjust(bucket, 2.0)
    assert wait_s(charged, 5.0, 0.0) == pytest.approx(0.5)


def test_sync_believes_the_provider_only_when_it_has_less() -> None:
    bucket = make_bucket(10.0, 1.0, now=0.0)  # capacity 10, full
    assert sync(bucket, 599.0, 0.0) == bucket  # a per-minute figure far above our bucket
    synced = sync(bucket, 2.0, 0.0)
    assert synced.level(0.0) == pytest.approx(2.0)
    empty = sync(bucket, 0.0, 0.0)
    assert wait_s(empty, 1.0, 0.0) == pytest.approx(0.1)
    assert sync(empty, 5.0, 0.0) == empty  # never more than we believe


def test_reset_to_voids_what_was_scheduled() -> None:
    bucket = Bucket(10.0, 5.0, full_at=30.0)  # far in debt
    reset = reset_to(bucket, 1.0, 2.0)
    assert wait_s(reset, 1.0, 2.0) == 0.0
    assert wait_s(reset, 1.0, 1.0) == pytest.approx(1.0)


def test_with_rate_keeps_the_level() -> None:
    bucket = take(make_bucket(10.0, 0.5, now=0.0), 3.0, 0.0)  # level 2 of 5
    faster = with_rate(bucket, 20.0, 0.5, 0.0)  # capacity 10
    assert faster.capacity == 10.0 and faster.level(0.0) == pytest.approx(2.0)
    slower = with_rate(make_bucket(10.0, 0.5, now=0.0), 2.0, 0.5, 0.0)
    assert slower.capacity == 1.0 and slower.level(0.0) == pytest.approx(1.0)


def test_bucket_rejects_a_non_positive_rate() -> None:
    with pytest.raises(ValueError):
        make_bucket(0.0, 0.5, now=0.0)


# ---- rates --------------------------------------------------------------------------
def test_advertised_rates_are_per_second_with_headroom() -> None:
    readings = {"requests": LimitReading(600), "tokens": LimitReading(60000)}
    assert rates.advertised_rates(readings) == {
        "requests": pytest.approx(10 * rates.HEADROOM),
        "tokens": pytest.approx(1000 * rates.HEADROOM),
    }
    halved = rates.advertised_rates(readings, share=0.5)
    assert halved["requests"] == pytest.approx(5 * rates.HEADROOM)


def test_first_rate_spreads_a_burst_over_at_least_a_second() -> None:
    # 10 accepted in a 50 ms burst, then "come back in 100 ms": ~10/s, not 200/s.
    assert rates.first_rate(10, 0.05, 0.1) == pytest.approx(10 * rates.DECREASE)
    # 60 accepted, then "come back in 59 s" (a per-minute window): ~1/s.
    assert rates.first_rate(60, 1.0, 59.0) == pytest.approx(1.0 * rates.DECREASE)
    assert rates.first_rate(0, 0.0, None) == pytest.approx(rates.MIN_RATE * rates.DECREASE)


def test_learned_rate_aimd() -> None:
    assert rates.slower(10.0) == pytest.approx(10 * rates.DECREASE)
    assert rates.slower(rates.MIN_RATE) == rates.MIN_RATE
    assert rates.faster(10.0, 0.0, 5.0) == 10.0
    calm, stormy = rates.faster(10.0, 1.0, 10.0), rates.faster(10.0, 1.0, 0.0)
    assert calm > stormy > 10.0
    assert rates.faster(10.0, 60.0, 0.0) == rates.faster(10.0, 1.0, 0.0)  # a gap is not growth
    assert rates.smaller_share(1.0) == pytest.approx(rates.DECREASE)
    assert rates.smaller_share(rates.MIN_SHARE) == rates.MIN_SHARE
    assert rates.larger_share(0.99, 5.0) == 1.0


def test_request_costs_and_usage_costs() -> None:
    request = GenerateRequest(messages=(Message("user", "x" * 400),), system="y" * 40, max_tokens=7)
    costs = rates.request_costs(request)
    assert costs["requests"] == 1.0
    assert costs["input_tokens"] == pytest.approx(rates.prompt_tokens_estimate(request))
    assert 100 <= costs["input_tokens"] <= 120
    assert costs["output_tokens"] == 7.0
    assert costs["tokens"] == costs["input_tokens"] + 7.0
    two = rates.request_costs(GenerateRequest(messages=request.messages, max_tokens=7, n=2))
    assert two["output_tokens"] == 14.0
    assert rates.usage_costs(Usage(30, 5)) == {
        "tokens": 35.0,
        "input_tokens": 30.0,
        "output_tokens": 5.0,
    }


# ---- retries: rate limits counted apart -----------------------------------------------
POLICY = RetryPolicy(max_attempts=3, base_delay_s=0.5, max_delay_s=4.0, time_budget_s=60.0)


def test_rate_limits_are_retried_however_many_while_the_budget_lasts() -> None:
    limited = RateLimited("m", "slow down", retry_after_s=1.0)
    for count in (1, 3, 10, 100):
        decision = decide_retry(limited, count, 10.0, POLICY, random.Random(0))
        assert isinstance(decision, Retry) and 1.0 <= decision.delay_s <= 1.05
    late = decide_retry(limited, 1, 59.5, POLICY)
    assert isinstance(late, GiveUp) and "rate-limit waits" in late.reason


def test_rate_limits_without_a_wait_back_off_within_the_cap() -> None:
    rng = random.Random(3)
    delays = [decide_retry(RateLimited("m", "x"), 20, 0.0, POLICY, rng) for _ in range(200)]
    values = [d.delay_s for d in delays if isinstance(d, Retry)]
    assert len(values) == 200 and max(values) <= 4.0 and max(values) > 2.0


def test_real_failures_stay_bounded() -> None:
    assert isinstance(decide_retry(UpstreamError("m", "x"), 2, 0.0, POLICY), Retry)
    gave_up = decide_retry(UpstreamError("m", "x"), 3, 0.0, POLICY)
    assert isinstance(gave_up, GiveUp) and "3 attempts" in gave_up.reason


def test_a_refusal_slows_below_what_was_accepted() -> None:
    accepted = [10.0 + i * 0.05 for i in range(40)]  # 20/s over the last 2 s
    seen = rates.measured_rate(accepted, 12.0, since=0.0)
    assert seen == pytest.approx(20.0, rel=0.05)
    assert rates.measured_rate(accepted, 12.0, since=11.9) is None  # too short to say
    assert rates.after_refusal(35.0, seen) == pytest.approx(rates.DECREASE * seen)
    assert rates.after_refusal(10.0, seen) == pytest.approx(rates.DECREASE * 10.0)
    assert rates.after_refusal(10.0, None) == pytest.approx(rates.DECREASE * 10.0)
    assert rates.faster(10.0, 1.0, 0.0, searching=True) == pytest.approx(20.0)
