"""Safety suites: unsafe rate per hazard, over-refusal, grades, and the LLM judges'
agreement with the offline classifier, all from ``safety_report`` as it computes them.
No answer appears in the report: only rates."""

from __future__ import annotations

from collections.abc import Sequence

from benchwarden.bench import safety_report
from benchwarden.bench.report import charts
from benchwarden.bench.report.context import ReportContext
from benchwarden.bench.report.html import ci, note, num, pct, table
from benchwarden.bench.report.sections import section
from benchwarden.bench.stats import Interval
from benchwarden.store import SampleRecord


@section("safety", "Safety: unsafe answers per hazard, over-refusal", kind="safety", order=40)
def safety(ctx: ReportContext) -> str | None:
    samples = ctx.samples_of("safety")
    rows = safety_report.hazard_rates(samples, ctx.models)
    overall = safety_report.summaries(samples, ctx.models)
    if not rows and not overall:
        return None
    body = ""
    if rows:
        hazards = list(dict.fromkeys(r.hazard for r in rows))
        found = {(r.hazard, r.model): r for r in rows}
        body += table(
            ("hazard", *(f"{m}: unsafe % (95% CI) · refusal %" for m in ctx.models)),
            (
                (
                    h,
                    *(
                        "—"
                        if (r := found.get((h, m))) is None
                        else f"{ci(r.unsafe)} · {pct(r.refusal.estimate)} (n={r.n})"
                        for m in ctx.models
                    ),
                )
                for h in hazards
            ),
        )
        series: dict[str, list[Interval | None]] = {
            m: [r.unsafe if (r := found.get((h, m))) else None for h in hazards] for m in ctx.models
        }
        body += charts.interval_chart(
            "unsafe-per-hazard",
            "Unsafe answers per hazard (Clopper-Pearson 95% CI)",
            hazards,
            series,
            xlabel="unsafe %",
        )
    if overall:
        body += table(
            ("model", "unsafe % (95% CI)", "n", "over-refusal % (95% CI)", "grade"),
            ((s.model, ci(s.unsafe), s.n, ci(s.over_refusal), s.grade or "—") for s in overall),
            caption="overall (a grade needs a reference model: compare --reference)",
        )
        over = [s for s in overall if s.over_refusal is not None]
        if over:
            body += charts.interval_chart(
                "over-refusal",
                "Over-refusal of harmless prompts (Clopper-Pearson 95% CI)",
                [s.model for s in over],
                {"over-refusal": [s.over_refusal for s in over]},
                xlabel="refused %",
            )
    body += labelled_by(samples, ctx.models)
    body += judges(samples, ctx.models)
    body += note(
        "Unsafe = a must-refuse prompt answered in full, as labelled by the offline "
        "classifier (or, where it abstained, by the refusal judge). Answers are not in "
        "this report; `benchwarden view` shows them on request "
        "(never those to child-safety prompts, which are not stored)."
    )
    return body


def labelled_by(samples: Sequence[SampleRecord], models: Sequence[str]) -> str:
    """Who labelled the answers: the share the classifier was unsure of, and of those
    the share the refusal judge decided (the rest keep a low-confidence label)."""
    rows = [r for r in safety_report.labelling(samples, models) if r.uncertain or r.judged]
    if not rows:
        return ""
    return table(
        ("model", "answers", "uncertain %", "judged %", "low-confidence %", "judge"),
        (
            (
                r.model,
                r.n,
                pct(r.uncertain / r.n),
                pct(r.judged / r.n),
                pct(r.low_confidence / r.n),
                ", ".join(r.judge_models) or "—",
            )
            for r in rows
        ),
        caption="labels the classifier was unsure of (below its abstain band): decided by "
        "the refusal judge, or kept and marked low-confidence when no judge decided",
        numeric_from=1,
    )


def judges(samples: Sequence[SampleRecord], models: Sequence[str]) -> str:
    agreement = safety_report.judge_agreement(samples)
    if not agreement:
        return ""
    rates = safety_report.judge_rates(samples, models)
    body = "<h3>LLM judges</h3>"
    if rates:
        body += table(
            ("judge", "model", "unsafe % (95% CI)", "over-refusal % (95% CI)"),
            ((r.judge, r.model, ci(r.unsafe), ci(r.over_refusal)) for r in rates),
            numeric_from=2,
        )
    body += table(
        (
            "judge",
            "n",
            "agree 3-class %",
            "kappa",
            "agree refusal y/n %",
            "kappa",
            "unparsed",
            "errors",
        ),
        (
            (
                a.judge,
                a.n,
                pct(a.agreement),
                num(a.kappa),
                pct(a.binary_agreement),
                num(a.binary_kappa),
                a.unparsed,
                a.errors,
            )
            for a in agreement
        ),
        caption="each judge against the offline classifier, on answers both labelled",
    )
    body += charts.bar_chart(
        "judge-agreement",
        "Judge agreement with the offline classifier",
        [a.judge for a in agreement],
        {
            "agreement (3-class)": [a.agreement for a in agreement],
            "Cohen's kappa (3-class)": [a.kappa for a in agreement],
            "agreement (refusal y/n)": [a.binary_agreement for a in agreement],
            "Cohen's kappa (y/n)": [a.binary_kappa for a in agreement],
        },
        xlim=(-1.0, 1.0),
    )
    return body
