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
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from benchwarden.bench.budget import Budget
from benchwarden.bench.plan import Task
from benchwarden.bench.prompting import SamplingOptions, build_request
from benchwarden.bench.suite import EpisodeContext, Item, Suite
from benchwarden.bench.turns import followups, generate_turns
from benchwarden.models.config import ModelSpec
from benchwarden.models.errors import AccessDenied, ModelError, ModelUnavailable, RateLimited
from benchwarden.models.protocol import ModelClient
from benchwarden.store import SampleRecord, Store

# Answers to items marked sensitive (child sexual exploitation prompts) are never
# stored whole: only their hash and a short redacted excerpt.
SENSITIVE_EXCERPT_CHARS = 40


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

    @property
    def status(self) -> str:
        if self.interrupted or self.stop_reason or self.blocked or self.rate_limited:
            return "stopped"
        return "complete"


def stored_answer(text: str, item: Item) -> tuple[str | None, dict[str, object]]:
    """What may be kept of an answer: all of it, or for sensitive items an excerpt."""
    if item.metadata.get("sensitive"):
        excerpt = text[:SENSITIVE_EXCERPT_CHARS].replace("\n", " ")
        return None, {"redacted_excerpt": f"{excerpt}... [redacted]", "redacted": True}
    return text, {}


def stored_turns(turn_answers: Sequence[str], item: Item) -> dict[str, object]:
    """What may be kept of a conversation's per-turn answers: all of them, or for
    sensitive items only their hashes (an excerpt of the last one is the answer's)."""
    if not turn_answers:
        return {}
    if item.metadata.get("sensitive"):
        return {
            "turn_answer_sha256": [hashlib.sha256(t.encode()).hexdigest() for t in turn_answers]
        }
    return {"turn_answers": list(turn_answers)}


def stored_detail(detail: dict[str, object], item: Item) -> dict[str, object]:
    """A score detail as it may be kept: for sensitive items, without long text (a
    scorer may echo the answer, e.g. the exact scorer's ``normalized``)."""
    if not item.metadata.get("sensitive"):
        return detail
    dropped = sorted(
        k for k, v in detail.items() if isinstance(v, str) and len(v) > SENSITIVE_EXCERPT_CHARS
    )
    if not dropped:
        return detail
    kept = {k: v for k, v in detail.items() if k not in dropped}
    return {**kept, "redacted_fields": dropped}


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

    async def _sample(self, model: str, task: Task) -> SampleRecord:
        spec, client = self.specs[model], self.clients[model]
        suite = self.suites[task.suite]
        item = self.items[task.suite][task.item_id]
        request = build_request(
            item, suite, task, spec.mode, self.options.sampling, self.options.purpose
        )
        params = {**request.sampling_params(), "mode": spec.mode.value, "epoch": task.epoch}
        started = datetime.now(UTC)
        clock = time.perf_counter()
        base = {
            "run_id": self.run_id,
            "model": model,
            "suite": task.suite,
            "item_id": task.item_id,
            "epoch": task.epoch,
            "endpoint": client.endpoint,
            "purpose": self.options.purpose,
            "mode": spec.mode.value,
            "params": params,
            "started_at": started,
        }
        if suite.episode is not None:
            return await self._episode(model, suite, item, task, base, clock)
        later = followups(item.metadata)
        turn_answers: list[str] = []
        try:
            if later:  # a conversation: the model's own answers feed the later turns
                result, turn_answers = await generate_turns(client, request, later)
            else:
                result = await client.generate(request)
        except ModelError as error:
            return self._error(model, error.kind, str(error), error, base, clock)
        cost = spec.cost(result.usage.input_tokens, result.usage.output_tokens)
        self.budget.charge(result.usage.total_tokens, cost)
        answer, redaction = stored_answer(result.text, item)
        record = SampleRecord(
            status="ok",
            answer=answer,
            answer_sha256=hashlib.sha256(result.text.encode()).hexdigest(),
            input_tokens=result.usage.input_tokens,
            output_tokens=result.usage.output_tokens,
            latency_s=result.latency_s,
            cost=cost,
            finish_reason=result.finish_reason.value,
            cached=result.cached,
            finished_at=datetime.now(UTC),
            metadata={
                **result.metadata,
                **redaction,
                "scorer": suite.scorer.name,
                "suite_version": suite.version,
                **stored_turns(turn_answers, item),
            },
            **base,  # type: ignore[arg-type]
        )
        try:
            ascore = getattr(suite.scorer, "ascore", None)  # e.g. code run in the sandbox
            score = await ascore(item, result.text) if ascore else suite.scorer(item, result.text)
        except Exception as exc:  # a scorer bug must not lose the answer
            record.score_detail = {"scoring_error": f"{type(exc).__name__}: {exc}"[:500]}
            return record
        record.score, record.passed = score.value, score.passed
        record.score_detail = stored_detail(score.detail, item)
        return record

    def _error(
        self,
        model: str,
        kind: str,
        message: str,
        error: Exception,
        base: dict[str, object],
        clock: float,
    ) -> SampleRecord:
        if isinstance(error, AccessDenied | ModelUnavailable):
            self.outcome.blocked.setdefault(model, str(error))
        self.outcome.errors += 1
        return SampleRecord(
            status="error",
            error_kind=kind,
            error_message=message[:1000],
            latency_s=time.perf_counter() - clock,
            finished_at=datetime.now(UTC),
            **base,  # type: ignore[arg-type]
        )

    async def _episode(
        self,
        model: str,
        suite: Suite,
        item: Item,
        task: Task,
        base: dict[str, object],
        clock: float,
    ) -> SampleRecord:
        """A multi-call unit of work (an agentic attempt), recorded only when it is over."""
        assert suite.episode is not None
        spec, client = self.specs[model], self.clients[model]
        sampling = self.options.sampling
        context = EpisodeContext(
            mode=spec.mode,
            purpose=self.options.purpose,
            seed=task.seed,
            epoch=task.epoch,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_tokens=sampling.max_tokens,
            price=lambda usage: spec.cost(usage.input_tokens, usage.output_tokens),
        )
        try:
            outcome = await suite.episode(client, item, context)
        except ModelError as error:
            return self._error(model, error.kind, str(error), error, base, clock)
        except Exception as exc:  # a harness fault must not stop the run; resume redoes it
            message = f"{type(exc).__name__}: {exc}"
            return self._error(model, "harness_error", message, exc, base, clock)
        self.budget.charge(outcome.usage.total_tokens, outcome.cost)
        answer, redaction = stored_answer(outcome.answer, item)
        return SampleRecord(
            status="ok",
            answer=answer,
            answer_sha256=hashlib.sha256(outcome.answer.encode()).hexdigest(),
            input_tokens=outcome.usage.input_tokens,
            output_tokens=outcome.usage.output_tokens,
            latency_s=outcome.latency_s,
            cost=outcome.cost,
            finish_reason=outcome.finish_reason,
            finished_at=datetime.now(UTC),
            metadata={
                **outcome.metadata,
                **redaction,
                "scorer": suite.scorer.name,
                "suite_version": suite.version,
            },
            score=outcome.score.value,
            passed=outcome.score.passed,
            score_detail=stored_detail(outcome.score.detail, item),
            **base,  # type: ignore[arg-type]
        )
