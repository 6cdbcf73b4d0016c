"""Writing suites: Bradley-Terry ratings (raw and length-controlled) with bootstrap
intervals, win rates against the baseline, single-answer grades, each judge's position
bias and the agreement between judges, all from ``writing.summary.writing_summary``
as ``compare`` shows them. No answer or judge reply appears in the report."""

from __future__ import annotations

from benchwarden.bench.report import charts
from benchwarden.bench.report.context import ReportContext
from benchwarden.bench.report.html import ci, note, num, table
from benchwarden.bench.report.sections import section
from benchwarden.bench.stats import Interval
from benchwarden.bench.writing.summary import WritingSummary, writing_summary


@section("writing", "Writing: ratings, position bias, judge agreement", kind="writing", order=35)
def writing(ctx: ReportContext) -> str | None:
    suites = ctx.suites_of("writing")
    if not suites:
        return None
    summary = writing_summary(ctx.run, ctx.samples, ctx.judgments, suites=suites)
    if summary is None or not summary.judges:
        return note(
            f"Writing suites in this run: {', '.join(suites)}. No judge has judged them yet: "
            "run again with --judge MODEL (the same --run-id) to compare the answers."
        )
    return _ratings(summary) + _grades(summary) + _judges(summary) + _warnings(summary)


def _rating_interval(rating: float, low: float, high: float, n: int, base: float) -> Interval:
    return Interval(rating - base, low - base, high - base, n, "bootstrap")


def _ratings(summary: WritingSummary) -> str:
    fit = summary.ratings
    if fit is None:
        return ""
    body = table(
        ("model", "rating (95% CI)", "length-controlled (95% CI)", "games"),
        (
            (
                raw.model,
                f"{raw.rating:.0f} ({raw.low:.0f} to {raw.high:.0f})",
                f"{lc.rating:.0f} ({lc.low:.0f} to {lc.high:.0f})",
                raw.games,
            )
            for raw, lc in zip(fit.raw, fit.length_controlled, strict=True)
        ),
        caption=(
            f"Bradley-Terry, baseline {fit.baseline} = 1000; 95% bootstrap over items "
            f"({fit.bootstrap} draws); length coefficient {num(fit.length_coef)} "
            f"({num(fit.length_coef_low)} to {num(fit.length_coef_high)}; > 0: judges "
            "favour longer answers)"
        ),
    )
    others = [
        (raw, lc)
        for raw, lc in zip(fit.raw, fit.length_controlled, strict=True)
        if raw.model != fit.baseline
    ]
    if others:
        body += charts.interval_chart(
            "writing-ratings",
            f"Rating against {fit.baseline} (Bradley-Terry, 95% bootstrap CI)",
            [raw.model for raw, _ in others],
            {
                "raw": [
                    _rating_interval(r.rating, r.low, r.high, r.games, 1000) for r, _ in others
                ],
                "length-controlled": [
                    _rating_interval(c.rating, c.low, c.high, c.games, 1000) for _, c in others
                ],
            },
            xlabel="rating − baseline",
            percent=False,
            signed=True,
        )
    if summary.win_rates:
        body += table(
            ("model", "baseline", "win rate (95% CI)", "W-T-L"),
            (
                (w.model, w.baseline, ci(w.rate), f"{w.wins}-{w.ties}-{w.losses}")
                for w in summary.win_rates
            ),
            caption="per item: win 1, tie 0.5, loss 0, averaged over judges",
        )
    return body


def _grades(summary: WritingSummary) -> str:
    if not summary.grades:
        return ""
    return table(
        ("judge", "model", "mean grade 1-10 (95% CI)", "items", "unparsed"),
        (
            (
                g.judge,
                g.model,
                f"{num(g.mean.estimate, 1)} ({num(g.mean.low, 1)} to {num(g.mean.high, 1)})",
                g.items,
                g.unparsed,
            )
            for g in summary.grades
        ),
        numeric_from=2,
        caption="single-answer grades",
    )


def _judges(summary: WritingSummary) -> str:
    body = ""
    if summary.position_bias:
        body += table(
            ("judge", "pairs", "followed the slot (95% CI)", "slot A wins", "unparsed", "errors"),
            (
                (
                    b.judge,
                    b.pairs,
                    f"{b.flips} · {ci(b.rate)}",
                    f"{b.first_slot_wins}/{b.decisive}",
                    b.unparsed,
                    b.errors,
                )
                for b in summary.position_bias
            ),
            caption="position bias: pairs whose preference followed the slot, not the answer",
        )
        body += charts.interval_chart(
            "writing-position-bias",
            "Position bias per judge (Wilson 95% CI)",
            [b.judge for b in summary.position_bias],
            {"followed the slot": [b.rate for b in summary.position_bias]},
            xlabel="% of pairs",
        )
    a = summary.agreement
    if a is not None:
        body += table(
            ("judges", "method", "pairs", "kappa", "all agreed"),
            ((" · ".join(a.judges), a.method, a.n, num(a.kappa), f"{a.observed:.0%}"),),
            numeric_from=2,
            caption="agreement between judges",
        )
    versions = ", ".join(summary.prompt_versions) or "—"
    return body + note(f"Judge prompt versions: {versions}.")


def _warnings(summary: WritingSummary) -> str:
    return "".join(note(f"Warning: {w}") for w in summary.warnings)
