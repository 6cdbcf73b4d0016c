"""The shared limiter on a real Redis: the same decisions as the in-process limiter,
exact across several limiters (replicas) admitting at once, the window sliding on
Redis's clock, leases of a dead replica expiring, fail closed while Redis is down."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from benchwarden.warden.limits import Limits, Reservation, RetryAfter, SlidingWindowLimiter
from benchwarden.warden.redis_limits import RedisLimiter
from benchwarden.warden.shared_limits import LimitsUnavailable
from tests.warden.scale.redis_server import RedisServer

pytestmark = pytest.mark.timeout(90)  # a hang fails here, with its stack


async def _limiter(server: RedisServer, prefix: str, **kwargs: float) -> RedisLimiter:
    limiter = RedisLimiter(server.url, prefix=prefix, **kwargs)
    await limiter.start()
    return limiter


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    yield f"t{uuid.uuid4().hex[:10]}"


@pytest.mark.parametrize("seed", range(6))
async def test_same_decisions_as_the_in_process_limiter(
    redis_server: RedisServer, prefix: str, seed: int
) -> None:
    """A random mix of reserve, extend and settle, within one window: every decision
    and every count is the in-process limiter's."""
    rng = random.Random(seed)
    limits = Limits(
        rpm=rng.choice([None, rng.randint(3, 40)]),
        tpm=rng.choice([None, rng.randint(200, 3000)]),
        max_concurrency=rng.choice([None, rng.randint(1, 8)]),
    )
    local = SlidingWindowLimiter()  # its clock stays at 0: resets are the whole window
    local.set_limits(1, limits)
    shared = await _limiter(redis_server, prefix)
    open_calls: list[tuple[Reservation, Reservation]] = []
    try:
        for _ in range(150):
            op = rng.random()
            if op < 0.5 or not open_calls:
                tokens = rng.randint(1, 400)
                mine = local.reserve(1, tokens, 0.0)
                theirs = await shared.areserve(1, limits, tokens)
                assert isinstance(theirs, Reservation) == isinstance(mine, Reservation)
                if isinstance(mine, RetryAfter):
                    assert isinstance(theirs, RetryAfter)
                    assert (theirs.code, theirs.retryable) == (mine.code, mine.retryable)
                    assert theirs.message == mine.message
                    assert theirs.snapshot == mine.snapshot  # a 429's rate-limit headers
                else:
                    assert isinstance(theirs, Reservation)
                    assert theirs.snapshot == mine.snapshot  # the rate-limit headers
                    open_calls.append((mine, theirs))
            elif op < 0.7:
                mine, theirs = rng.choice(open_calls)
                more = rng.randint(1, 300)
                assert await shared.aextend(theirs, more) == local.extend(mine, more, 0.0)
            else:
                mine, theirs = open_calls.pop(rng.randrange(len(open_calls)))
                actual = rng.randint(0, mine.tokens + 200)  # overshoots too
                local.settle(mine, actual, 0.0)
                shared.settle(theirs, actual, 0.0)
                await shared.flush()
            assert await shared.usage(1) == local.usage(1, 0.0)
    finally:
        await shared.aclose()


async def test_exact_across_replicas_admitting_at_once(
    redis_server: RedisServer, prefix: str
) -> None:
    # 120 admissions at once open many connections: a generous timeout, since this
    # is about exactness, and a loaded machine can leave Redis unscheduled for a while.
    replicas = [await _limiter(redis_server, prefix, timeout_s=5.0) for _ in range(4)]
    limits = Limits(rpm=17, tpm=10_000)
    try:
        results = await asyncio.gather(
            *(replicas[i % 4].areserve(7, limits, 100) for i in range(120))
        )
        admitted = [r for r in results if isinstance(r, Reservation)]
        assert len(admitted) == 17
        refused = [r for r in results if isinstance(r, RetryAfter)]
        assert all(r.code == "rate_limited" and 0 < r.seconds <= 60 for r in refused)
        # TPM across replicas: 10,000 tokens, 17 x 100 already reserved.
        tpm_limits = Limits(tpm=10_000)
        more = await asyncio.gather(
            *(replicas[i % 4].areserve(8, tpm_limits, 900) for i in range(40))
        )
        assert sum(isinstance(r, Reservation) for r in more) == 11  # 11 x 900 <= 10,000
        assert (await replicas[0].usage(8))[1] == 9_900
    finally:
        for replica in replicas:
            await replica.aclose()


async def test_window_slides_on_the_shared_clock(redis_server: RedisServer, prefix: str) -> None:
    limiter = await _limiter(redis_server, prefix, window_s=0.6)
    limits = Limits(rpm=2)
    try:
        first = await limiter.areserve(1, limits, 1)
        assert isinstance(first, Reservation)
        await asyncio.sleep(0.2)
        assert isinstance(await limiter.areserve(1, limits, 1), Reservation)
        refused = await limiter.areserve(1, limits, 1)
        assert isinstance(refused, RetryAfter)
        assert 0.2 < refused.seconds <= 0.6  # until the first admission leaves
        await asyncio.sleep(refused.seconds + 0.05)
        assert isinstance(await limiter.areserve(1, limits, 1), Reservation)
    finally:
        await limiter.aclose()


async def test_a_dead_replicas_slots_expire_a_live_ones_do_not(
    redis_server: RedisServer, prefix: str
) -> None:
    limits = Limits(max_concurrency=1)
    alive = await _limiter(redis_server, prefix, lease_s=0.3)
    other = await _limiter(redis_server, prefix, lease_s=0.3)
    try:
        held = await alive.areserve(1, limits, 1)
        assert isinstance(held, Reservation)
        for _ in range(4):  # 0.8 s: well past one lease, renewed meanwhile
            await asyncio.sleep(0.2)
            assert isinstance(await other.areserve(1, limits, 1), RetryAfter)
        await alive.aclose()  # dies without settling: no more renewals
        started = time.monotonic()
        while not isinstance(got := await other.areserve(1, limits, 1), Reservation):
            assert time.monotonic() - started < 2.0, "the dead replica's slot never expired"
            await asyncio.sleep(0.05)
        other.settle(got, 1, 0.0)
    finally:
        await alive.aclose()
        await other.aclose()


async def test_fails_closed_while_redis_is_down_then_recovers(prefix: str) -> None:
    from tests.warden.scale.redis_server import running_redis

    with running_redis() as server:  # its own server: this test stops it
        limiter = await _limiter(server, prefix)
        try:
            assert isinstance(await limiter.areserve(1, Limits(rpm=5), 1), Reservation)
            server.stop()
            with pytest.raises(LimitsUnavailable):
                await limiter.areserve(1, Limits(rpm=5), 1)
            with pytest.raises(LimitsUnavailable):
                await limiter.ping()
            server.start()
            assert isinstance(await limiter.areserve(1, Limits(rpm=5), 1), Reservation)
        finally:
            await limiter.aclose()


async def test_settlements_of_calls_ending_together_share_a_pipeline(
    redis_server: RedisServer, prefix: str
) -> None:
    """Many settlements at once (one pipeline), and again after Redis has forgotten its
    scripts (as after a restart): every one counted, exactly."""
    limits = Limits(rpm=None, tpm=100_000, max_concurrency=500)
    shared = await _limiter(redis_server, prefix)
    try:
        for round_ in range(2):
            calls = [await shared.areserve(3, limits, 100) for _ in range(300)]
            assert all(isinstance(c, Reservation) for c in calls)
            if round_ == 1:
                other = Redis.from_url(redis_server.url)
                await other.script_flush()
                await other.aclose()
            for i, call in enumerate(calls):
                assert isinstance(call, Reservation)
                shared.settle(call, i % 7, 0.0)
            await shared.flush()
            requests, tokens, in_flight = await shared.usage(3)
            assert (requests, in_flight) == (300 * (round_ + 1), 0)
            assert tokens == (round_ + 1) * sum(i % 7 for i in range(300))
    finally:
        await shared.aclose()
