"""Fail open, for a declared list of grants, while the shared limit store is down.

warden fails closed by default: when Redis cannot be reached, admission is refused
with 503 ``limits_unavailable``. An operator may name grants whose traffic matters
more than their limits (``serve --limits-fail-open GRANT``, a grant id as the admin
API shows it, or ``ORG/MODEL``). A request under such a grant is then served without
shared-limit accounting, and each such admission is first recorded in the audit
chain (action ``limits.bypass``, code ``limits_unavailable``, with the grant, its
organization and model, the tokens it would have reserved, the replica and Redis's
error). Never silently: when that record cannot be written, the request is refused
as any other.

A bypassed call holds no slot anywhere: its extensions are allowed and its
settlement counts nothing, even if Redis is back before it ends. Grants not listed
keep failing closed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable, Collection
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime

from benchwarden.store.records import StoreError
from benchwarden.store.warden_store import WardenStore
from benchwarden.warden.audit import AuditEntry
from benchwarden.warden.audit_writer import AuditWriter
from benchwarden.warden.limits import Limits, Reservation, RetryAfter
from benchwarden.warden.shared_limits import AnyLimiter, LimitsUnavailable, SharedLimiter

log = logging.getLogger("benchwarden.warden.fail_open")
BYPASS_ACTION = "limits.bypass"
_REREAD_S = 1.0  # an unknown grant id re-reads the grant list at most this often
_LOG_EVERY_S = 10.0


@dataclass(slots=True)
class BypassReservation(Reservation):
    """Admitted without counting: nothing to extend, renew or settle in the store."""


class FailOpenLimiter(SharedLimiter):
    """``inner``, except that its ``LimitsUnavailable`` admits (audited) the grants in
    ``grants`` (ids as text, or ``ORG/MODEL``)."""

    def __init__(
        self,
        inner: SharedLimiter,
        grants: Collection[str],
        writer: AuditWriter,
        store: WardenStore,
        executor: Executor | None,
        clock: Callable[[], datetime],
    ) -> None:
        self.inner = inner
        self.grants = frozenset(grants)
        self._writer = writer
        self._store = store
        self._executor = executor
        self._clock = clock
        self._names: dict[int, tuple[str, str]] = {}  # grant id -> (org, model)
        self._read_at = float("-inf")
        self._logged_at = float("-inf")
        self.replica = f"{socket.gethostname()}:{os.getpid()}"

    async def start(self) -> None:
        await self.inner.start()

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def ping(self) -> None:
        await self.inner.ping()

    async def areserve(
        self, grant_id: int, limits: Limits, tokens: int
    ) -> Reservation | RetryAfter:
        try:
            return await self.inner.areserve(grant_id, limits, tokens)
        except LimitsUnavailable as exc:
            org, model = await self._grant(grant_id, exc)
            if not ({str(grant_id), f"{org}/{model}"} & self.grants):
                raise
            await self._record(grant_id, org, model, tokens, exc)
            return BypassReservation(grant_id, tokens)

    async def aextend(self, reservation: Reservation, tokens: int) -> bool:
        if isinstance(reservation, BypassReservation):
            reservation.tokens += max(0, tokens)
            return True
        return await self.inner.aextend(reservation, tokens)

    def settle(self, reservation: Reservation, actual_tokens: int, now: float) -> None:
        if isinstance(reservation, BypassReservation):
            reservation.settled = True
            reservation.tokens = max(0, actual_tokens)
            return
        self.inner.settle(reservation, actual_tokens, now)

    async def _grant(self, grant_id: int, cause: LimitsUnavailable) -> tuple[str, str]:
        """(organization, model) of the grant, from the database (read again when the
        id is new, at most once a second); fails closed when it cannot be read."""
        if grant_id not in self._names and time.monotonic() - self._read_at > _REREAD_S:
            self._read_at = time.monotonic()
            loop = asyncio.get_running_loop()
            try:
                grants = await loop.run_in_executor(self._executor, self._store.list_grants)
            except StoreError as exc:
                raise LimitsUnavailable(f"{cause}; and the grants cannot be read: {exc}") from exc
            self._names = {g.id: (g.org, g.model) for g in grants}
        found = self._names.get(grant_id)
        if found is None:
            raise cause
        return found

    async def _record(
        self, grant_id: int, org: str, model: str, tokens: int, cause: LimitsUnavailable
    ) -> None:
        entry = AuditEntry(
            actor=f"replica:{self.replica}",
            action=BYPASS_ACTION,
            decision="allow",
            ts=self._clock(),
            org=org,
            model=model,
            code="limits_unavailable",
            detail={
                "grant_id": grant_id,
                "reason": "Redis unreachable: served without limit accounting "
                "(serve --limits-fail-open)",
                "reserved_tokens": tokens,
                "error": str(cause)[:300],
            },
        )
        try:
            await self._writer.record(entry)
        except Exception as exc:
            raise LimitsUnavailable(f"{cause}; and the bypass could not be audited") from exc
        now = time.monotonic()
        if now - self._logged_at > _LOG_EVERY_S:
            self._logged_at = now
            log.warning(
                "limits bypassed for grant %s (%s/%s), declared fail-open: %s",
                grant_id,
                org,
                model,
                cause,
            )


def with_fail_open(
    limiter: AnyLimiter,
    grants: Collection[str],
    writer: AuditWriter,
    store: WardenStore,
    executor: Executor | None,
    clock: Callable[[], datetime],
) -> AnyLimiter:
    """``limiter`` wrapped when it is shared and some grants are declared fail-open."""
    if not grants or not isinstance(limiter, SharedLimiter):
        return limiter
    return FailOpenLimiter(limiter, grants, writer, store, executor, clock)
