"""A ModelClient that paces and retries one transport.

Every attempt holds a slot of the client's adaptive concurrency limiter, then waits
for its turn in the provider account's shared rate schedule (``RatePacer``);
failures go through the pure retry decision, with rate limits counted apart from real
failures; the whole call, waits included, stays within its time budget. A call the
rate limit would hold past its budget ends as ``RateLimited`` (the runner leaves such
a sample to be resumed, never records it as a failure).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator

from benchwarden.models.errors import BudgetExhausted, ModelError, RateLimited
from benchwarden.models.pacing.concurrency import AdaptiveLimiter
from benchwarden.models.pacing.pacer import PacingDeadline, RatePacer, Ticket
from benchwarden.models.pacing.rates import request_costs
from benchwarden.models.pacing.retry import GiveUp, RetryPolicy, decide_retry
from benchwarden.models.protocol import Transport
from benchwarden.models.types import GenerateRequest, GenerateResult, StreamDelta, Usage


class PacedClient:
    def __init__(
        self,
        transport: Transport,
        limiter: AdaptiveLimiter,
        policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
        *,
        pacer: RatePacer | None = None,
    ) -> None:
        self.transport = transport
        self.limiter = limiter
        self.pacer = pacer or RatePacer(transport.name, start=False)
        self.policy = policy or RetryPolicy()
        self.name = transport.name
        self.endpoint = transport.endpoint
        self._rng = rng or random.Random()
        self.retries = 0

    def _attempt_timeout(self, started: float) -> float:
        remaining = self.policy.time_budget_s - (time.monotonic() - started)
        if remaining <= 0:
            raise BudgetExhausted(
                self.name,
                f"time budget of {self.policy.time_budget_s:g}s spent",
                hint="Raise the time budget or check the provider's health.",
            )
        return min(self.policy.attempt_timeout_s, remaining)

    async def _admit(self, request: GenerateRequest, started: float) -> Ticket:
        """A concurrency slot, then a turn in the rate schedule (the slot is given back
        if the turn would come too late)."""
        await self.limiter.acquire()
        try:
            return await self.pacer.admit(
                request_costs(request), started + self.policy.time_budget_s
            )
        except PacingDeadline as late:
            self.limiter.release()
            raise RateLimited(
                self.name,
                f"the provider's rate limit would hold this call past its time budget of "
                f"{self.policy.time_budget_s:g}s (next turn in {late.wait_s:.0f}s)",
                retry_after_s=late.wait_s,
                code="rate_limited",
                hint="Resume the run later, or ask the provider for a higher limit.",
            ) from None
        except BaseException:
            self.limiter.release()
            raise

    def _after_failure(
        self, error: ModelError, ticket: Ticket, counts: list[int], started: float
    ) -> float:
        """Feed the limiter and the pacer; return the delay before the next attempt or
        raise. ``counts`` is [real failures, rate limits] so far."""
        if isinstance(error, RateLimited):
            counts[1] += 1
            if not self.pacer.refused(ticket, error.retry_after_s):
                self.limiter.on_rate_limited(error.retry_after_s)
            attempt = counts[1]
        else:
            counts[0] += 1
            self.pacer.failed(ticket)
            attempt = counts[0]
        decision = decide_retry(error, attempt, time.monotonic() - started, self.policy, self._rng)
        if isinstance(decision, GiveUp):
            error.attempts = sum(counts)
            if error.retryable:
                error.hint = (
                    f"{error.hint} Still failing: {decision.reason}; check the provider's "
                    "health or raise the retry budget."
                ).strip()
            raise error
        self.retries += 1
        return decision.delay_s

    async def generate(self, request: GenerateRequest) -> GenerateResult:
        started = time.monotonic()
        counts = [0, 0]
        while True:
            ticket = await self._admit(request, started)
            try:
                timeout = self._attempt_timeout(started)
                result = await self.transport.attempt(request, timeout)
            except ModelError as error:
                self.limiter.release()
                delay = self._after_failure(error, ticket, counts, started)
            except BaseException:  # cancelled: give the slot back, or it is lost for good
                self.limiter.release()
                self.pacer.failed(ticket)
                raise
            else:
                self.limiter.release()
                self.limiter.on_success()
                self.pacer.succeeded(ticket, result.usage)
                return result
            if delay > 0:
                await asyncio.sleep(delay)

    async def stream(self, request: GenerateRequest) -> AsyncIterator[StreamDelta]:
        """Retried only until the first delta arrives: a half-sent answer is not replayed."""
        started = time.monotonic()
        counts = [0, 0]
        while True:
            ticket = await self._admit(request, started)
            yielded = False
            usage: Usage | None = None
            try:
                timeout = self._attempt_timeout(started)
                async for delta in self.transport.attempt_stream(request, timeout):
                    if not yielded:
                        yielded = True
                        # The answer has begun: the provider accepted it.
                        self.limiter.on_success()
                        self.pacer.succeeded(ticket, None)
                    usage = delta.usage or usage
                    yield delta
            except ModelError as error:
                self.limiter.release()
                if yielded:
                    raise
                delay = self._after_failure(error, ticket, counts, started)
            except BaseException:
                self.limiter.release()
                self.pacer.failed(ticket)
                raise
            else:
                self.limiter.release()
                if not yielded:
                    self.limiter.on_success()
                self.pacer.succeeded(ticket, usage)
                self.pacer.charge(ticket, usage)
                return
            if delay > 0:
                await asyncio.sleep(delay)

    async def aclose(self) -> None:
        await self.transport.aclose()
