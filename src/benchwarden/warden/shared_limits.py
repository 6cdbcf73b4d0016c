"""The limiter as the gate and the stream meter use it, in process or shared.

``limits.Limiter`` is synchronous: its state is in this process. A ``SharedLimiter``
keeps it elsewhere (Redis, ``redis_limits.RedisLimiter``), so admitting and extending
are I/O and are awaited; settling is handed off (it runs in ``finally`` blocks and
must neither block nor raise). ``reserve`` and ``extend`` here take either kind.

A shared limiter that cannot be reached raises ``LimitsUnavailable`` at admission:
the gate refuses with 503 ``limits_unavailable`` (fail closed) and serves again as
soon as the store answers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from benchwarden.warden.limits import Limiter, Limits, Reservation, RetryAfter


class LimitsUnavailable(Exception):
    """The shared limit store did not answer."""


class SharedLimiter(ABC):
    """A base class rather than a Protocol: the gate tells the two kinds apart on
    every request, and an ABC's isinstance is cached."""

    @abstractmethod
    async def start(self) -> None:
        """Connect and start renewing the leases of calls in flight (on the app's loop)."""

    @abstractmethod
    async def aclose(self) -> None: ...

    @abstractmethod
    async def areserve(
        self, grant_id: int, limits: Limits, tokens: int
    ) -> Reservation | RetryAfter: ...

    @abstractmethod
    async def aextend(self, reservation: Reservation, tokens: int) -> bool: ...

    @abstractmethod
    def settle(self, reservation: Reservation, actual_tokens: int, now: float) -> None: ...

    @abstractmethod
    async def ping(self) -> None:
        """Raise ``LimitsUnavailable`` when the store does not answer (for /healthz)."""


AnyLimiter = Limiter | SharedLimiter


async def reserve(
    limiter: AnyLimiter, grant_id: int, limits: Limits, tokens: int, now: float
) -> Reservation | RetryAfter:
    """Admit under ``limits`` (the grant's terms as read for this request)."""
    if isinstance(limiter, SharedLimiter):
        return await limiter.areserve(grant_id, limits, tokens)
    limiter.set_limits(grant_id, limits)
    return limiter.reserve(grant_id, tokens, now)


async def extend(limiter: AnyLimiter, reservation: Reservation, tokens: int, now: float) -> bool:
    """Charge ``tokens`` more to a call in flight; False when the window is full (or a
    shared store cannot be reached: the call then ends, as it could not be charged)."""
    if isinstance(limiter, SharedLimiter):
        return await limiter.aextend(reservation, tokens)
    return limiter.extend(reservation, tokens, now)
