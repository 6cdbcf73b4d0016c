"""The schedule every call to one provider account shares: spacing by rate.

One ``RatePacer`` per (base URL, key, model) in a process (``shared.pacer_for``). It
is in one of four modes:

- ``start``: nothing is known yet. Slow start, as TCP does it: one request goes
  alone, then each accepted answer lets two more go (and, for slow answers, the
  allowance doubles every ``START_DOUBLING_S`` anyway), so a run does not open with a
  burst of 429s. The first answer naming limits ends it, and so does a refusal.
- ``open``: the provider advertised no limit and refused nothing (or too soon to
  say anything): no spacing; the client's adaptive concurrency is the only bound.
- ``advertised``: its answers name limits (``headers.read_limits``): requests and
  tokens are spaced to ``rates.HEADROOM`` of them, and what they say is left is
  believed when it is less than we think.
- ``learned``: no limits advertised but it refused: a rate estimated from what it
  accepted, then AIMD on the rate.

A refusal pauses everyone until the provider's ``Retry-After`` and restarts the
schedule from what the refusal says (see ``bucket.reset_to``). The math is pure
(``bucket``, ``rates``); this class holds the state and does the waiting. Waiting
reserves a slot ahead (O(1) per request, no herd of sleepers re-checking), and a
sleeper whose schedule was reset meanwhile queues again.
"""

from __future__ import annotations

import asyncio
import collections
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

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
from benchwarden.models.pacing.headers import LimitReading, exhausted_quota_wait, read_limits
from benchwarden.models.types import Usage

Mode = Literal["start", "open", "advertised", "learned"]
# Slow start: the allowance of requests in flight doubles at least this often, and
# once it reaches START_OPEN_AT nothing is held back any more.
START_DOUBLING_S = 2.0
START_OPEN_AT = 1024


class PacingDeadline(Exception):
    """The next free slot is later than the caller's deadline."""

    def __init__(self, wait_s: float) -> None:
        super().__init__(f"the next slot is {wait_s:.1f}s away")
        self.wait_s = wait_s


@dataclass(slots=True)
class Ticket:
    """One admitted attempt: what it was charged, and whether it had to wait."""

    costs: Mapping[str, float]
    waited: bool = False
    done: bool = False
    charged: bool = False


class RatePacer:
    def __init__(
        self, label: str, *, start: bool = True, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.label = label  # base URL and model, never the key
        self.mode: Mode = "start" if start else "open"
        self._clock = clock
        self._buckets: dict[str, Bucket] = {}
        self.readings: dict[str, LimitReading] = {}
        self._paused_until = 0.0
        self._event_until = -math.inf  # refusals before this belong to the last event
        self._epoch = 0  # bumped when the schedule restarts: sleepers queue again
        self._in_flight = 0
        self._slot_waiters: list[asyncio.Future[None]] = []
        self._learned_rate: float | None = None
        self._learned_since = 0.0
        self._searching = False  # learned, before the second refusal
        self._accepted_at: collections.deque[float] = collections.deque()
        self._share = 1.0
        self._first_sent: float | None = None
        self._last_success: float | None = None
        self.accepted = 0
        self.refusals = 0

    # ---- admission ------------------------------------------------------------------
    @property
    def rate(self) -> float | None:
        """Requests per second paced at, if pacing by rate."""
        bucket = self._buckets.get("requests")
        return bucket.rate if bucket is not None else None

    @property
    def paced(self) -> bool:
        """Whether requests (or tokens) are spaced by a rate now."""
        return bool(self._buckets)

    def _wait(self, costs: Mapping[str, float], now: float) -> float:
        wait = max(0.0, self._paused_until - now)
        for dim, bucket in self._buckets.items():
            wait = max(wait, wait_s(bucket, costs.get(dim, 0.0), now))
        return wait

    def _take(self, costs: Mapping[str, float], at: float) -> None:
        for dim, bucket in self._buckets.items():
            self._buckets[dim] = take(bucket, costs.get(dim, 0.0), at)

    async def admit(self, costs: Mapping[str, float], deadline: float) -> Ticket:
        """Wait for this request's turn; raises ``PacingDeadline`` rather than wait
        past ``deadline`` (a ``clock`` time)."""
        waited = False
        while True:
            now = self._clock()
            if self._first_sent is None:
                self._first_sent = now
            if self.mode == "start":
                allowed = self._start_allowance(now)
                if allowed >= START_OPEN_AT:
                    self.mode = "open"
                elif self._in_flight >= allowed:
                    if now >= deadline:
                        raise PacingDeadline(START_DOUBLING_S)
                    await self._await_slot(min(deadline, now + START_DOUBLING_S))
                    waited = True
                    continue
            wait = self._wait(costs, now)
            if now + wait > deadline:
                raise PacingDeadline(wait)
            epoch = self._epoch
            self._take(costs, now + wait)
            if wait <= 0:
                return self._ticket(costs, waited)
            await asyncio.sleep(wait)  # a cancelled sleeper's slot is simply lost
            waited = True
            if epoch == self._epoch and self._clock() >= self._paused_until:
                return self._ticket(costs, True)

    def _ticket(self, costs: Mapping[str, float], waited: bool) -> Ticket:
        self._in_flight += 1
        return Ticket(costs, waited=waited)

    def _start_allowance(self, now: float) -> float:
        doublings = (now - (self._first_sent or now)) / START_DOUBLING_S
        return max(1.0 + 2.0 * self.accepted, float(2.0**doublings))

    async def _await_slot(self, until: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._slot_waiters.append(future)
        try:
            await asyncio.wait_for(future, max(0.0, until - self._clock()))
        except TimeoutError:
            pass
        finally:
            if future in self._slot_waiters:
                self._slot_waiters.remove(future)

    def _finish(self, ticket: Ticket) -> bool:
        """Mark the ticket done (False if it already was) and let a waiter try."""
        if ticket.done:
            return False
        ticket.done = True
        self._in_flight = max(0, self._in_flight - 1)
        self._wake_all()
        return True

    # ---- what answers say -----------------------------------------------------------
    def observe(self, headers: Mapping[str, str]) -> None:
        """Headers of an accepted answer: limits advertised, what is left of them."""
        now = self._clock()
        readings = read_limits(headers)
        if not readings:
            wait = exhausted_quota_wait(headers)  # remaining 0 without a limit named
            if wait:
                self.pause(wait)
            return
        if readings.keys() != self.readings.keys() or any(
            readings[d].limit != self.readings[d].limit for d in readings
        ):
            self.readings = readings
            self.mode = "advertised"
            self._wake_all()
            self._learned_rate = None
            self._rerate(now)
        for dim, reading in readings.items():
            bucket = self._buckets.get(dim)
            if bucket is not None and reading.remaining is not None:
                self._buckets[dim] = sync(bucket, reading.remaining, now)

    def _rerate(self, now: float) -> None:
        if self.mode == "advertised":
            wanted = rates.advertised_rates(self.readings, self._share)
        elif self.mode == "learned" and self._learned_rate is not None:
            wanted = {"requests": self._learned_rate}
        else:
            wanted = {}
        fresh: dict[str, Bucket] = {}
        for dim, rate in wanted.items():
            old = self._buckets.get(dim)
            fresh[dim] = (
                with_rate(old, rate, rates.BURST_S, now)
                if old is not None
                else make_bucket(rate, rates.BURST_S, now)
            )
        self._buckets = fresh

    def pause(self, seconds: float) -> None:
        """Hold every new attempt until ``seconds`` from now (never shortens a pause)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    # ---- outcomes -------------------------------------------------------------------
    def succeeded(self, ticket: Ticket, usage: Usage | None) -> None:
        if not self._finish(ticket):
            return
        now = self._clock()
        self.accepted += 1
        self._accepted_at.append(now)
        while self._accepted_at and self._accepted_at[0] < now - rates.MEASURE_S:
            self._accepted_at.popleft()
        self.charge(ticket, usage)
        since = now - self._last_success if self._last_success is not None else 0.0
        self._last_success = now
        if ticket.waited and now >= self._event_until:
            # Speed up only while the rate is what holds us back.
            if self.mode == "learned" and self._learned_rate is not None:
                calm = now - self._event_until
                self._learned_rate = rates.faster(
                    self._learned_rate, since, calm, searching=self._searching
                )
                self._rerate(now)
            elif self.mode == "advertised" and self._share < 1.0:
                self._share = rates.larger_share(self._share, since)
                self._rerate(now)

    def charge(self, ticket: Ticket, usage: Usage | None) -> None:
        """Replace the ticket's token estimates by the answer's count (once)."""
        if ticket.charged or usage is None or usage.total_tokens <= 0:
            return
        ticket.charged = True
        for dim, actual in rates.usage_costs(usage).items():
            bucket = self._buckets.get(dim)
            if bucket is not None:
                self._buckets[dim] = adjust(bucket, actual - ticket.costs.get(dim, 0.0))

    def failed(self, ticket: Ticket) -> None:
        """Another failure, or a cancellation: the request no longer counts in flight."""
        self._finish(ticket)

    def _wake_all(self) -> None:
        waiters, self._slot_waiters = self._slot_waiters, []
        for future in waiters:
            if not future.done():
                future.set_result(None)

    def refused(self, ticket: Ticket | None, retry_after_s: float | None) -> bool:
        """A rate-limit refusal. Returns whether the pacer was already pacing by rate
        (if not, the caller's concurrency should shrink as it did before)."""
        if ticket is not None:
            self._finish(ticket)
        now = self._clock()
        self.refusals += 1
        by_rate = self.paced
        new_event = now >= self._event_until
        if retry_after_s is not None and retry_after_s > 0:
            until = now + retry_after_s
            if not new_event and self._paused_until > now:
                # Refusals of one burst name the same reset; the earliest is the truest.
                self._paused_until = min(self._paused_until, until)
            else:
                self._paused_until = max(self._paused_until, until)
        if new_event:
            self._event_until = max(now + rates.EVENT_S, self._paused_until)
            if self.mode == "advertised":
                self._share = rates.smaller_share(self._share)
            elif self._learned_rate is None:
                if self.accepted >= rates.MIN_EVIDENCE:
                    elapsed = now - (self._first_sent if self._first_sent is not None else now)
                    self._learned_rate = rates.first_rate(self.accepted, elapsed, retry_after_s)
                    self.mode = "learned"
                    self._learned_since, self._searching = now, True
                elif self.mode == "start":
                    self.mode = "open"  # too little to learn from: concurrency's job
                self._wake_all()
            else:
                seen = rates.measured_rate(list(self._accepted_at), now, self._learned_since)
                self._learned_rate = rates.after_refusal(self._learned_rate, seen)
                self._searching = False
            self._rerate(now)
            # The provider's bucket is empty now: one more at the end of the pause.
            requests = self._buckets.get("requests")
            if requests is not None:
                at = max(now, self._paused_until)
                self._buckets["requests"] = reset_to(requests, 1.0 if at > now else 0.0, at)
            self._epoch += 1
        return by_rate

    def describe(self) -> str:
        rate = self.rate
        pace = f"{rate * 60:.0f} requests/min" if rate is not None else "unpaced"
        return f"{self.label}: {self.mode}, {pace}, {self.refusals} refusals"
