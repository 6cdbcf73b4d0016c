"""The sliding-window limiter, on a fake clock: exact windows, Retry-After, settlement."""

from __future__ import annotations

import random

import pytest

from benchwarden.warden.limits import Limits, Reservation, RetryAfter, SlidingWindowLimiter


def limiter(**limits: int) -> SlidingWindowLimiter:
    lim = SlidingWindowLimiter(window_s=60.0)
    lim.set_limits(1, Limits(**limits))
    return lim


def test_rpm_exact_with_retry_after() -> None:
    lim = limiter(rpm=3)
    for t in (0.0, 10.0, 20.0):
        assert isinstance(lim.reserve(1, 1, t), Reservation)
    refused = lim.reserve(1, 1, 30.0)
    assert isinstance(refused, RetryAfter) and refused.code == "rate_limited"
    assert refused.seconds == pytest.approx(30.0)  # the admission at t=0 leaves at 60
    assert isinstance(lim.reserve(1, 1, 59.999), RetryAfter)
    assert isinstance(lim.reserve(1, 1, 60.0), Reservation)
    refused = lim.reserve(1, 1, 60.5)
    assert isinstance(refused, RetryAfter) and refused.seconds == pytest.approx(9.5)


def test_tpm_reserve_settle_refund() -> None:
    lim = limiter(tpm=100)
    first = lim.reserve(1, 60, 0.0)
    assert isinstance(first, Reservation)
    refused = lim.reserve(1, 60, 1.0)
    assert isinstance(refused, RetryAfter) and refused.code == "token_limit"
    lim.settle(first, 20, 2.0)  # 40 refunded
    assert lim.usage(1, 2.0) == (1, 20, 0)
    assert isinstance(lim.reserve(1, 60, 3.0), Reservation)
    assert lim.usage(1, 3.0)[1] == 80


def test_tpm_retry_after_is_when_enough_leaves_the_window() -> None:
    lim = limiter(tpm=100)
    for t, tokens in ((0.0, 30), (5.0, 30), (10.0, 30)):
        r = lim.reserve(1, tokens, t)
        assert isinstance(r, Reservation)
        lim.settle(r, tokens, t)
    refused = lim.reserve(1, 35, 20.0)  # 90 + 35: 25 must leave, the t=0 entry
    assert isinstance(refused, RetryAfter) and refused.seconds == pytest.approx(40.0)
    refused = lim.reserve(1, 65, 20.0)  # 90 + 65: 55 must leave, t=0 and t=5
    assert isinstance(refused, RetryAfter) and refused.seconds == pytest.approx(45.0)


def test_request_larger_than_tpm_is_not_retryable() -> None:
    refused = limiter(tpm=100).reserve(1, 101, 0.0)
    assert isinstance(refused, RetryAfter) and not refused.retryable


def test_overshoot_is_charged_at_settlement() -> None:
    lim = limiter(tpm=100)
    r = lim.reserve(1, 10, 0.0)
    assert isinstance(r, Reservation)
    lim.settle(r, 25, 1.0)
    assert lim.usage(1, 1.0)[1] == 25
    lim.settle(r, 999, 2.0)  # idempotent
    assert lim.usage(1, 2.0)[1] == 25


def test_extend() -> None:
    lim = limiter(tpm=100)
    r = lim.reserve(1, 50, 0.0)
    assert isinstance(r, Reservation)
    assert lim.extend(r, 40, 1.0) and r.tokens == 90
    assert not lim.extend(r, 11, 1.0) and r.tokens == 90
    lim.settle(r, 70, 2.0)
    assert lim.usage(1, 2.0)[1] == 70


def test_concurrency_slots() -> None:
    lim = limiter(max_concurrency=2)
    a, b = lim.reserve(1, 1, 0.0), lim.reserve(1, 1, 0.0)
    assert isinstance(a, Reservation) and isinstance(b, Reservation)
    refused = lim.reserve(1, 1, 0.0)
    assert isinstance(refused, RetryAfter) and refused.code == "rate_limited"
    lim.settle(a, 1, 0.1)
    assert isinstance(lim.reserve(1, 1, 0.2), Reservation)


def test_grants_are_independent_and_limits_change_live() -> None:
    lim = SlidingWindowLimiter()
    lim.set_limits(1, Limits(rpm=2))
    lim.set_limits(2, Limits(rpm=2))
    for _ in range(2):
        assert isinstance(lim.reserve(1, 1, 0.0), Reservation)
    assert isinstance(lim.reserve(1, 1, 0.0), RetryAfter)
    assert isinstance(lim.reserve(2, 1, 0.0), Reservation)
    lim.set_limits(1, Limits(rpm=5))  # raised: admissions already counted still count
    assert sum(isinstance(lim.reserve(1, 1, 1.0), Reservation) for _ in range(5)) == 3
    lim.set_limits(1, Limits(rpm=1))  # cut
    assert isinstance(lim.reserve(1, 1, 2.0), RetryAfter)


@pytest.mark.parametrize("seed", range(20))
def test_random_load_never_exceeds_any_window(seed: int) -> None:
    """Random arrivals, sizes and settlements: every 60 s window holds at most rpm
    admissions and at most tpm charged tokens, checked against an independent log."""
    rng = random.Random(seed)
    rpm, tpm = rng.randint(1, 30), rng.randint(50, 2000)
    lim = limiter(rpm=rpm, tpm=tpm, max_concurrency=rng.randint(1, 10))
    admitted: list[float] = []
    charges: list[tuple[float, int]] = []  # (time charged, tokens)
    open_calls: list[tuple[Reservation, int]] = []
    t = 0.0
    for _ in range(600):
        t += rng.expovariate(2.0)
        if open_calls and rng.random() < 0.5:
            r, reserved = open_calls.pop(rng.randrange(len(open_calls)))
            actual = rng.randint(0, reserved)
            lim.settle(r, actual, t)
            # The refund corrects the charge at admission time.
            charges[charges.index((r.entries[0].at, reserved))] = (r.entries[0].at, actual)
            continue
        tokens = rng.randint(1, tpm // 3)
        got = lim.reserve(1, tokens, t)
        if isinstance(got, Reservation):
            admitted.append(t)
            charges.append((t, tokens))
            open_calls.append((got, tokens))
        else:
            assert got.seconds >= 0
        window = [a for a in admitted if a > t - 60.0]
        assert len(window) <= rpm
        assert sum(c for at, c in charges if at > t - 60.0) <= tpm
