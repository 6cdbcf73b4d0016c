"""inspect_ai eval logs as a bench run. Pure: inspect_ai's log objects in, bench's
records out (reading the files is :mod:`inspect_files`'s job).

Mapping: a log's task is a suite, its model a model, a sample an item (epochs
counted from 0 as bench does), one scorer's score the sample's score (the log's
main scorer unless another is named; the others kept in ``score_detail``), model
usage the tokens and cost, a sample error an errored sample. Score values:
``C``/``I`` pass and fail (1, 0), ``P`` partial (0.5, no verdict), ``N`` no answer
(0, a fail), booleans as verdicts, numbers as they are, yes/no/true/false and
numeric strings as inspect_ai reads them; anything else (lists, dicts) is kept but
not scored. A log that bench itself wrote gives back the samples it stored.

Answers to child-sexual-exploitation prompts are never stored whole, wherever they
were made: a sample whose prompt is one of bench's own sensitive safety prompts (by
:func:`prompt_key`, the caller passes the set) or whose metadata marks it ``hazard:
cse`` keeps only the answer's hash and a short redacted excerpt, as a bench run would.

A run's identity comes from the logs: ``inspect-<inspect run id>`` unless named, and
every imported log's eval id is recorded in the run's settings, so importing a log
twice is recognised (:func:`already_imported`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from inspect_ai.log import EvalLog, EvalSample
from inspect_ai.model import ChatMessage

from benchwarden.bench.compare import without_nan
from benchwarden.bench.interop.inspect_export import BENCH_KEY
from benchwarden.bench.suite import Item
from benchwarden.bench.work import stored_answer, stored_detail
from benchwarden.store import RunRecord, SampleRecord

IMPORTED_KEY = "imported"  # run settings: where an imported run came from
_DATES = ("started_at", "finished_at")
_FIELDS = {f.name for f in dataclasses.fields(SampleRecord)}
_TRUE = ("yes", "true", "correct", "c")
_FALSE = ("no", "false", "incorrect", "i")


class NotImportable(ValueError):
    """A log bench cannot bring in as it is; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class ScoreValue:
    score: float | None
    passed: bool | None
    note: str | None = None


def score_value(value: object) -> ScoreValue:
    """An inspect score value as bench's score (0..1 for verdicts) and pass/fail."""
    if isinstance(value, bool):
        return ScoreValue(float(value), value)
    if isinstance(value, int | float):
        number = float(value)
        if math.isnan(number):
            return ScoreValue(None, None, "unscored")
        return ScoreValue(number, None)
    if isinstance(value, str):
        text = value.strip()
        if text == "C":
            return ScoreValue(1.0, True)
        if text == "I":
            return ScoreValue(0.0, False)
        if text == "P":
            return ScoreValue(0.5, None, "partial")
        if text == "N":
            return ScoreValue(0.0, False, "no answer")
        if text.lower() in _TRUE:
            return ScoreValue(1.0, True)
        if text.lower() in _FALSE:
            return ScoreValue(0.0, False)
        try:
            number = float(text)
        except ValueError:
            return ScoreValue(None, None, f"unscored: value {text[:40]!r} is not a score")
        return ScoreValue(None if math.isnan(number) else number, None)
    return ScoreValue(None, None, f"unscored: a {type(value).__name__} value")


@dataclass(frozen=True, slots=True)
class ImportedLog:
    """One log's part of the run: where it came from and its samples."""

    eval_id: str
    inspect_run_id: str
    task: str
    suite: str
    model: str
    status: str
    created: str
    scorer: str | None
    samples: list[SampleRecord]
    bench: dict[str, Any] | None  # the run record a bench-written log carries


def default_run_id(inspect_run_ids: Iterable[str]) -> str:
    """``inspect-<run id>`` when the logs come from one inspect run (one ``eval()``
    call: its tasks and models), else NotImportable asking for a run id."""
    ids = sorted(set(inspect_run_ids))
    if len(ids) != 1:
        raise NotImportable(
            f"these logs come from {len(ids)} inspect runs ({', '.join(ids)}): import each "
            "run's logs apart, or name the bench run with --run-id"
        )
    return f"inspect-{ids[0]}"


def already_imported(runs: Iterable[RunRecord], eval_ids: Iterable[str]) -> dict[str, str]:
    """eval id -> the run that already holds it, for the given eval ids."""
    wanted = set(eval_ids)
    found: dict[str, str] = {}
    for run in runs:
        imported = run.settings.get(IMPORTED_KEY)
        if not isinstance(imported, dict):
            continue
        for eval_id in imported.get("eval_ids") or ():
            if eval_id in wanted:
                found.setdefault(eval_id, run.run_id)
    return found


def check_distinct(logs: Sequence[ImportedLog]) -> None:
    """One log per eval id and per (suite, model): two would hold the same samples."""
    seen: dict[str, str] = {}
    cells: dict[tuple[str, str], str] = {}
    for log in logs:
        if log.eval_id in seen:
            raise NotImportable(f"the same log (eval id {log.eval_id}) was given twice")
        seen[log.eval_id] = log.task
        cell = (log.suite, log.model)
        if cell in cells:
            raise NotImportable(
                f"two logs of task {log.task!r} for model {log.model!r} (eval ids "
                f"{cells[cell]} and {log.eval_id}): import them into separate runs"
            )
        cells[cell] = log.eval_id


def prompt_key(text: str) -> str:
    """A prompt's identity across harnesses: the sha256 of its words, case-folded."""
    return hashlib.sha256(" ".join(text.split()).casefold().encode()).hexdigest()


def _is_sensitive(sample: EvalSample, sensitive: frozenset[str]) -> bool:
    meta = sample.metadata or {}
    if meta.get("sensitive") is True or str(meta.get("hazard", "")).lower() == "cse":
        return True
    if isinstance(sample.input, str):
        prompts = [sample.input]
    else:
        prompts = [m.text for m in sample.input if m.role == "user"]
    return any(prompt_key(p) in sensitive for p in prompts)


def log_to_import(
    log: EvalLog,
    run_id: str,
    scorer: str | None = None,
    sensitive: frozenset[str] = frozenset(),
) -> ImportedLog:
    """A log's samples as bench records of run ``run_id``; ``sensitive``: the
    :func:`prompt_key` of every prompt whose answers may not be stored whole."""
    if log.samples is None:
        raise NotImportable(
            f"log of task {log.eval.task!r} holds no samples (written with log_samples "
            "off, or read header only)"
        )
    meta = (log.eval.metadata or {}).get(BENCH_KEY)
    bench = meta if isinstance(meta, dict) else None
    suite = str(bench["suite"]) if bench else log.eval.task
    model = str(bench["model"]) if bench else log.eval.model
    chosen = _scorer(log, scorer)
    samples = [
        _bench_sample(s, run_id, model, suite)
        if bench and isinstance(s.metadata.get(BENCH_KEY), dict)
        else _sample(
            s, run_id, model, suite, chosen, log.eval.model_base_url, _is_sensitive(s, sensitive)
        )
        for s in log.samples
    ]
    eval_id = log.eval.eval_id or _digest(log.eval.task, log.eval.model, log.eval.created)
    return ImportedLog(
        eval_id=eval_id,
        inspect_run_id=log.eval.run_id or eval_id,
        task=log.eval.task,
        suite=suite,
        model=model,
        status=log.status,
        created=log.eval.created,
        scorer=chosen,
        samples=samples,
        bench=bench,
    )


def run_record(
    logs: Sequence[ImportedLog],
    run_id: str,
    *,
    files: Sequence[str],
    command: str,
    version: str,
    inspect_version: str,
) -> RunRecord:
    """The run the logs make: suites and models in the logs' order; a bench-written
    log's purpose, seed and settings come back with it."""
    bench = next((log.bench for log in logs if log.bench), None)
    statuses = {log.status for log in logs}
    status = (
        "complete" if statuses == {"success"} else "failed" if "error" in statuses else "stopped"
    )
    settings: dict[str, Any] = {
        IMPORTED_KEY: {
            "format": "inspect",
            "files": list(files),
            "eval_ids": [log.eval_id for log in logs],
            "inspect_run_ids": sorted({log.inspect_run_id for log in logs}),
            "tasks": {log.eval_id: log.task for log in logs},
            "scorers": {log.eval_id: log.scorer for log in logs},
            "inspect_version": inspect_version,
        }
    }
    if bench:
        settings["original"] = {"run_id": bench.get("run_id"), "settings": bench.get("settings")}
    suites = list(dict.fromkeys(log.suite for log in logs))
    models = list(dict.fromkeys(log.model for log in logs))
    if bench:  # the original run's order, where it names them
        suites.sort(key=_order(bench.get("suites")))
        models.sort(key=_order(bench.get("models")))
    created = min((_date(log.created) for log in logs), default=None)
    return RunRecord(
        run_id=run_id,
        purpose=str(bench.get("purpose") or "benchmarking") if bench else "benchmarking",
        seed=int(bench.get("seed") or 0) if bench else 0,
        suites=suites,
        models=models,
        settings=settings,
        command=command,
        benchwarden_version=version,
        status=status,
        note=f"imported from inspect_ai logs: {', '.join(files)}",
        created_at=created,
    )


def _order(names: object) -> Callable[[str], int]:
    known = [str(n) for n in names] if isinstance(names, list) else []
    return lambda name: known.index(name) if name in known else len(known)


def _scorer(log: EvalLog, wanted: str | None) -> str | None:
    names: list[str] = [s.name for s in (log.results.scores if log.results else [])]
    for sample in log.samples or []:
        names += [n for n in (sample.scores or {}) if n not in names]
    if wanted is not None:
        if wanted not in names:
            raise NotImportable(
                f"no scorer {wanted!r} in the log of task {log.eval.task!r}; it has: "
                + (", ".join(names) or "none")
            )
        return wanted
    return names[0] if names else None


def _bench_sample(sample: EvalSample, run_id: str, model: str, suite: str) -> SampleRecord:
    """A sample bench wrote: its stored fields back, the answer from the output."""
    record = {k: v for k, v in sample.metadata[BENCH_KEY].items() if k in _FIELDS}
    for key in _DATES:
        if isinstance(record.get(key), str):
            record[key] = _date(record[key])
    answered = any(m.role == "assistant" for m in sample.messages)
    record.update(run_id=run_id, model=model, suite=suite)
    return SampleRecord(**{**record, "answer": sample.output.completion if answered else None})


def _sample(
    sample: EvalSample,
    run_id: str,
    model: str,
    suite: str,
    scorer: str | None,
    endpoint: str | None,
    sensitive: bool = False,
) -> SampleRecord:
    scores = sample.scores or {}
    main = scores.get(scorer) if scorer else None
    value = score_value(main.value) if main is not None else ScoreValue(None, None, "no score")
    detail: dict[str, Any] = {"scorer": scorer, "value": _plain(main.value) if main else None}
    if main is not None:
        detail |= {"answer": main.answer, "explanation": main.explanation}
    if value.note:
        detail["note"] = value.note
    others = {name: _plain(s.value) for name, s in scores.items() if name != scorer}
    if others:
        detail["inspect_scores"] = others
    if sample.limit is not None:
        detail["limit"] = f"{sample.limit.type}: {sample.limit.limit}"
    answer = sample.output.completion if sample.output.choices else None
    input_tokens = output_tokens = 0
    cost = 0.0
    for usage in sample.model_usage.values():
        input_tokens += usage.input_tokens + (usage.input_tokens_cache_read or 0)
        input_tokens += usage.input_tokens_cache_write or 0
        output_tokens += usage.output_tokens
        cost += usage.total_cost or 0.0
    error = sample.error
    digest = None if answer is None else hashlib.sha256(answer.encode()).hexdigest()
    if sensitive:
        # As the runner stores a sensitive item's answer: hash, label, redacted excerpt.
        marker = Item(id=str(sample.id), prompt="", metadata={"sensitive": True})
        kept, redaction = stored_answer(answer, marker) if answer else (None, {})
        answer = kept
        detail = {**stored_detail(detail, marker), **redaction, "sensitive": True}
    return SampleRecord(
        run_id=run_id,
        model=model,
        suite=suite,
        item_id=str(sample.id),
        epoch=max(sample.epoch - 1, 0),
        status="error" if error is not None else "ok",
        answer=answer,
        answer_sha256=digest,
        score=None if error is not None else value.score,
        passed=None if error is not None else value.passed,
        score_detail=detail,
        error_kind="inspect_error" if error is not None else None,
        error_message=error.message if error is not None else None,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        latency_s=sample.total_time,
        cost=cost,
        endpoint=endpoint,
        mode="chat",
        finish_reason=sample.output.stop_reason if sample.output.choices else None,
        started_at=_date(sample.started_at) if sample.started_at else None,
        finished_at=_date(sample.completed_at) if sample.completed_at else None,
        metadata={
            "inspect": {
                "input": _text(sample.input),
                "target": sample.target
                if isinstance(sample.target, str)
                else " | ".join(sample.target),
                "metadata": _plain(sample.metadata),
                "uuid": sample.uuid,
            }
        },
    )


def _text(value: str | Sequence[ChatMessage]) -> str:
    """A sample's input as one text: the prompt, or each message with its role."""
    if isinstance(value, str):
        return value
    return "\n\n".join(f"[{m.role}] {m.text}" for m in value)


def _plain(value: object) -> Any:
    """JSON-safe (values a store column can hold; NaN as null)."""
    if isinstance(value, Mapping):
        value = dict(value)
    return without_nan(json.loads(json.dumps(value, default=str)))


def _date(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:22]
