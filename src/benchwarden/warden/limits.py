"""Per-grant limits: requests per minute, tokens per minute, calls in flight.

Exact, in the strict sense: in every window of ``window_s`` seconds (60 by default),
whatever the timing, a grant never has more than ``rpm`` requests admitted nor more
than ``tpm`` tokens charged. A token bucket or GCRA cannot promise that while also
allowing bursts (a full bucket plus a minute of refill admits nearly twice the rate
in a rolling minute), so this keeps a sliding log per grant: admission times, and
token entries that are reserved at admission and corrected at settlement.

Tokens: ``reserve`` charges an upper bound (prompt bound + max_tokens) before the
model is called; ``extend`` adds tokens while a stream runs (refused when the window
is full: the caller ends the stream cleanly); ``settle`` replaces the reservation with
the actual count (refunding the difference, or charging an overshoot) and frees the
concurrency slot. ``Retry-After`` is exact too: the time until enough of the log
leaves the window.

``Limiter`` is the interface the gate uses; ``SlidingWindowLimiter`` is the
in-process implementation (one replica). Several replicas need a shared one (a Redis
sorted set per grant with a Lua script doing the same arithmetic).
"""

from __future__ import annotations

import collections
import dataclasses
import threading
from dataclasses import dataclass, field
from typing import Literal, Protocol

from benchwarden.warden.limit_headers import LimitSnapshot, Window

LimitCode = Literal["rate_limited", "token_limit"]
# When a concurrency slot is what is missing: calls in flight take seconds, not minutes.
CONCURRENCY_RETRY_S = 1.0


@dataclass(frozen=True, slots=True)
class Limits:
    """None means unlimited."""

    rpm: int | None = None
    tpm: int | None = None
    max_concurrency: int | None = None


@dataclass(slots=True, eq=False)
class _Entry:
    at: float
    tokens: int
    live: bool = True  # still inside the window (counted in ``used``)


@dataclass(slots=True)
class Reservation:
    grant_id: int
    tokens: int
    entries: list[_Entry] = field(default_factory=list)
    settled: bool = False
    # The grant's limits as admission left them, for the answer's rate-limit headers
    # (any limiter may fill it; None sends none).
    snapshot: LimitSnapshot | None = None


@dataclass(frozen=True, slots=True)
class RetryAfter:
    """Refused now. ``retryable`` is False when waiting cannot help (the request alone
    needs more tokens than the grant allows in a whole window)."""

    seconds: float
    code: LimitCode
    message: str
    retryable: bool = True
    # The grant's limits as they stand, for the refusal's rate-limit headers (any
    # limiter may fill it; None sends none).
    snapshot: LimitSnapshot | None = None


class Limiter(Protocol):
    def set_limits(self, grant_id: int, limits: Limits) -> None: ...

    def reserve(self, grant_id: int, tokens: int, now: float) -> Reservation | RetryAfter: ...

    def extend(self, reservation: Reservation, tokens: int, now: float) -> bool: ...

    def settle(self, reservation: Reservation, actual_tokens: int, now: float) -> None: ...


@dataclass(slots=True)
class _Grant:
    limits: Limits = field(default_factory=Limits)
    requests: collections.deque[float] = field(default_factory=collections.deque)
    tokens: collections.deque[_Entry] = field(default_factory=collections.deque)
    used: int = 0
    active: int = 0


class SlidingWindowLimiter:
    """In-process and thread-safe. ``now`` is a monotonic time in seconds."""

    def __init__(self, window_s: float = 60.0) -> None:
        self.window_s = window_s
        self._grants: dict[int, _Grant] = {}
        self._lock = threading.Lock()

    def _state(self, grant_id: int) -> _Grant:
        state = self._grants.get(grant_id)
        if state is None:
            state = self._grants[grant_id] = _Grant()
        return state

    def _prune(self, state: _Grant, now: float) -> None:
        edge = now - self.window_s
        while state.requests and state.requests[0] <= edge:
            state.requests.popleft()
        while state.tokens and state.tokens[0].at <= edge:
            gone = state.tokens.popleft()
            gone.live = False
            state.used -= gone.tokens

    def set_limits(self, grant_id: int, limits: Limits) -> None:
        with self._lock:
            self._state(grant_id).limits = limits

    def usage(self, grant_id: int, now: float) -> tuple[int, int, int]:
        """(requests, tokens, in flight) counted in the window ending at ``now``."""
        with self._lock:
            state = self._state(grant_id)
            self._prune(state, now)
            return len(state.requests), state.used, state.active

    def _rpm_wait(self, state: _Grant, now: float) -> float | None:
        rpm = state.limits.rpm
        if rpm is None or len(state.requests) < rpm:
            return None
        # Admitting needs len - rpm + 1 of the oldest admissions out of the window.
        return state.requests[len(state.requests) - rpm] + self.window_s - now

    def _tpm_wait(self, state: _Grant, tokens: int, now: float) -> float | None:
        tpm = state.limits.tpm
        if tpm is None or state.used + tokens <= tpm:
            return None
        freed = 0
        for entry in state.tokens:
            freed += entry.tokens
            if state.used - freed + tokens <= tpm:
                return entry.at + self.window_s - now
        return self.window_s  # only in-flight reservations block it: they settle soon

    def reserve(self, grant_id: int, tokens: int, now: float) -> Reservation | RetryAfter:
        with self._lock:
            state = self._state(grant_id)
            self._prune(state, now)
            refusal = self._refusal(state, tokens, now)
            if refusal is not None:
                return dataclasses.replace(refusal, snapshot=self._snapshot(state, now))
            entry = _Entry(now, tokens)
            state.requests.append(now)
            state.tokens.append(entry)
            state.used += tokens
            state.active += 1
            return Reservation(grant_id, tokens, [entry], snapshot=self._snapshot(state, now))

    def _refusal(self, state: _Grant, tokens: int, now: float) -> RetryAfter | None:
        """Why ``tokens`` more cannot be admitted now, if they cannot."""
        limits = state.limits
        if limits.tpm is not None and tokens > limits.tpm:
            return refusal("too_large", 0.0, limits, tokens, state.active)
        if limits.max_concurrency is not None and state.active >= limits.max_concurrency:
            return refusal("concurrency", 0.0, limits, tokens, state.active)
        rpm_wait = self._rpm_wait(state, now)
        tpm_wait = self._tpm_wait(state, tokens, now)
        if rpm_wait is not None and (tpm_wait is None or rpm_wait >= tpm_wait):
            return refusal("rpm", rpm_wait, limits, tokens, state.active)
        if tpm_wait is not None:
            return refusal("tpm", tpm_wait, limits, tokens, state.active)
        return None

    def _snapshot(self, state: _Grant, now: float) -> LimitSnapshot:
        """What is left of each windowed limit, and when the window is whole again."""
        limits, window = state.limits, self.window_s
        requests = tokens = None
        if limits.rpm is not None:
            reset = state.requests[-1] + window - now if state.requests else 0.0
            requests = Window(limits.rpm, limits.rpm - len(state.requests), reset)
        if limits.tpm is not None:
            reset = state.tokens[-1].at + window - now if state.tokens else 0.0
            tokens = Window(limits.tpm, limits.tpm - state.used, reset)
        return LimitSnapshot(requests, tokens)

    def extend(self, reservation: Reservation, tokens: int, now: float) -> bool:
        """Charge ``tokens`` more to a reservation in flight; False if the window is full."""
        if tokens <= 0:
            return True
        with self._lock:
            state = self._state(reservation.grant_id)
            self._prune(state, now)
            tpm = state.limits.tpm
            if tpm is not None and state.used + tokens > tpm:
                return False
            entry = _Entry(now, tokens)
            state.tokens.append(entry)
            state.used += tokens
            reservation.entries.append(entry)
            reservation.tokens += tokens
            return True

    def settle(self, reservation: Reservation, actual_tokens: int, now: float) -> None:
        """The call is over: charge ``actual_tokens`` in place of the reservation and
        free its slot. Idempotent."""
        with self._lock:
            if reservation.settled:
                return
            reservation.settled = True
            state = self._state(reservation.grant_id)
            state.active = max(0, state.active - 1)
            self._prune(state, now)
            refund = reservation.tokens - max(0, actual_tokens)
            for entry in reversed(reservation.entries):
                if refund <= 0:
                    break
                take = min(refund, entry.tokens)
                entry.tokens -= take
                refund -= take
                if entry.live:
                    state.used -= take
            if refund < 0:
                # More than reserved (the prompt bound was beaten): charge it now.
                entry = _Entry(now, -refund)
                state.tokens.append(entry)
                state.used += entry.tokens
            reservation.tokens = max(0, actual_tokens)


def refusal(code: str, wait_s: float, limits: Limits, tokens: int, active: int) -> RetryAfter:
    """Pure: the refusal for why admission failed (``too_large``, ``concurrency``,
    ``rpm``, ``tpm``), with its message and wait; the same for every limiter."""
    if code == "too_large":
        return RetryAfter(
            0.0,
            "token_limit",
            f"This request needs up to {tokens} tokens (prompt and max_tokens) but "
            f"the grant allows {limits.tpm} tokens per minute. Lower max_tokens or "
            "shorten the prompt.",
            retryable=False,
        )
    if code == "concurrency":
        return RetryAfter(
            CONCURRENCY_RETRY_S,
            "rate_limited",
            f"{active} requests of this grant are in flight, its maximum. Wait for one to finish.",
        )
    if code == "rpm":
        return RetryAfter(
            wait_s,
            "rate_limited",
            f"The grant's limit of {limits.rpm} requests per minute is reached.",
        )
    return RetryAfter(
        wait_s,
        "token_limit",
        f"The grant's limit of {limits.tpm} tokens per minute is reached "
        f"(this request reserves up to {tokens}).",
    )
