"""Simulated time for the traffic simulator: never used by ``benchwarden serve``.

With a ``SimClock`` given to ``create_app``, each request may carry its moment in the
header ``Benchwarden-Sim-Time`` (seconds since the epoch) and warden decides, meters,
audits and monitors it as if it arrived then, so a simulated day takes seconds. Without
one (production), the header means nothing: nothing in the CLI creates a SimClock.
The limiter's clock is the latest moment seen, so it never runs backwards.
"""

from __future__ import annotations

import contextvars
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

SIM_TIME_HEADER = "benchwarden-sim-time"
_HEADER = SIM_TIME_HEADER.encode()
_request_time: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "benchwarden_sim_time", default=None
)


class SimClock:
    def __init__(self, start: datetime) -> None:
        self._latest = start.timestamp()

    def enter(self, raw: str) -> None:
        """The current request happens at ``raw`` (epoch seconds); ignored if malformed."""
        try:
            moment = float(raw)
        except ValueError:
            return
        if moment != moment or moment <= 0:  # NaN or nonsense
            return
        self._latest = max(self._latest, moment)
        _request_time.set(moment)

    def advance(self, moment: datetime) -> None:
        self._latest = max(self._latest, moment.timestamp())

    def now(self) -> datetime:
        moment = _request_time.get()
        return datetime.fromtimestamp(self._latest if moment is None else moment, UTC)

    def monotonic(self) -> float:
        return self._latest


class SimTimeMiddleware:
    """Reads ``Benchwarden-Sim-Time`` into the clock for the request's own task."""

    def __init__(self, app: ASGIApp, clock: SimClock) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers: Any = scope.get("headers") or []
            for name, value in headers:
                if name == _HEADER:
                    self.clock.enter(value.decode("latin-1"))
                    break
        await self.app(scope, receive, send)
