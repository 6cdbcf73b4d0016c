"""Many sandboxed programs at once, as many as there are cores.

Why threads and not worker processes: every program already runs in its own
bubblewrap sandbox, a separate process tree that cannot touch ours (no shared memory,
its own PID namespace, killed with its parent). What a program does (fork bombs,
killing its parent, closing its pipes, exhausting memory) happens to that tree, never
to the supervisor. So a supervising thread per slot is enough: it blocks in ``select``
and ``wait4`` with the GIL released, costs no start-up, cannot be broken the way a
``ProcessPoolExecutor`` breaks (there is no worker process to lose), and reads the
kernel's CPU accounting of the whole tree through ``wait4``, which asyncio's child
watchers do not expose. Cancelling an awaiting task kills its program at once.
"""

from __future__ import annotations

import asyncio
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from benchwarden.bench.sandbox.execute import execute
from benchwarden.bench.sandbox.types import DEFAULT_LIMITS, ExecResult, SandboxLimits


class SandboxPool:
    """Runs programs in the sandbox, ``workers`` at a time (default: one per core)."""

    def __init__(self, workers: int | None = None) -> None:
        count = workers if workers is not None else (os.cpu_count() or 1)
        if count < 1:
            raise ValueError(f"workers must be at least 1, got {count}")
        self.workers = count
        self._executor = ThreadPoolExecutor(max_workers=count, thread_name_prefix="sandbox")
        self._closed = False
        self._running: set[threading.Event] = set()

    async def run(self, source: str, limits: SandboxLimits = DEFAULT_LIMITS) -> ExecResult:
        """Run one program; waits for a free slot first."""
        if self._closed:
            raise RuntimeError("this SandboxPool is closed")
        cancel = threading.Event()
        self._running.add(cancel)
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, execute, source, limits, None, cancel)
        try:
            return await future
        except asyncio.CancelledError:
            cancel.set()  # the supervising thread kills the program within 0.2 s
            raise
        finally:
            self._running.discard(cancel)

    async def aclose(self) -> None:
        """Stop every running program and release the threads (idempotent)."""
        if self._closed:
            return
        self._closed = True
        for cancel in list(self._running):
            cancel.set()
        await asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)

    async def __aenter__(self) -> SandboxPool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
