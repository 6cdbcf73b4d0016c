"""Usage records, written off the request path.

The gate hands the recorder an ``Observation`` at admission (who, what, the grant's
limits, calls in flight, probing flags, and the prompt text, held in memory only) and
completes it at settlement with the tokens used. A task takes whatever has
accumulated every ``flush_s`` (or sooner past ``batch`` records) and, on a worker
thread, turns each prompt into its SHA-256 and MinHash signature, looks it up in the
benchmark fingerprints and inserts the batch in one transaction. The text is dropped
there: nothing of it is stored.

Monitoring is best effort, unlike the audit chain: a failed write is logged and
counted, never a refused request; past ``max_pending`` the oldest records are dropped.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import logging
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime

from benchwarden.models.types import Usage
from benchwarden.store.monitor_store import MonitorStore, UsageRow
from benchwarden.warden.monitor.fingerprints import Fingerprints
from benchwarden.warden.monitor.sketch import sketch, to_bytes
from benchwarden.warden.monitor.text import MAX_TEXT_CHARS, probe_flags

log = logging.getLogger("benchwarden.warden.monitor")


@dataclass(slots=True)
class Observation:
    ts: datetime
    org: str
    key_id: str
    endpoint: str
    model: str | None
    purpose: str | None
    grant_id: int | None
    max_tokens: int | None = None
    rpm: int | None = None
    max_concurrency: int | None = None
    in_flight: int = 0
    flags: list[str] = field(default_factory=list)
    text: str | None = None  # in memory until the flush, never stored


def finished_row(
    obs: Observation, outcome: str, code: str | None, usage: Usage, prints: Fingerprints
) -> UsageRow:
    """The stored record of an observation: the text becomes a hash and a signature."""
    sha = sig = match = None
    flags = obs.flags
    if obs.text:
        text = obs.text[:MAX_TEXT_CHARS]
        sha = hashlib.sha256(obs.text.encode()).hexdigest()
        made = sketch(text)
        flags = sorted({*flags, *probe_flags(None, text)})
        if made is not None:
            sig = to_bytes(made[0])
            found = prints.match(*made)
            match = f"{found.dataset}/{found.item}" if found else None
    return UsageRow(
        ts=obs.ts,
        org=obs.org,
        key_id=obs.key_id,
        endpoint=obs.endpoint,
        outcome=outcome,
        model=obs.model,
        purpose=obs.purpose,
        code=code,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        max_tokens=obs.max_tokens,
        rpm=obs.rpm,
        max_concurrency=obs.max_concurrency,
        in_flight=obs.in_flight,
        flags=list(flags),
        prompt_sha256=sha,
        minhash=sig,
        benchmark=match,
    )


_Done = tuple[Observation, str, "str | None", Usage]


class UsageRecorder:
    def __init__(
        self,
        store: MonitorStore,
        fingerprints: Fingerprints | None = None,
        executor: Executor | None = None,
        *,
        flush_s: float = 0.5,
        batch: int = 512,
        max_pending: int = 100_000,
    ) -> None:
        self.store = store
        self.fingerprints = fingerprints or Fingerprints.empty()
        self._executor = executor
        self._flush_s = flush_s
        self._batch = batch
        self._pending: collections.deque[_Done] = collections.deque(maxlen=max_pending)
        self._in_flight: collections.Counter[int] = collections.Counter()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.written = 0
        self.failed = 0

    # -- the request path: cheap, synchronous, on the event loop -------------------------

    def begin(self, obs: Observation) -> Observation:
        if obs.grant_id is not None:
            self._in_flight[obs.grant_id] += 1
            obs.in_flight = self._in_flight[obs.grant_id]
        return obs

    def finish(self, obs: Observation, outcome: str, code: str | None, usage: Usage) -> None:
        if obs.grant_id is not None and self._in_flight[obs.grant_id] > 0:
            self._in_flight[obs.grant_id] -= 1
        self._pending.append((obs, outcome, code, usage))
        if len(self._pending) >= self._batch:
            self._wake.set()

    def refused(self, obs: Observation, code: str) -> None:
        """A refused request of a known key (no tokens): probing and limit pressure."""
        self._pending.append((obs, "refused", code, Usage()))

    # -- the writer ------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is None:
            self._wake = asyncio.Event()
            self._task = asyncio.create_task(self._run(), name="warden-monitor-recorder")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        await self.flush()

    async def flush(self) -> None:
        """Write everything accumulated so far."""
        while self._pending:
            taken = [self._pending.popleft() for _ in range(min(self._batch, len(self._pending)))]
            loop = asyncio.get_running_loop()
            try:
                await loop.run_in_executor(self._executor, self._write, taken)
            except Exception as exc:  # best effort: logged and counted
                self.failed += len(taken)
                log.error("usage records not written (%d): %s", len(taken), exc)

    def _write(self, taken: Sequence[_Done]) -> None:
        rows = [finished_row(o, out, code, u, self.fingerprints) for o, out, code, u in taken]
        self.store.insert_usage(rows)
        self.written += len(rows)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._flush_s)
            self._wake.clear()
            await self.flush()
