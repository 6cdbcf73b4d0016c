"""Generic sections: the score of every suite and model with its interval, and the
paired differences. Figures come from ``compare.compare_run`` as they are."""

from __future__ import annotations

import math

from benchwarden.bench.report import charts
from benchwarden.bench.report.context import ReportContext
from benchwarden.bench.report.html import ci, note, pct, table
from benchwarden.bench.report.sections import section
from benchwarden.bench.stats import Interval


@section("summary", "Scores per suite and model", order=10)
def scores(ctx: ReportContext) -> str | None:
    rows = ctx.comparison.scores
    if not rows:
        return None
    body = table(
        ("suite", "model", "kind", "score % (95% CI)", "method", "items", "samples", "errors"),
        (
            (
                s.suite,
                s.model,
                ctx.kinds.get(s.suite, "generic"),
                ci(s.score),
                s.score.method,
                s.items,
                s.samples,
                s.errors,
            )
            for s in rows
        ),
        numeric_from=3,
    )
    parts = [(s.suite, s.model, part, iv) for s in rows for part, iv in s.parts.items()]
    if parts:
        body += table(
            ("suite", "model", "tests", "score % (95% CI)", "items"),
            ((suite, model, part, ci(iv), iv.n) for suite, model, part, iv in parts),
            numeric_from=3,
            caption="sub-scores (HumanEval+ / MBPP+ base and plus tests; polyglot solved at try 1)",
        )
    series: dict[str, list[Interval | None]] = {
        m: [_score(ctx, suite, m) for suite in ctx.suites] for m in ctx.models
    }
    body += charts.interval_chart(
        "scores", "Score per suite (95% CI)", ctx.suites, series, xlabel="score %"
    )
    body += note(
        "Items are the unit: a model's epochs on one item are averaged first. Errored "
        "samples (no answer: infrastructure) are counted apart and never scored as wrong."
    )
    return body


def _score(ctx: ReportContext, suite: str, model: str) -> Interval | None:
    for s in ctx.comparison.scores:
        if s.suite == suite and s.model == model and s.items:
            return s.score
    return None


@section("pairs", "Paired differences", order=20)
def pairs(ctx: ReportContext) -> str | None:
    rows = ctx.comparison.pairs
    if not rows:
        return None
    body = table(
        ("suite", "A", "B", "A − B (points)", "95% CI", "n", "A wins", "B wins", "test", "p"),
        (
            (
                p.suite,
                p.model_a,
                p.model_b,
                pct(p.comparison.mean_difference),
                f"{pct(p.comparison.low)}–{pct(p.comparison.high)}",
                p.comparison.n,
                p.comparison.a_wins,
                p.comparison.b_wins,
                p.comparison.test,
                "—"
                if p.comparison.p_value != p.comparison.p_value
                else f"{p.comparison.p_value:.3g}",
            )
            for p in rows
        ),
        numeric_from=3,
    )
    labels = [f"{p.suite}: {p.model_a} − {p.model_b}" for p in rows]
    intervals: list[Interval | None] = [
        Interval(
            p.comparison.mean_difference,
            p.comparison.low,
            p.comparison.high,
            p.comparison.n,
            "bootstrap",
        )
        if p.comparison.n
        else None
        for p in rows
    ]
    body += charts.interval_chart(
        "pairs",
        "Paired difference A − B on shared items (bootstrap 95% CI)",
        labels,
        {"A − B": intervals},
        xlabel="points",
        signed=True,
    )
    body += note(
        "Pairs use only the items both models answered; McNemar exact test for "
        "verdicts, Wilcoxon signed-rank for graded scores."
    )
    return body


def _p(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.3g}"
