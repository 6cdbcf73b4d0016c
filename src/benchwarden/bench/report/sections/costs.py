"""Generic: cost, tokens and latency per model (summed over suites from ``compare``'s
per-suite figures; latency percentiles from the samples themselves)."""

from __future__ import annotations

import statistics

from benchwarden.bench.report import charts
from benchwarden.bench.report.context import ReportContext
from benchwarden.bench.report.html import num, table
from benchwarden.bench.report.sections import section


@section("costs", "Cost and latency per model", order=60)
def costs(ctx: ReportContext) -> str | None:
    if not ctx.samples:
        return None
    rows = []
    cost: list[float | None] = []
    tokens: list[float | None] = []
    p50: list[float | None] = []
    p95: list[float | None] = []
    for model in ctx.models:
        scores = [s for s in ctx.comparison.scores if s.model == model]
        latencies = sorted(
            s.latency_s
            for s in ctx.samples
            if s.model == model and s.status == "ok" and s.latency_s is not None
        )
        median = statistics.median(latencies) if latencies else None
        high = _quantile(latencies, 0.95)
        total_in = sum(s.input_tokens for s in scores)
        total_out = sum(s.output_tokens for s in scores)
        total_cost = sum(s.cost for s in scores)
        rows.append(
            (
                model,
                f"{total_in:,}",
                f"{total_out:,}",
                f"${total_cost:.4f}",
                num(median, 3),
                num(high, 3),
                len(latencies),
            )
        )
        cost.append(total_cost)
        tokens.append(float(total_in + total_out))
        p50.append(median)
        p95.append(high)
    body = table(
        ("model", "input tokens", "output tokens", "cost", "latency p50 s", "p95 s", "answers"),
        rows,
    )
    body += charts.panels(
        "costs",
        "Cost and latency per model",
        ctx.models,
        {"cost ($)": cost, "tokens": tokens, "latency p50 (s)": p50, "latency p95 (s)": p95},
    )
    return body


def _quantile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank quantile (a value that was observed)."""
    if not sorted_values:
        return None
    rank = max(1, round(q * len(sorted_values) + 0.4999))
    return sorted_values[min(rank, len(sorted_values)) - 1]
