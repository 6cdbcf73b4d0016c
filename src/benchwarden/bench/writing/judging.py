"""Judging a run's writing answers, after every model has answered.

Pairwise: for every item, every pair of models that both answered it, and every
judge, two calls (each model once in slot A). Single: one grade per answer and judge.
What to do is planned purely from the stored answers and the judgments already
stored (:func:`plan_judgments`), so re-running the same run id judges only what is
missing, failed, or stale: judged with another prompt version, or on answers that
have since changed (their sha256 no longer matches). Verdicts are written in small
batches as they come back; a re-judged row replaces the stale one.

Judges are ordinary ``ModelClient``s opened like contestants (pacing, purpose header,
terms checked by the service before anything is called).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from benchwarden.bench.suite import Item
from benchwarden.bench.writing.prompts import (
    PAIRWISE_VERSION,
    REPLY_EXCERPT_CHARS,
    SINGLE_VERSION,
    pairwise_request,
    single_request,
)
from benchwarden.bench.writing.verdicts import parse_grade, parse_pairwise
from benchwarden.models.errors import ModelError
from benchwarden.models.protocol import ModelClient
from benchwarden.store import JudgmentRecord, SampleRecord, Store

KINDS = ("pairwise", "single")
MODES = ("auto", "pairwise", "single", "both")
BATCH = 16


@dataclass(frozen=True, slots=True)
class JudgeTask:
    suite: str
    item_id: str
    epoch: int
    judge: str
    kind: str
    model_a: str
    model_b: str  # "" for a single grade

    @property
    def key(self) -> tuple[str, str, int, str, str, str, str]:
        return (
            self.suite,
            self.item_id,
            self.epoch,
            self.judge,
            self.kind,
            self.model_a,
            self.model_b,
        )


@dataclass(slots=True)
class JudgingOutcome:
    planned: int = 0
    judged: int = 0
    unparsed: int = 0
    errors: int = 0
    skipped_reason: str | None = None


def judging_kinds(mode: str, models: int) -> tuple[str, ...]:
    """``auto``: pairwise with two or more models, else single grades."""
    if mode not in MODES:
        raise ValueError(f"writing grading {mode!r}: use one of {', '.join(MODES)}")
    if mode == "auto":
        return ("pairwise",) if models >= 2 else ("single",)
    if mode == "both":
        return KINDS
    return (mode,)


def prompt_version(kind: str) -> str:
    """The judge prompt version this code asks with, for ``kind``."""
    return PAIRWISE_VERSION if kind == "pairwise" else SINGLE_VERSION


def is_current(judgment: JudgmentRecord, hashes: Mapping[tuple[str, str, str, int], str]) -> bool:
    """A final judgment of this prompt version on the answers as they are now. Pure.
    ``hashes``: (model, suite, item, epoch) -> sha256 of the answer that is judged."""
    if judgment.status == "error" or judgment.prompt_version != prompt_version(judgment.kind):
        return False
    where = (judgment.suite, judgment.item_id, judgment.epoch)
    for model, digest in (
        (judgment.model_a, judgment.answer_a_sha256),
        (judgment.model_b, judgment.answer_b_sha256),
    ):
        if model and digest is not None and hashes.get((model, *where)) != digest:
            return False
    return True


def answer_hashes(samples: Sequence[SampleRecord]) -> dict[tuple[str, str, str, int], str]:
    """(model, suite, item, epoch) -> sha256 of the answer a judge sees last. Pure."""
    return {
        (s.model, s.suite, s.item_id, s.epoch): _sha(answers_of(s)[-1])
        for s in samples
        if s.status == "ok" and s.answer is not None
    }


def plan_judgments(
    samples: Sequence[SampleRecord],
    models: Sequence[str],
    judges: Sequence[str],
    kinds: Sequence[str],
    done: Mapping[tuple[str, str, int, str, str, str, str], JudgmentRecord],
) -> list[JudgeTask]:
    """The judge calls still to make. Pure; a judgment is redone when it failed, was
    asked with another prompt version, or judged answers that have changed since."""
    hashes = answer_hashes(samples)
    answered: dict[tuple[str, str, int], set[str]] = {}
    for s in samples:
        if s.status == "ok" and s.answer is not None:
            answered.setdefault((s.suite, s.item_id, s.epoch), set()).add(s.model)
    tasks: list[JudgeTask] = []
    for (suite, item, epoch), have in sorted(answered.items()):
        for judge in judges:
            if "pairwise" in kinds:
                for x, y in itertools.combinations([m for m in models if m in have], 2):
                    for a, b in ((x, y), (y, x)):
                        tasks.append(JudgeTask(suite, item, epoch, judge, "pairwise", a, b))
            if "single" in kinds:
                for m in models:
                    if m in have:
                        tasks.append(JudgeTask(suite, item, epoch, judge, "single", m, ""))
    return [t for t in tasks if t.key not in done or not is_current(done[t.key], hashes)]


def turns_of(item: Item) -> list[str]:
    turns = item.metadata.get("turns")
    if isinstance(turns, list) and turns:
        return [str(t) for t in turns]
    return [item.messages[0].content if item.messages else (item.prompt or "")]


def answers_of(sample: SampleRecord) -> list[str]:
    turns = sample.metadata.get("turn_answers")
    if isinstance(turns, list) and turns:
        return [str(t) for t in turns]
    return [sample.answer or ""]


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def judge_one(
    client: ModelClient,
    task: JudgeTask,
    run_id: str,
    item: Item,
    answers: Mapping[str, list[str]],
    purpose: str,
) -> JudgmentRecord:
    """One judge call -> one record; a provider failure is an 'error' row (redone on
    resume), a reply naming no verdict an 'unparsed' one (kept, never guessed)."""
    turns = turns_of(item)
    a = answers[task.model_a]
    if task.kind == "pairwise":
        request = pairwise_request(turns, a, answers[task.model_b], purpose)
        version = PAIRWISE_VERSION
    else:
        request = single_request(turns, a, purpose)
        version = SINGLE_VERSION
    base = JudgmentRecord(
        run_id=run_id,
        suite=task.suite,
        item_id=task.item_id,
        epoch=task.epoch,
        judge=task.judge,
        kind=task.kind,
        model_a=task.model_a,
        model_b=task.model_b,
        status="error",
        prompt_version=version,
        answer_a_sha256=_sha(a[-1]),
        answer_b_sha256=_sha(answers[task.model_b][-1]) if task.model_b else None,
    )
    try:
        result = await client.generate(request)
    except ModelError as exc:
        base.error_message = f"{exc.kind}: {str(exc)[:300]}"
        return base
    if task.kind == "pairwise":
        verdict = parse_pairwise(result.text)
    else:
        grade = parse_grade(result.text)
        verdict = None if grade is None else str(grade)
    base.status = "unparsed" if verdict is None else "ok"
    base.verdict = verdict
    base.reply_excerpt = result.text.strip()[:REPLY_EXCERPT_CHARS]
    base.input_tokens, base.output_tokens = result.usage.input_tokens, result.usage.output_tokens
    return base


async def judge_writing(
    store: Store,
    run_id: str,
    models: Sequence[str],
    suites: Sequence[str],
    items: Mapping[str, Sequence[Item]],
    judges: Mapping[str, ModelClient],
    purpose: str,
    mode: str = "auto",
    *,
    concurrency: int = 8,
) -> JudgingOutcome:
    """Judge what is not yet judged in ``suites`` of the run; returns the counts."""
    outcome = JudgingOutcome()
    kinds = judging_kinds(mode, len(models))
    if "pairwise" in kinds and len(models) < 2:
        outcome.skipped_reason = "pairwise judging needs two models or more"
        kinds = tuple(k for k in kinds if k != "pairwise")
    samples = [s for s in store.samples(run_id) if s.suite in suites]
    by_key = {(s.model, s.suite, s.item_id, s.epoch): s for s in samples}
    lookup = {suite: {item.id: item for item in its} for suite, its in items.items()}
    # Only items of this run's selection (a resumed run may have more stored).
    samples = [s for s in samples if s.item_id in lookup.get(s.suite, {})]
    done = {j.key: j for j in store.judgments(run_id)}
    tasks = plan_judgments(samples, models, list(judges), kinds, done)
    outcome.planned = len(tasks)
    gate = asyncio.Semaphore(concurrency)

    async def run(task: JudgeTask) -> JudgmentRecord:
        names = [task.model_a, task.model_b] if task.model_b else [task.model_a]
        answers = {m: answers_of(by_key[(m, task.suite, task.item_id, task.epoch)]) for m in names}
        async with gate:
            return await judge_one(
                judges[task.judge],
                task,
                run_id,
                lookup[task.suite][task.item_id],
                answers,
                purpose,
            )

    for start in range(0, len(tasks), BATCH):
        records = await asyncio.gather(*(run(t) for t in tasks[start : start + BATCH]))
        await asyncio.to_thread(store.add_judgments, records)
        for r in records:
            outcome.judged += r.status != "error"
            outcome.unparsed += r.status == "unparsed"
            outcome.errors += r.status == "error"
    return outcome
