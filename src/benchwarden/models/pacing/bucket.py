"""The spacing math: a token bucket kept as one number. Pure functions over plain data.

A bucket of ``capacity`` units refilled at ``rate`` units per second is described by
``full_at``, the time it is (or will be) full again (GCRA's "theoretical arrival
time"): its level at ``now`` is ``capacity - rate * max(0, full_at - now)``. Taking
``cost`` units is allowed once the level reaches ``cost`` and moves ``full_at`` on by
``cost / rate``. A cost larger than the whole bucket waits for a full bucket and leaves
it in debt, so the average rate still holds.

The client's bucket is deliberately small (a fraction of a second of the rate): a
provider's real bucket may be much smaller than the per-minute figure it advertises,
so requests go out evenly spaced, never in a burst the provider's bucket could not take.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class Bucket:
    rate: float  # units per second, > 0
    capacity: float  # units that may go at once, > 0
    full_at: float = 0.0

    def level(self, now: float) -> float:
        return self.capacity - self.rate * max(0.0, self.full_at - now)


def make_bucket(rate: float, burst_s: float, now: float, *, min_capacity: float = 1.0) -> Bucket:
    """A full bucket holding ``burst_s`` seconds of ``rate`` (at least ``min_capacity``)."""
    if rate <= 0:
        raise ValueError("rate must be positive")
    return Bucket(rate, max(min_capacity, rate * burst_s), now)


def wait_s(bucket: Bucket, cost: float, now: float) -> float:
    """Seconds from ``now`` until ``cost`` units may be taken (0 if at once)."""
    slack = max(0.0, bucket.capacity - cost) / bucket.rate
    return max(0.0, bucket.full_at - slack - now)


def take(bucket: Bucket, cost: float, at: float) -> Bucket:
    """The bucket after ``cost`` units leave at time ``at`` (``wait_s`` said when)."""
    return replace(bucket, full_at=max(bucket.full_at, at) + cost / bucket.rate)


def adjust(bucket: Bucket, extra: float) -> Bucket:
    """Charge ``extra`` units more (or refund them, when negative) to what was taken:
    an estimate corrected by the answer's real count."""
    return replace(bucket, full_at=bucket.full_at + extra / bucket.rate)


def sync(bucket: Bucket, remaining: float, at: float) -> Bucket:
    """The provider says ``remaining`` units are left at time ``at``: never believe
    there are more. (Less is kept: other requests may be in flight since.)"""
    if remaining >= bucket.capacity:
        return bucket
    floor = at + (bucket.capacity - remaining) / bucket.rate
    return bucket if bucket.full_at >= floor else replace(bucket, full_at=floor)


def reset_to(bucket: Bucket, remaining: float, at: float) -> Bucket:
    """Exactly ``remaining`` units at ``at``, whatever was believed (after a refusal:
    what was scheduled on the old belief is void)."""
    return replace(bucket, full_at=at + max(0.0, bucket.capacity - remaining) / bucket.rate)


def with_rate(bucket: Bucket, rate: float, burst_s: float, now: float) -> Bucket:
    """The same debt at a new rate: the level now is kept (clipped to the new capacity)."""
    fresh = make_bucket(rate, burst_s, now)
    level = min(fresh.capacity, bucket.level(now))
    return reset_to(fresh, level, now)
