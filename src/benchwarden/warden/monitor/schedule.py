"""The monitor's evaluation on a schedule, on exactly one replica.

Every replica runs ``ScheduledEvaluation`` (``serve --monitor-every S``); each interval
it asks ``Leadership`` whether it leads, and only the leader evaluates. Leadership is
a PostgreSQL session advisory lock taken on a connection of its own: the replica
holding it leads for as long as that connection lives, and a replica that dies (or
loses the connection) lets the lock go, so another takes over at its next interval.
On SQLite (one process) the one replica always leads.

Each run appends ``monitor.evaluate`` to the audit chain (the replica, the number of
findings): the proof that the monitor ran, and how often. Findings and automatic
responses are recorded by ``MonitorService.evaluate`` as when an admin asks; a
response (suspend, revoke) notifies every replica like any admin change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import Executor
from functools import partial

import psycopg

from benchwarden.warden.audit import AuditEntry
from benchwarden.warden.audit_writer import AuditWriter
from benchwarden.warden.monitor.service import MonitorService

log = logging.getLogger("benchwarden.warden.monitor.schedule")
# The advisory lock's key: any constant the database's other users do not take.
LEADER_LOCK = 0x62770001


class Leadership:
    """``await lead()``: whether this replica leads now (taking the lead when free)."""

    def __init__(self, url: str | None) -> None:
        self._url = url  # libpq URL; None: SQLite, one process, always the leader
        self._conn: psycopg.AsyncConnection | None = None
        self.leading = url is None

    async def lead(self) -> bool:
        if self._url is None:
            return True
        try:
            if self._conn is None or self._conn.closed:
                self.leading = False
                self._conn = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
            if self.leading:  # the lock lives with the session: is it still there?
                await self._conn.execute("SELECT 1")
                return True
            cursor = await self._conn.execute("SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK,))
            row = await cursor.fetchone()
            self.leading = bool(row and row[0])
        except (psycopg.Error, OSError) as exc:
            log.warning("monitor leadership unknown (not evaluating): %s", exc)
            await self.release()
        return self.leading

    async def release(self) -> None:
        """Let the lead go (closing the session releases the lock)."""
        if self._url is not None:
            self.leading = False
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error, OSError):
                await self._conn.close()
            self._conn = None


class ScheduledEvaluation:
    def __init__(
        self,
        service: MonitorService,
        leadership: Leadership,
        writer: AuditWriter,
        executor: Executor | None,
        *,
        every_s: float,
        hours: float = 24.0,
        replica: str = "",
    ) -> None:
        self.service = service
        self.leadership = leadership
        self.writer = writer
        self.executor = executor
        self.every_s = every_s
        self.hours = hours
        self.replica = replica
        self.runs = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="warden-monitor-schedule")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.leadership.release()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            if await self.leadership.lead():
                try:
                    await self.run_once()
                except Exception:  # the next interval tries again
                    log.exception("scheduled monitor evaluation failed")

    async def run_once(self) -> int:
        """Evaluate now; the number of findings recorded."""
        loop = asyncio.get_running_loop()
        work = partial(self.service.evaluate, None, self.hours, actor="monitor:schedule")
        found = await loop.run_in_executor(self.executor, work)
        self.runs += 1
        detail = {"replica": self.replica, "findings": len(found), "hours": self.hours}
        entry = AuditEntry(
            actor="monitor:schedule",
            action="monitor.evaluate",
            decision="done",
            ts=self.service.clock(),
            detail=detail,
        )
        await self.writer.record(entry)
        return len(found)
