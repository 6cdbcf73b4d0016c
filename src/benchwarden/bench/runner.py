"""The evaluation runner: models x items x epochs, each model paced by its own client.

Every finished sample goes to one writer task that commits whatever has accumulated
in a single transaction while the next answers come in, so rows land as they
complete, a crash loses at most the answers not yet committed (and those are simply
redone on resume), and the unique key (run, model, suite, item, epoch) makes
duplicates impossible. Infrastructure failures are recorded as errors, apart from
wrong answers; an access refusal stops that model's queue so that a resume with
new credentials picks up exactly what is missing. A rate limit that outlasted a call's
time budget is no failure of the model either: that sample is left undone (nothing
recorded), the model's queue stops, and ``RunOutcome.not_done`` counts what a resume
(the same command) will run.

Each sample is a plain :class:`~benchwarden.bench.work.Unit` handed to an executor
(``bench/executor.py``): in this process by default, or on a Ray cluster. Budgets,
progress, blocking and the writer stay here, on the driver, whatever the executor.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from benchwarden.bench.budget import Budget
from benchwarden.bench.executor import Executor, LocalExecutor
from benchwarden.bench.plan import Task
from benchwarden.bench.prompting import SamplingOptions
from benchwarden.bench.suite import Item, Suite
from benchwarden.bench.work import (
    SENSITIVE_EXCERPT_CHARS,
    SuiteRef,
    Unit,
    UnitFailed,
    error_result,
    requirements,
    stored_answer,
    stored_detail,
    stored_turns,
)
from benchwarden.models.config import ModelSpec
from benchwarden.models.errors import RateLimited
from benchwarden.models.protocol import ModelClient
from benchwarden.store import SampleRecord, Store

__all__ = [
    "SENSITIVE_EXCERPT_CHARS",
    "NoProgress",
    "ProgressSink",
    "RunOptions",
    "RunOutcome",
    "Runner",
    "stored_answer",
    "stored_detail",
    "stored_turns",
]


class ProgressSink(Protocol):
    def start(self, model: str, total: int, already_done: int) -> None: ...

    def advance(self, model: str, ok: bool) -> None: ...


class NoProgress:
    def start(self, model: str, total: int, already_done: int) -> None:
        pass

    def advance(self, model: str, ok: bool) -> None:
        pass


@dataclass(frozen=True, slots=True)
class RunOptions:
    purpose: str = "benchmarking"
    sampling: SamplingOptions = field(default_factory=SamplingOptions)
    max_concurrency: int | None = None
    max_tokens_budget: int | None = None
    max_cost: float | None = None
    # What a worker elsewhere needs to rebuild clients and suites (see bench/work.Unit).
    use_cache: bool = True
    suite_refs: Mapping[str, SuiteRef] = field(default_factory=dict)


@dataclass(slots=True)
class RunOutcome:
    recorded: int = 0
    errors: int = 0
    stop_reason: str | None = None
    blocked: dict[str, str] = field(default_factory=dict)
    interrupted: bool = False
    # Models stopped by rate limits that outlasted the time budget, and per model the
    # samples left undone (neither answered nor recorded as errors).
    rate_limited: dict[str, str] = field(default_factory=dict)
    not_done: dict[str, int] = field(default_factory=dict)
    # Writing judges' counts, when the run judged writing answers (bench/writing/judging).
    judging: dict[str, object] = field(default_factory=dict)
    # Where the work ran: units per node (executors other than local), and notes.
    placement: dict[str, int] = field(default_factory=dict)
    placement_notes: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.interrupted or self.stop_reason or self.blocked or self.rate_limited:
            return "stopped"
        return "complete"


class _Writer:
    """Commits finished samples in batches, off the event loop, as they accumulate."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.queue: asyncio.Queue[SampleRecord | None] = asyncio.Queue()
        self.written = 0

    async def run(self) -> None:
        while True:
            first = await self.queue.get()
            batch = [] if first is None else [first]
            closing = first is None
            while not self.queue.empty():
                record = self.queue.get_nowait()
                if record is None:
                    closing = True
                else:
                    batch.append(record)
            if batch:
                self.written += await asyncio.to_thread(self.store.add_samples, batch)
            if closing:
                return


class Runner:
    def __init__(
        self,
        store: Store,
        run_id: str,
        suites: Mapping[str, Suite],
        items: Mapping[str, Sequence[Item]],
        specs: Mapping[str, ModelSpec],
        clients: Mapping[str, ModelClient],
        options: RunOptions,
        progress: ProgressSink | None = None,
        executor: Executor | None = None,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.suites = suites
        self.items = {name: {item.id: item for item in its} for name, its in items.items()}
        self.specs = specs
        self.clients = clients
        self.options = options
        self.progress = progress or NoProgress()
        self.budget = Budget(options.max_tokens_budget, options.max_cost)
        self.outcome = RunOutcome()
        self.executor: Executor = executor or LocalExecutor(clients, suites)

    async def run(
        self, plan: Mapping[str, Sequence[Task]], already_done: Mapping[str, int]
    ) -> RunOutcome:
        writer = _Writer(self.store)
        writer_task = asyncio.create_task(writer.run())
        workers: list[asyncio.Task[None]] = []
        queues: dict[str, collections.deque[Task]] = {}
        try:
            for model, tasks in plan.items():
                self.progress.start(
                    model, len(tasks) + already_done.get(model, 0), already_done.get(model, 0)
                )
                queue = queues[model] = collections.deque(tasks)
                width = self.options.max_concurrency or self.specs[model].max_concurrency
                workers += [
                    asyncio.create_task(self._worker(model, queue, writer))
                    for _ in range(max(1, min(width, len(tasks))))
                ]
            await asyncio.gather(*workers)
            for model, queue in queues.items():
                if queue and model in self.outcome.rate_limited:
                    self.outcome.not_done[model] = self.outcome.not_done.get(model, 0) + len(queue)
        except asyncio.CancelledError:
            self.outcome.interrupted = True
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise
        finally:
            writer.queue.put_nowait(None)
            await asyncio.shield(writer_task)  # whatever finished is committed
            self.outcome.recorded = writer.written
            if self.executor.name != "local":
                self.outcome.placement = self.executor.placement()
                self.outcome.placement_notes = self.executor.notes()
        return self.outcome

    async def _worker(self, model: str, queue: collections.deque[Task], writer: _Writer) -> None:
        while (
            queue
            and model not in self.outcome.blocked
            and model not in self.outcome.rate_limited
            and not self.outcome.stop_reason
        ):
            reason = self.budget.exhausted()
            if reason:
                self.outcome.stop_reason = reason
                return
            record = await self._sample(model, queue.popleft())
            if record.status == "error" and record.error_kind == RateLimited.kind:
                # The provider's limit held it past its time budget: not a failure of the
                # model. Left undone (not written), so the same command runs it again.
                self.outcome.errors -= 1
                self.outcome.rate_limited.setdefault(model, record.error_message or "")
                self.outcome.not_done[model] = self.outcome.not_done.get(model, 0) + 1
                continue
            writer.queue.put_nowait(record)
            self.progress.advance(model, record.status == "ok")

    def unit(self, model: str, task: Task) -> Unit:
        """The plain unit of work for a task (what an executor ships)."""
        suite = self.suites[task.suite]
        item = self.items[task.suite][task.item_id]
        return Unit(
            run_id=self.run_id,
            task=task,
            item=item,
            suite=self.options.suite_refs.get(task.suite) or SuiteRef(task.suite),
            spec=self.specs[model],
            purpose=self.options.purpose,
            sampling=self.options.sampling,
            use_cache=self.options.use_cache,
            max_concurrency=self.options.max_concurrency,
            requirements=requirements(suite, item),
        )

    async def _sample(self, model: str, task: Task) -> SampleRecord:
        unit = self.unit(model, task)
        try:
            result = await self.executor.submit(unit)
        except UnitFailed as failed:  # the executor lost it for good: resume redoes it
            endpoint = self.clients[model].endpoint
            result = error_result(unit, self.suites[task.suite], endpoint, failed, failed.kind)
        self.budget.charge(result.tokens, result.cost)
        if result.record.status == "error":
            self.outcome.errors += 1
            if result.blocked:
                self.outcome.blocked.setdefault(model, result.blocked)
        return result.record
