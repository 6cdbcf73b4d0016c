"""The runner's unit of work as plain data, and how one is done wherever it runs.

A :class:`Unit` carries everything a worker needs: the task (model, suite, item,
epoch, seed), the item itself, how to rebuild the suite (:class:`SuiteRef`), the
model's spec and the run's options. It holds no client, suite object or database
handle, so it pickles and can be shipped to another process or machine, where
:func:`perform` does it with clients and suites built there. The answer comes back
as a :class:`UnitResult` (the record to store plus what the driver's bookkeeping
needs); only the driver writes it to the store.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from benchwarden.bench.plan import Task
from benchwarden.bench.prompting import SamplingOptions, build_request
from benchwarden.bench.suite import EpisodeContext, Item, Suite
from benchwarden.bench.turns import followups, generate_turns
from benchwarden.models.config import ModelSpec
from benchwarden.models.errors import AccessDenied, ModelError, ModelUnavailable
from benchwarden.models.protocol import ModelClient
from benchwarden.models.types import GenerateRequest
from benchwarden.store import SampleRecord

# Answers to items marked sensitive (child sexual exploitation prompts) are never
# stored whole: only their hash and a short redacted excerpt.
SENSITIVE_EXCERPT_CHARS = 40


@dataclass(frozen=True, slots=True)
class SuiteRef:
    """How a worker rebuilds a suite: its name (or suite-file path) and the run's suite
    options; ``judges`` are the judge models whose judged scorer applies (the deciding
    judge first), ``judges_every`` the names of those that label every answer."""

    name: str
    agent: str | None = None
    languages: tuple[str, ...] = ()
    limits: tuple[tuple[str, float], ...] = ()
    judges: tuple[ModelSpec, ...] = ()
    judges_every: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Unit:
    """One sample (or agentic attempt) to do, as plain data."""

    run_id: str
    task: Task
    item: Item
    suite: SuiteRef
    spec: ModelSpec
    purpose: str = "benchmarking"
    sampling: SamplingOptions = field(default_factory=SamplingOptions)
    use_cache: bool = True
    max_concurrency: int | None = None
    # What the machine doing it must have: "sandbox", "toolchain:<language>".
    requirements: tuple[str, ...] = ()


@dataclass(slots=True)
class UnitResult:
    """A finished unit: the record to store and what the driver accounts for."""

    record: SampleRecord
    tokens: int = 0
    cost: float = 0.0
    # Set when the model refused access or is unavailable: its queue stops.
    blocked: str | None = None
    node: str = "local"


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


def requirements(suite: Suite, item: Item) -> tuple[str, ...]:
    """Pure: what a machine needs for this suite's item (see :attr:`Unit.requirements`)."""
    if suite.episode is not None and "language" in item.metadata:
        return ("sandbox", f"toolchain:{item.metadata['language']}")
    if "coding" in suite.tags:
        return ("sandbox",)
    return ()


def error_record(
    unit: Unit, base: dict[str, object], kind: str, message: str, clock: float
) -> SampleRecord:
    return SampleRecord(
        status="error",
        error_kind=kind,
        error_message=message[:1000],
        latency_s=time.perf_counter() - clock,
        finished_at=datetime.now(UTC),
        **base,  # type: ignore[arg-type]
    )


def _error(
    unit: Unit, base: dict[str, object], error: Exception, kind: str, clock: float
) -> UnitResult:
    plain = isinstance(error, ModelError | UnitFailed)
    message = str(error) if plain else f"{type(error).__name__}: {error}"
    blocked = str(error) if isinstance(error, AccessDenied | ModelUnavailable) else None
    return UnitResult(error_record(unit, base, kind, message, clock), blocked=blocked)


class UnitFailed(Exception):
    """An executor could not get a unit done (``kind`` says why: ``executor_error``,
    ``no_capable_node``); the runner records it as an infrastructure error."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(kind, message)
        self.kind, self.message = kind, message

    def __str__(self) -> str:
        return self.message


def error_result(
    unit: Unit, suite: Suite, endpoint: str, error: Exception, kind: str
) -> UnitResult:
    """An error record for a unit that never reached :func:`perform`."""
    request = build_request(
        unit.item, suite, unit.task, unit.spec.mode, unit.sampling, unit.purpose
    )
    return _error(unit, record_base(unit, endpoint, request), error, kind, time.perf_counter())


def record_base(unit: Unit, endpoint: str, request: GenerateRequest) -> dict[str, object]:
    """The fields every record of this unit carries (provenance, parameters, start)."""
    task, spec = unit.task, unit.spec
    params = {**request.sampling_params(), "mode": spec.mode.value, "epoch": task.epoch}
    return {
        "run_id": unit.run_id,
        "model": task.model,
        "suite": task.suite,
        "item_id": task.item_id,
        "epoch": task.epoch,
        "endpoint": endpoint,
        "purpose": unit.purpose,
        "mode": spec.mode.value,
        "params": params,
        "started_at": datetime.now(UTC),
    }


async def perform(unit: Unit, client: ModelClient, suite: Suite) -> UnitResult:
    """Do one unit with a client and a suite built where it runs."""
    item, task, spec = unit.item, unit.task, unit.spec
    request = build_request(item, suite, task, spec.mode, unit.sampling, unit.purpose)
    base = record_base(unit, client.endpoint, request)
    clock = time.perf_counter()
    if suite.episode is not None:
        return await _episode(unit, client, suite, base, clock)
    later = followups(item.metadata)
    turn_answers: list[str] = []
    try:
        if later:  # a conversation: the model's own answers feed the later turns
            result, turn_answers = await generate_turns(client, request, later)
        else:
            result = await client.generate(request)
    except ModelError as error:
        return _error(unit, base, error, error.kind, clock)
    cost = spec.cost(result.usage.input_tokens, result.usage.output_tokens)
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
    done = UnitResult(record, result.usage.total_tokens, cost)
    try:
        ascore = getattr(suite.scorer, "ascore", None)  # e.g. code run in the sandbox
        score = await ascore(item, result.text) if ascore else suite.scorer(item, result.text)
    except Exception as exc:  # a scorer bug must not lose the answer
        record.score_detail = {"scoring_error": f"{type(exc).__name__}: {exc}"[:500]}
        return done
    record.score, record.passed = score.value, score.passed
    record.score_detail = stored_detail(score.detail, item)
    return done


async def _episode(
    unit: Unit, client: ModelClient, suite: Suite, base: dict[str, object], clock: float
) -> UnitResult:
    """A multi-call unit of work (an agentic attempt), recorded only when it is over."""
    assert suite.episode is not None
    spec, sampling, item = unit.spec, unit.sampling, unit.item
    context = EpisodeContext(
        mode=spec.mode,
        purpose=unit.purpose,
        seed=unit.task.seed,
        epoch=unit.task.epoch,
        temperature=sampling.temperature,
        top_p=sampling.top_p,
        max_tokens=sampling.max_tokens,
        price=lambda usage: spec.cost(usage.input_tokens, usage.output_tokens),
    )
    try:
        outcome = await suite.episode(client, item, context)
    except ModelError as error:
        return _error(unit, base, error, error.kind, clock)
    except Exception as exc:  # a harness fault must not stop the run; resume redoes it
        return _error(unit, base, exc, "harness_error", clock)
    answer, redaction = stored_answer(outcome.answer, item)
    record = SampleRecord(
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
    return UnitResult(record, outcome.usage.total_tokens, outcome.cost)
