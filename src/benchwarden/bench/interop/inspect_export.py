"""A bench run as inspect_ai eval logs: one log per (suite, model), as inspect_ai keeps
one log per (task, model). Pure: records in, inspect_ai's own log objects out (writing
them is :mod:`inspect_files`'s job), so the files are what ``inspect view`` reads.

Mapping: a suite is a task, an item a sample (ids kept, epochs counted from 1 as
inspect does), a bench score a scorer's score (``C``/``I`` for pass/fail verdicts,
the number otherwise), tokens and cost the sample's model usage, an errored sample a
sample error. Every stored field of a sample rides along under the ``benchwarden``
metadata key, so ``benchwarden import`` gives the same samples back. The log's run id
is the bench run id, so inspect_ai groups a run's logs together.

Safety answers follow bench's disclosure rules: hidden unless asked for (their
prompts too, as the viewer does); answers to child-sexual-exploitation prompts were
never stored, and not even their redacted excerpt leaves bench.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from inspect_ai.event import ModelEvent
from inspect_ai.log import (
    EvalConfig,
    EvalDataset,
    EvalError,
    EvalLog,
    EvalMetric,
    EvalPlan,
    EvalPlanStep,
    EvalResults,
    EvalSample,
    EvalScore,
    EvalSpec,
    EvalStats,
)
from inspect_ai.model import (
    ChatCompletionChoice,
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageUser,
    GenerateConfig,
    ModelOutput,
    ModelUsage,
)
from inspect_ai.scorer import Score

from benchwarden.bench.compare import Comparison, ModelScore
from benchwarden.bench.disclosure import ANSWER_METADATA, hide_safety_answers, is_withheld
from benchwarden.bench.export import sample_row
from benchwarden.store import RunRecord, SampleRecord

BENCH_KEY = "benchwarden"  # metadata key of what bench stored (sample and log level)
HIDDEN_PROMPT = "hidden: a must-refuse safety prompt (export with --show-safety-answers)"
_STATUS: dict[str, Literal["started", "success", "cancelled", "error"]] = {
    "running": "started",
    "complete": "success",
    "stopped": "cancelled",
    "failed": "error",
}
_STOP: dict[str, Literal["stop", "max_tokens", "model_length", "tool_calls", "content_filter"]] = {
    "stop": "stop",
    "end_turn": "stop",
    "length": "max_tokens",
    "max_tokens": "max_tokens",
    "tool_calls": "tool_calls",
    "tool_use": "tool_calls",
    "content_filter": "content_filter",
}


@dataclass(frozen=True, slots=True)
class ItemPrompt:
    """An item's text as its suite gives it (samples keep answers, not prompts)."""

    prompt: str
    target: str
    must_refuse: bool


@dataclass(frozen=True, slots=True)
class ExportedLog:
    suite: str
    model: str
    log: EvalLog


def eval_id_for(run_id: str, suite: str, model: str) -> str:
    """The same log gets the same eval id on every export, so importing it twice is
    recognised."""
    digest = hashlib.sha256(f"{run_id}\0{suite}\0{model}".encode()).hexdigest()
    return f"bw{digest[:20]}"


def run_to_logs(
    run: RunRecord,
    samples: Iterable[SampleRecord],
    *,
    prompts: Mapping[tuple[str, str], ItemPrompt],
    scorers: Mapping[str, str],
    comparison: Comparison,
    version: str,
    show_safety_answers: bool = False,
) -> list[ExportedLog]:
    """One log per (suite, model) that has samples, in the run's order. ``prompts``:
    (suite, item_id) -> its text; ``scorers``: suite -> its scorer's name."""
    shown = list(samples) if show_safety_answers else list(hide_safety_answers(samples))
    groups: dict[tuple[str, str], list[SampleRecord]] = {}
    for sample in shown:
        groups.setdefault((sample.suite, sample.model), []).append(_without_excerpt(sample))
    figures = {(s.suite, s.model): s for s in comparison.scores}
    order = [(s, m) for s in run.suites for m in run.models if (s, m) in groups]
    order += [key for key in groups if key not in order]
    logs = []
    for suite, model in order:
        scorer = scorers.get(suite) or "score"
        eval_samples = [
            _sample(s, prompts.get((s.suite, s.item_id)), scorer, show_safety_answers)
            for s in groups[(suite, model)]
        ]
        log = EvalLog(
            status=_STATUS.get(run.status, "started"),
            eval=_spec(run, suite, model, groups[(suite, model)], version),
            plan=EvalPlan(steps=[EvalPlanStep(solver="benchwarden", params={"suite": suite})]),
            results=_results(groups[(suite, model)], scorer, figures.get((suite, model))),
            stats=_stats(groups[(suite, model)], model),
            error=EvalError(message=run.note or "run failed", traceback="", traceback_ansi="")
            if run.status == "failed"
            else None,
            samples=eval_samples,
        )
        logs.append(ExportedLog(suite, model, log))
    return logs


def _without_excerpt(sample: SampleRecord) -> SampleRecord:
    if not is_withheld(sample):
        return sample
    metadata = {k: v for k, v in sample.metadata.items() if k not in ANSWER_METADATA}
    return dataclasses.replace(sample, metadata=metadata)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _spec(
    run: RunRecord, suite: str, model: str, samples: list[SampleRecord], version: str
) -> EvalSpec:
    eval_id = eval_id_for(run.run_id, suite, model)
    params = next((s.params for s in samples if s.params), {})
    return EvalSpec(
        eval_id=eval_id,
        run_id=run.run_id,
        created=_iso(run.created_at) or _iso(datetime.now().astimezone()) or "",
        task=suite,
        task_id=eval_id,
        dataset=EvalDataset(name=suite, samples=len({s.item_id for s in samples})),
        model=model,
        model_generate_config=_generate_config(params),
        model_base_url=next((s.endpoint for s in samples if s.endpoint), None),
        config=EvalConfig(epochs=max((s.epoch for s in samples), default=0) + 1),
        packages={"benchwarden": version},
        metadata={
            BENCH_KEY: {
                "run_id": run.run_id,
                "suite": suite,
                "model": model,
                "purpose": run.purpose,
                "seed": run.seed,
                "suites": list(run.suites),
                "models": list(run.models),
                "settings": run.settings,
                "command": run.command,
                "status": run.status,
                "benchwarden_version": run.benchwarden_version,
            }
        },
    )


def _generate_config(params: Mapping[str, Any]) -> GenerateConfig:
    def number(key: str) -> float | None:
        value = params.get(key)
        return float(value) if isinstance(value, int | float) else None

    tokens = params.get("max_tokens")
    return GenerateConfig(
        temperature=number("temperature"),
        top_p=number("top_p"),
        max_tokens=tokens if isinstance(tokens, int) else None,
    )


def _usage(sample: SampleRecord) -> ModelUsage:
    return ModelUsage(
        input_tokens=sample.input_tokens,
        output_tokens=sample.output_tokens,
        total_tokens=sample.input_tokens + sample.output_tokens,
        total_cost=sample.cost or None,
    )


def _sample(
    sample: SampleRecord, text: ItemPrompt | None, scorer: str, show_safety_answers: bool
) -> EvalSample:
    prompt, target = _input(sample, text, show_safety_answers)
    answer = sample.answer or ""
    usage = _usage(sample)
    assistant = ChatMessageAssistant(content=answer, model=sample.model)
    messages: list[ChatMessage] = [ChatMessageUser(content=prompt)]
    if sample.answer is not None:
        messages.append(assistant)
    record = {k: v for k, v in sample_row(sample).items() if k not in ("run_id", "answer")}
    error = None
    if sample.status == "error":
        message = f"{sample.error_kind or 'error'}: {sample.error_message or ''}".strip()
        error = EvalError(message=message, traceback="", traceback_ansi="")
    output = ModelOutput(
        model=sample.model,
        choices=[
            ChatCompletionChoice(
                message=assistant, stop_reason=_STOP.get(sample.finish_reason or "", "unknown")
            )
        ],
        completion=answer,
        usage=usage,
        time=sample.latency_s,
    )
    return EvalSample(
        id=sample.item_id,
        epoch=sample.epoch + 1,
        input=prompt,
        target=target,
        messages=messages,
        output=output,
        events=[_model_event(sample, messages[0], output, error)],
        scores=_scores(sample, scorer),
        metadata={BENCH_KEY: record},
        model_usage={sample.model: usage},
        started_at=_iso(sample.started_at),
        completed_at=_iso(sample.finished_at),
        total_time=sample.latency_s,
        working_time=sample.latency_s,
        uuid=eval_id_for(sample.run_id, sample.suite, f"{sample.model}\0{sample.key}"),
        error=error,
    )


def _model_event(
    sample: SampleRecord, prompt: ChatMessage, output: ModelOutput, error: EvalError | None
) -> ModelEvent:
    """The sample's model call, so inspect view's transcript shows it (one event for the
    whole unit: a conversation's or an agent's calls are not kept one by one)."""
    event = ModelEvent(
        model=sample.model,
        input=[prompt],
        tools=[],
        tool_choice="none",
        config=_generate_config(sample.params),
        output=output,
        error=error.message if error else None,
        cache="read" if sample.cached else None,
        completed=sample.finished_at,
        working_time=sample.latency_s,
        working_start=0.0,
    )
    if sample.started_at is not None:
        event.timestamp = sample.started_at
    return event


def _input(
    sample: SampleRecord, text: ItemPrompt | None, show_safety_answers: bool
) -> tuple[str, str]:
    """The prompt and target: kept from an imported log, else from the suite."""
    kept = sample.metadata.get("inspect")
    if isinstance(kept, dict) and isinstance(kept.get("input"), str):
        return kept["input"], str(kept.get("target") or "")
    if text is None:
        return f"(the prompt of {sample.suite} item {sample.item_id} is not available)", ""
    if text.must_refuse and not show_safety_answers:
        return HIDDEN_PROMPT, ""
    return text.prompt, text.target


def _scores(sample: SampleRecord, scorer: str) -> dict[str, Score] | None:
    if sample.status != "ok" or sample.score is None:
        return None
    value: str | float = sample.score
    if sample.passed is not None:
        value = "C" if sample.passed else "I"
    detail = sample.score_detail
    explanation = detail.get("label") or detail.get("detail") or detail.get("error_kind")
    return {
        scorer: Score(
            value=value,
            answer=sample.answer,
            explanation=str(explanation) if explanation else None,
            metadata={"score": sample.score, **detail},
        )
    }


def _results(samples: list[SampleRecord], scorer: str, figure: ModelScore | None) -> EvalResults:
    """bench's own figures (item means, 95% interval, pass@k), not recomputed."""
    scored = sum(s.status == "ok" and s.score is not None for s in samples)
    metrics: dict[str, float] = {}
    if figure is not None:
        interval = figure.score
        metrics = {"mean": interval.estimate, "ci95_low": interval.low, "ci95_high": interval.high}
        metrics |= figure.pass_at_k
    return EvalResults(
        total_samples=len(samples),
        completed_samples=sum(s.status == "ok" for s in samples),
        scores=[
            EvalScore(
                name=scorer,
                scorer=scorer,
                scored_samples=scored,
                unscored_samples=len(samples) - scored,
                metrics={
                    name: EvalMetric(name=name, value=value)
                    for name, value in metrics.items()
                    if not math.isnan(value)
                },
            )
        ],
    )


def _stats(samples: list[SampleRecord], model: str) -> EvalStats:
    usage = ModelUsage()
    for sample in samples:
        usage = usage + _usage(sample)
    started = [s.started_at for s in samples if s.started_at is not None]
    finished = [s.finished_at for s in samples if s.finished_at is not None]
    return EvalStats(
        started_at=min(started).isoformat() if started else "",
        completed_at=max(finished).isoformat() if finished else "",
        model_usage={model: usage},
    )
