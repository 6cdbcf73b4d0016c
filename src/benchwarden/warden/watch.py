"""Ending calls in flight when their key is revoked or their grant removed.

Every admitted call holds a ``Ticket``. One task per replica re-reads, every
``interval_s`` (250 ms by default), the keys and grants of all calls in flight (two
queries, however many calls) and stops the tickets that ``policy.recheck`` refuses;
``poke`` makes it look at once (the admin API does, after a revocation in this
process). Revocations made elsewhere (the CLI, another replica) are seen within one
interval. A stopped stream sends a final error event and closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import UTC, datetime

from benchwarden.store.records import StoreError
from benchwarden.store.warden_store import WardenStore
from benchwarden.warden.policy import Refuse, recheck

log = logging.getLogger("benchwarden.warden.watch")
WATCH_INTERVAL_S = 0.25


class Ticket:
    """One call in flight. ``stopped`` is set (with ``reason``) when it must end."""

    def __init__(self, key_id: str, grant_id: int, model: str) -> None:
        self.key_id = key_id
        self.grant_id = grant_id
        self.model = model
        self.stopped = asyncio.Event()
        self.reason: Refuse | None = None

    def stop(self, reason: Refuse) -> None:
        if self.reason is None:
            self.reason = reason
            self.stopped.set()


class RevocationWatch:
    def __init__(
        self,
        store: WardenStore,
        executor: Executor | None = None,
        *,
        interval_s: float = WATCH_INTERVAL_S,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._executor = executor
        self.interval_s = interval_s
        self._clock = clock
        self._tickets: set[Ticket] = set()
        self._poked = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def register(self, key_id: str, grant_id: int, model: str) -> Ticket:
        ticket = Ticket(key_id, grant_id, model)
        self._tickets.add(ticket)
        return ticket

    def unregister(self, ticket: Ticket) -> None:
        self._tickets.discard(ticket)

    def poke(self) -> None:
        self._poked.set()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="warden-revocation-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poked.wait(), self.interval_s)
            self._poked.clear()
            if self._tickets:
                try:
                    await self.check()
                except StoreError as exc:
                    # Keep serving what was admitted; new requests still read the database.
                    log.warning("revocation watch could not read the database: %s", exc)

    async def check(self) -> int:
        """Re-read the state of every call in flight; stop those no longer allowed."""
        tickets = list(self._tickets)
        key_ids = {t.key_id for t in tickets}
        grant_ids = {t.grant_id for t in tickets}
        loop = asyncio.get_running_loop()
        keys, grants = await loop.run_in_executor(
            self._executor, self._store.live_state, key_ids, grant_ids
        )
        now = self._clock()
        stopped = 0
        for ticket in tickets:
            refused = recheck(
                keys.get(ticket.key_id), grants.get(ticket.grant_id), ticket.model, now
            )
            if refused is not None and ticket.reason is None:
                ticket.stop(refused)
                stopped += 1
        return stopped
