"""A ModelClient that paces and retries one transport.

Every attempt holds a slot of the model's adaptive limiter; failures go through the
pure retry decision; the whole call, waits included, stays within its time budget.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator

from benchwarden.models.errors import BudgetExhausted, ModelError, RateLimited
from benchwarden.models.pacing.concurrency import AdaptiveLimiter
from benchwarden.models.pacing.retry import GiveUp, RetryPolicy, decide_retry
from benchwarden.models.protocol import Transport
from benchwarden.models.types import GenerateRequest, GenerateResult, StreamDelta


class PacedClient:
    def __init__(
        self,
        transport: Transport,
        limiter: AdaptiveLimiter,
        policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.transport = transport
        self.limiter = limiter
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

    def _after_failure(self, error: ModelError, attempt: int, started: float) -> float:
        """Feed the limiter; return the delay before the next attempt or raise."""
        if isinstance(error, RateLimited):
            self.limiter.on_rate_limited(error.retry_after_s)
        decision = decide_retry(error, attempt, time.monotonic() - started, self.policy, self._rng)
        if isinstance(decision, GiveUp):
            error.attempts = attempt
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
        attempt = 0
        while True:
            attempt += 1
            await self.limiter.acquire()
            try:
                timeout = self._attempt_timeout(started)
                result = await self.transport.attempt(request, timeout)
            except ModelError as error:
                self.limiter.release()
                delay = self._after_failure(error, attempt, started)
            except BaseException:  # cancelled: give the slot back, or it is lost for good
                self.limiter.release()
                raise
            else:
                self.limiter.release()
                self.limiter.on_success()
                return result
            if delay > 0:
                await asyncio.sleep(delay)

    async def stream(self, request: GenerateRequest) -> AsyncIterator[StreamDelta]:
        """Retried only until the first delta arrives: a half-sent answer is not replayed."""
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            await self.limiter.acquire()
            yielded = False
            try:
                timeout = self._attempt_timeout(started)
                async for delta in self.transport.attempt_stream(request, timeout):
                    yielded = True
                    yield delta
            except ModelError as error:
                self.limiter.release()
                if yielded:
                    raise
                delay = self._after_failure(error, attempt, started)
            except BaseException:
                self.limiter.release()
                raise
            else:
                self.limiter.release()
                self.limiter.on_success()
                return
            if delay > 0:
                await asyncio.sleep(delay)

    async def aclose(self) -> None:
        await self.transport.aclose()
