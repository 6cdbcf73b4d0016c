"""Agentic coding suites (polyglot): pass rates per language and model (edit: try 1 and
try 2), pass@k from ``compare``, effort and cost per solved exercise, why attempts
failed, and how often an agent changed the tests. Figures are
``agentic_report.agentic_summary``'s; no trajectory or answer is in the page."""

from __future__ import annotations

from benchwarden.bench.agentic_report import ALL_LANGUAGES, AgenticSummary, agentic_summary
from benchwarden.bench.report import charts
from benchwarden.bench.report.context import ReportContext
from benchwarden.bench.report.html import ci, note, pct, table
from benchwarden.bench.report.sections import section
from benchwarden.bench.stats import Interval


def _money(value: float | None) -> str:
    return "—" if value is None else f"${value:.4f}"


def _count(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _rates(summary: AgenticSummary, multi_suite: bool) -> str:
    edit = any(r.try1 is not None for r in summary.rates)
    head = ["suite"] if multi_suite else []
    headers = (
        *head,
        "model",
        "protocol",
        "language",
        "exercises",
        *(("try 1 % (95% CI)",) if edit else ()),
        "try 2 % (95% CI)" if edit else "solved % (95% CI)",
        "errors",
    )
    rows = [
        (
            *((r.suite,) if multi_suite else ()),
            r.model,
            r.protocol,
            r.language,
            r.items,
            *((ci(r.try1),) if edit else ()),
            ci(r.solved),
            r.errors,
        )
        for r in summary.rates
    ]
    body = table(
        headers,
        rows,
        numeric_from=len(head) + 3,
        caption=(
            "solved per exercise (epochs averaged first; Wilson interval, Student-t with "
            "epochs)" + ("; try 2: solved after seeing the first try's test output" if edit else "")
        ),
    )
    # One chart: per language (and try, for edit), one bar per model.
    labels: list[str] = []
    keys: list[tuple[str, str, str]] = []  # (suite, language, "try1" | "solved")
    for r in summary.rates:
        prefix = f"{r.suite} " if multi_suite else ""
        for part in ("try1", "solved") if r.try1 is not None else ("solved",):
            key = (r.suite, r.language, part)
            if key not in keys:
                keys.append(key)
                label = f"{prefix}{r.language}"
                labels.append(label + (" try 1" if part == "try1" else " try 2" if edit else ""))
    models = list(dict.fromkeys(r.model for r in summary.rates))
    series: dict[str, list[Interval | None]] = {m: [None] * len(keys) for m in models}
    for r in summary.rates:
        for part in ("try1", "solved"):
            key = (r.suite, r.language, part)
            if key in keys:
                series[r.model][keys.index(key)] = r.try1 if part == "try1" else r.solved
    title = "Solved per language (95% CI)"
    return body + charts.interval_chart("agentic-pass", title, labels, series, xlabel="solved %")


def _pass_at_k(ctx: ReportContext) -> str:
    suites = ctx.suites_of("agentic")
    scores = [s for s in ctx.comparison.scores if s.suite in suites and s.pass_at_k]
    ks = sorted({k for s in scores for k in s.pass_at_k}, key=lambda k: int(k[5:]))
    if not scores or ks == ["pass@1"]:
        return ""  # one epoch: pass@1 is the solved rate above
    return table(
        ("suite", "model", *ks),
        ((s.suite, s.model, *(pct(s.pass_at_k.get(k)) for k in ks)) for s in scores),
        numeric_from=2,
        caption="pass@k over epochs (unbiased estimator, %)",
    )


def _suite(multi: bool, suite: str) -> tuple[str, ...]:
    return (suite,) if multi else ()


def _effort(summary: AgenticSummary, multi: bool) -> str:
    rows = [
        (
            *_suite(multi, e.suite),
            e.model,
            e.protocol,
            e.attempts,
            e.solved,
            _count(e.steps_solved),
            _count(e.tokens_solved, 0),
            _count(e.tokens_per_solved, 0),
            _money(e.cost),
            _money(e.cost_per_solved),
        )
        for e in summary.effort
    ]
    body = table(
        (
            *_suite(multi, "suite"),
            "model",
            "protocol",
            "attempts",
            "solved",
            "steps (solved, mean)",
            "tokens (solved, mean)",
            "tokens per solved",
            "cost",
            "cost per solved",
        ),
        rows,
        numeric_from=2 + multi,
        caption=(
            "steps: tool calls (edit: one write per try); the means are over solved "
            "attempts; 'per solved' divides everything spent, failures included, by "
            "the attempts solved"
        ),
    )
    if len(summary.effort) > 1:
        body += charts.panels(
            "agentic-effort",
            "Effort per solved exercise",
            [f"{e.suite} {e.model}" if multi else e.model for e in summary.effort],
            {
                "steps (solved)": [e.steps_solved for e in summary.effort],
                "tokens per solved": [e.tokens_per_solved for e in summary.effort],
                "cost per solved ($)": [e.cost_per_solved for e in summary.effort],
            },
        )
    return body


def _failures(summary: AgenticSummary, multi: bool) -> str:
    kinds = summary.failure_kinds
    rows = [
        (
            *_suite(multi, f.suite),
            f.model,
            f.protocol,
            f.attempts,
            f.solved,
            *(f.kinds.get(k, 0) for k in kinds),
            f.errors,
        )
        for f in summary.failures
    ]
    body = table(
        (
            *_suite(multi, "suite"),
            "model",
            "protocol",
            "attempts",
            "solved",
            *kinds,
            "infrastructure errors",
        ),
        rows,
        numeric_from=2 + multi,
        caption=(
            "why unsolved attempts failed (no_answer: the solution was never changed); "
            "infrastructure errors recorded no attempt and are not counted as failures"
        ),
    )
    if kinds:
        body += charts.bar_chart(
            "agentic-failures",
            "Unsolved attempts by failure kind",
            kinds,
            {
                f"{f.suite} {f.model}" if multi else f.model: [
                    float(f.kinds.get(k, 0)) for k in kinds
                ]
                for f in summary.failures
            },
            xlabel="attempts",
        )
    return body


def _test_edits(summary: AgenticSummary, multi: bool) -> str:
    return table(
        (
            *_suite(multi, "suite"),
            "model",
            "protocol",
            "attempts",
            "tests modified",
            "share % (95% CI)",
            "solved of them",
        ),
        (
            (
                *_suite(multi, t.suite),
                t.model,
                t.protocol,
                t.attempts,
                t.modified,
                ci(t.share) if t.attempts else "—",
                t.solved_after_restore,
            )
            for t in summary.test_edits
        ),
        numeric_from=2 + multi,
        caption=(
            "attempts that changed a test file; the tests are restored from the pristine "
            "copy before scoring, so a change gains nothing"
        ),
    )


@section("agentic", "Agentic coding: solved, effort, failures", kind="agentic", order=32)
def agentic(ctx: ReportContext) -> str | None:
    summary = agentic_summary(ctx.samples, ctx.models, ctx.suites_of("agentic"))
    if not summary.rates:
        return None
    multi = len({r.suite for r in summary.rates}) > 1
    body = "<h3>Solved per language and model</h3>" + _rates(summary, multi)
    body += _pass_at_k(ctx)
    body += "<h3>Effort per solved exercise</h3>" + _effort(summary, multi)
    body += "<h3>Why attempts failed</h3>" + _failures(summary, multi)
    body += "<h3>Attempts that modified the tests</h3>" + _test_edits(summary, multi)
    body += note(
        f"'{ALL_LANGUAGES}' rows pool every language of a model. Paired differences "
        "between models on shared exercises are in the paired differences section."
    )
    return body
