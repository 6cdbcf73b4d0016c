"""Coding suites: pass@k per suite and model (from ``compare``), and why programs failed."""

from __future__ import annotations

from collections import Counter

from benchwarden.bench.report import charts
from benchwarden.bench.report.context import ReportContext
from benchwarden.bench.report.html import pct, table
from benchwarden.bench.report.sections import section


@section("coding", "Coding: pass@k and failures", kind="coding", order=30)
def coding(ctx: ReportContext) -> str | None:
    suites = ctx.suites_of("coding")
    scores = [s for s in ctx.comparison.scores if s.suite in suites and s.pass_at_k]
    if not scores:
        return None
    ks = sorted({k for s in scores for k in s.pass_at_k}, key=lambda k: int(k[5:]))
    body = table(
        ("suite", "model", *ks),
        ((s.suite, s.model, *(pct(s.pass_at_k.get(k)) for k in ks)) for s in scores),
        numeric_from=2,
        caption="pass@k (unbiased estimator over epochs, %)",
    )
    labels = [f"{suite} {k}" for suite in suites for k in ks]
    series = {
        m: [
            next((s.pass_at_k.get(k) for s in scores if s.suite == suite and s.model == m), None)
            for suite in suites
            for k in ks
        ]
        for m in ctx.models
    }
    body += charts.bar_chart(
        "pass-at-k", "pass@k per suite", labels, series, xlabel="%", percent=True
    )
    failures: Counter[tuple[str, str, str]] = Counter()
    for s in ctx.samples_of("coding"):
        if s.status == "ok" and s.passed is False:
            kind = str(s.score_detail.get("error_kind") or "failed")
            failures[(s.suite, s.model, kind)] += 1
    if failures:
        body += table(
            ("suite", "model", "failure", "samples"),
            ((suite, model, kind, n) for (suite, model, kind), n in sorted(failures.items())),
            numeric_from=3,
            caption="why failing programs failed (sandbox verdicts)",
        )
    return body
