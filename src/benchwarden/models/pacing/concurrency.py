"""Per-model adaptive concurrency with a shared cool-down.

AIMD, as TCP does it: the window grows by about one slot per window of successes
and halves on a rate limit, at most once per congestion event so that a burst of
429s from requests already in flight does not collapse it to one. When the provider
names a wait (Retry-After, an exhausted quota header), every caller pauses until
then instead of each discovering the limit on its own.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable


class AdaptiveLimiter:
    def __init__(
        self,
        max_concurrency: int,
        *,
        min_concurrency: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.max_concurrency = max_concurrency
        self.min_concurrency = max(1, min(min_concurrency, max_concurrency))
        self._window = float(max_concurrency)
        self._in_flight = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._cooldown_until = 0.0
        self._no_decrease_until = 0.0
        self._clock = clock
        self.rate_limit_events = 0

    @property
    def limit(self) -> int:
        return max(self.min_concurrency, int(self._window))

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def cooldown_remaining_s(self) -> float:
        return max(0.0, self._cooldown_until - self._clock())

    async def acquire(self) -> None:
        """Take a slot, then wait out any cool-down the provider asked for."""
        if self._in_flight < self.limit and not self._waiters:
            self._in_flight += 1
        else:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self.release()  # the slot was handed to us as we were cancelled
                else:
                    self._waiters.remove(waiter)
                raise
        while (remaining := self._cooldown_until - self._clock()) > 0:
            try:
                await asyncio.sleep(remaining)
            except asyncio.CancelledError:
                self.release()
                raise

    def release(self) -> None:
        self._in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self._in_flight < self.limit:
            waiter = self._waiters.popleft()
            if waiter.done():
                continue
            self._in_flight += 1  # handed over: the waiter owns this slot
            waiter.set_result(None)

    def on_success(self) -> None:
        if self._window < self.max_concurrency:
            self._window = min(float(self.max_concurrency), self._window + 1.0 / self._window)
            self._wake()

    def on_rate_limited(self, retry_after_s: float | None) -> None:
        now = self._clock()
        self.rate_limit_events += 1
        wait = retry_after_s if retry_after_s is not None else 0.0
        same_event = now < self._no_decrease_until
        if wait > 0:
            if same_event and self._cooldown_until > now:
                # 429s of one burst are handled one after another; each names the same
                # reset, so the earliest reading is the truest (later ones would only
                # push the reopening back by their own handling delay).
                self._cooldown_until = min(self._cooldown_until, now + wait)
            else:
                self.pause(wait)
        if not same_event:
            self._window = max(float(self.min_concurrency), self._window / 2.0)
            # One decrease per congestion event: 429s already in flight don't count again.
            self._no_decrease_until = max(now + 0.25, self._cooldown_until)

    def pause(self, seconds: float) -> None:
        """Hold every new attempt until ``seconds`` from now (never shortens a pause)."""
        self._cooldown_until = max(self._cooldown_until, self._clock() + seconds)
