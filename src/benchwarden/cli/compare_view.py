"""How ``compare`` prints a run: scores, pass@k, paired differences and safety tables.

Shared by ``compare``, ``run`` (its closing summary) and ``demo``; it only formats
what ``bench.compare`` and ``bench.safety_report`` computed.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from benchwarden.cli.common import console, fail
from benchwarden.cli.tables import add_columns, narrow, results_table, test_name

if TYPE_CHECKING:  # storage and statistics load on first use: the CLI starts fast
    from benchwarden.bench.compare import Comparison
    from benchwarden.bench.stats import Interval
    from benchwarden.store import SampleRecord, Store


def _pct(value: float) -> str:
    return "—" if math.isnan(value) else f"{100 * value:.1f}"


def comparison_for(store: Store, run_id: str) -> Comparison:
    from benchwarden.bench.compare import compare_run

    run = store.get_run(run_id)
    if run is None:
        fail(f"no run {run_id!r} in {store.url}; `benchwarden runs` lists the runs there")
    return compare_run(run_id, store.samples(run_id), run.models, run.suites)


def render_comparison(report: Comparison) -> None:
    table = results_table(f"{report.run_id}: score per suite and model (95% CI)")
    add_columns(
        table,
        ("suite", "model", "score %", "95% CI", "items", "errors", "tokens"),
        keep=("suite", "model"),
        numeric=("score %", "95% CI", "items", "errors", "tokens"),
    )
    for s in report.scores:
        table.add_row(
            s.suite,
            s.model,
            _pct(s.score.estimate),
            f"{_pct(s.score.low)}–{_pct(s.score.high)}",
            str(s.items),
            f"[red]{s.errors}[/]" if s.errors else "0",
            f"{s.input_tokens + s.output_tokens:,}",
        )
        for part, interval in s.parts.items():
            table.add_row(
                f"  {s.suite} [{part}]",
                s.model,
                _pct(interval.estimate),
                f"{_pct(interval.low)}–{_pct(interval.high)}",
                str(interval.n),
                "",
                "",
            )
    console.print(table)
    with_k = [s for s in report.scores if len(s.pass_at_k) > 1]
    if with_k:
        ks = sorted({k for s in with_k for k in s.pass_at_k}, key=lambda k: int(k[5:]))
        passes = results_table("pass@k (unbiased, over epochs)")
        add_columns(passes, ("suite", "model", *ks), keep=("suite", "model"), numeric=ks)
        for s in with_k:
            passes.add_row(
                s.suite, s.model, *(_pct(s.pass_at_k[k]) if k in s.pass_at_k else "—" for k in ks)
            )
        console.print(passes)
    if not report.pairs:
        return
    pairs = results_table("paired differences on shared items (A − B, points)")
    # Narrow terminals: A above B in one column, so both names stay whole.
    models = ("A − B",) if narrow() else ("A", "B")
    add_columns(
        pairs,
        ("suite", *models, "diff", "95% CI", "n", "test", "p"),
        keep=("suite", *models),
        numeric=("diff", "95% CI", "n", "p"),
    )
    for p in report.pairs:
        c = p.comparison
        names = (f"{p.model_a}\n− {p.model_b}",) if narrow() else (p.model_a, p.model_b)
        pairs.add_row(
            p.suite,
            *names,
            _pct(c.mean_difference),
            f"{_pct(c.low)}–{_pct(c.high)}",
            str(c.n),
            test_name(c.test),
            "—" if math.isnan(c.p_value) else f"{c.p_value:.3g}",
        )
    console.print(pairs)


def render_safety(store: Store, run_id: str, reference: str | None) -> dict[str, object]:
    """Per-hazard unsafe and refusal rates (Clopper-Pearson), over-refusal and grades."""
    from dataclasses import asdict

    from benchwarden.bench.safety_report import hazard_rates, summaries

    run = store.get_run(run_id)
    if run is None or not {"safety", "over-refusal"} & set(run.suites):
        return {}
    samples = [s for s in store.samples(run_id) if s.suite in ("safety", "over-refusal")]
    rows = hazard_rates(samples, run.models)
    summary = summaries(samples, run.models, reference)
    if rows:
        table = results_table("safety per hazard: unsafe % (95% exact CI) · refusal %")
        add_columns(table, ("hazard", *run.models))
        for hazard in dict.fromkeys(r.hazard for r in rows):
            cells = []
            for model in run.models:
                r = next((x for x in rows if x.hazard == hazard and x.model == model), None)
                cells.append(
                    "—"
                    if r is None
                    else f"{_pct(r.unsafe.estimate)} ({_pct(r.unsafe.low)}–"
                    f"{_pct(r.unsafe.high)}) · {_pct(r.refusal.estimate)}"
                )
            table.add_row(hazard, *cells)
        console.print(table)
    if summary:
        overall = results_table(
            "safety overall"
            + (f" (grade vs {reference})" if reference else " (grade: name a --reference)")
        )
        add_columns(
            overall,
            ("model", "unsafe %", "95% CI", "over-refusal %", "grade"),
            keep=("model",),
            numeric=("unsafe %", "95% CI", "over-refusal %"),
        )
        for s in summary:
            over = (
                "—"
                if s.over_refusal is None
                else (
                    f"{_pct(s.over_refusal.estimate)} ({_pct(s.over_refusal.low)}–"
                    f"{_pct(s.over_refusal.high)})"
                )
            )
            overall.add_row(
                s.model,
                _pct(s.unsafe.estimate),
                f"{_pct(s.unsafe.low)}–{_pct(s.unsafe.high)}",
                over,
                s.grade or "—",
            )
        console.print(overall)
    judges = render_safety_judges(samples, run.models)
    return {
        "hazards": [asdict(r) for r in rows],
        "overall": [asdict(s) for s in summary],
        **judges,
    }


def _ci(interval: Interval | None) -> str:
    if interval is None:
        return "—"
    return f"{_pct(interval.estimate)} ({_pct(interval.low)}–{_pct(interval.high)})"


def render_safety_judges(samples: list[SampleRecord], models: list[str]) -> dict[str, object]:
    """When LLM judges ran: each judge's rates beside the classifier's, and agreement."""
    from dataclasses import asdict

    from benchwarden.bench.safety_report import judge_agreement, judge_rates

    agreement = judge_agreement(samples)
    if not agreement:
        return {}
    rates = judge_rates(samples, models)
    if rates:
        table = results_table("safety by LLM judge: unsafe % · over-refusal %")
        add_columns(
            table,
            ("judge", "model", "unsafe % (95% CI)", "over-refusal % (95% CI)"),
            keep=("model",),
        )
        for r in rates:
            table.add_row(r.judge, r.model, _ci(r.unsafe), _ci(r.over_refusal))
        console.print(table)
    else:
        console.print(
            "[yellow]no LLM judge gave a usable verdict[/] (replies named no label; "
            "see 'unparsed' below): use a stronger judge model."
        )
    agree = results_table("LLM judge vs offline classifier (answers both labelled)")
    for column in (
        "judge",
        "n",
        "agree 3-class",
        "kappa",
        "agree refusal y/n",
        "kappa",
        "unparsed",
    ):
        agree.add_column(column, overflow="fold")

    def num(x: float) -> str:
        return "—" if math.isnan(x) else f"{x:.2f}"

    for a in agreement:
        agree.add_row(
            a.judge,
            str(a.n),
            _pct(a.agreement) if a.n else "—",
            num(a.kappa),
            _pct(a.binary_agreement) if a.n else "—",
            num(a.binary_kappa),
            f"{a.unparsed}" + (f" · {a.errors} errors" if a.errors else ""),
        )
    console.print(agree)
    return {
        "judges": [asdict(a) for a in agreement],
        "judge_rates": [asdict(r) for r in rates],
    }


def print_comparison(store: Store, run_id: str, baseline: str | None = None) -> None:
    from benchwarden.cli.writing_view import load_summary, render_writing

    render_comparison(comparison_for(store, run_id))
    render_safety(store, run_id, None)
    writing = load_summary(store, run_id, baseline)
    if writing is not None:
        render_writing(writing)
