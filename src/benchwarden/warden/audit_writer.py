"""Group commit for the audit chain, on the event loop's side.

Requests hand their records to ``AuditWriter``; one task takes everything queued,
appends it through the sequencer in one transaction (on a worker thread) and wakes
every request that waits. Under load many decisions share one commit, so recording
every decision durably before answering costs a fraction of a commit per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor

from benchwarden.store.warden_records import AuditRow
from benchwarden.warden.audit import AuditEntry
from benchwarden.warden.sequencer import AuditSequencer

log = logging.getLogger("benchwarden.warden.audit")
MAX_BATCH = 512
_Item = tuple[AuditEntry, "asyncio.Future[AuditRow]"]


class AuditWriter:
    def __init__(
        self,
        sequencer: AuditSequencer,
        executor: Executor | None = None,
        *,
        observe: Callable[[int, float], None] | None = None,
    ) -> None:
        self._sequencer = sequencer
        self._executor = executor
        self._observe = observe  # (batch size, seconds) per commit, for metrics
        self._queue: asyncio.Queue[_Item | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._stragglers: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="warden-audit-writer")

    async def stop(self) -> None:
        """Write everything queued, then stop."""
        if self._task is None:
            return
        await self._queue.put(None)
        await self._task
        self._task = None

    def submit(self, entry: AuditEntry) -> asyncio.Future[AuditRow]:
        """Queue ``entry``; the future resolves once it is committed. Failures of records
        nobody awaits are logged (never silently dropped)."""
        future: asyncio.Future[AuditRow] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_log_failure)
        if self._task is None:  # not running (shutting down): write it on its own
            task = asyncio.ensure_future(self._write([(entry, future)]))
            self._stragglers.add(task)
            task.add_done_callback(self._stragglers.discard)
        else:
            self._queue.put_nowait((entry, future))
        return future

    async def record(self, entry: AuditEntry) -> AuditRow:
        return await self.submit(entry)

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            item = await self._queue.get()
            batch: list[_Item] = []
            if item is None:
                stopping = True
            else:
                batch.append(item)
            while len(batch) < MAX_BATCH and not self._queue.empty():
                more = self._queue.get_nowait()
                if more is None:
                    stopping = True
                else:
                    batch.append(more)
            if batch:
                await self._write(batch)

    async def _write(self, batch: list[_Item]) -> None:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        try:
            rows = await loop.run_in_executor(
                self._executor, self._sequencer.append, [entry for entry, _ in batch]
            )
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        if self._observe is not None:
            self._observe(len(batch), time.perf_counter() - started)
        for (_, future), row in zip(batch, rows, strict=True):
            if not future.done():
                future.set_result(row)


def _log_failure(future: asyncio.Future[AuditRow]) -> None:
    if future.cancelled():
        return
    exc = future.exception()
    if exc is not None:
        with contextlib.suppress(Exception):
            log.error("audit record not written: %s", exc)
