"""Admin changes reach every replica at once: PostgreSQL ``LISTEN``.

Every change that can end calls in flight (a key revoked; a grant removed, suspended
or given new terms) sends ``NOTIFY benchwarden_terms`` in the transaction that makes
it (``WardenStore.notify_change``), whoever makes it: the CLI, any replica's admin
API, the monitor's responses. PostgreSQL delivers it when that transaction commits,
to every replica's ``ChangeListener``, which pokes the replica's revocation watch:
the watch re-reads the calls in flight at once instead of at its next poll.

The poll stays as the fallback (a lost connection, SQLite). After (re)connecting the
listener pokes once, since changes made while it was away sent nothing it heard.
New requests never depend on any of this: they always read the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import psycopg
from psycopg import sql

from benchwarden.store.warden_store import CHANGES_CHANNEL

log = logging.getLogger("benchwarden.warden.notices")


class ChangeListener:
    def __init__(self, url: str, on_change: Callable[[], None], *, retry_s: float = 1.0) -> None:
        self._url = url
        self._on_change = on_change
        self.retry_s = retry_s
        self.connected = False
        self.notices = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="warden-change-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.connected = False

    async def _run(self) -> None:
        while True:
            try:
                await self._listen()
            except (psycopg.Error, OSError) as exc:
                if self.connected:
                    log.warning("lost the change notices (polling meanwhile): %s", exc)
            self.connected = False
            await asyncio.sleep(self.retry_s)

    async def _listen(self) -> None:
        conn = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
        async with conn:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANGES_CHANNEL)))
            self.connected = True
            self._on_change()
            async for _notice in conn.notifies():
                self.notices += 1
                self._on_change()
