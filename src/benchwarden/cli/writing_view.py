"""Writing results in the terminal (``compare``): ratings, win rates, judges."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rich.table import Table

from benchwarden.cli.common import console

if TYPE_CHECKING:
    from benchwarden.bench.writing.summary import WritingSummary
    from benchwarden.store import Store


def _num(x: float, digits: int = 0) -> str:
    return "—" if math.isnan(x) else f"{x:.{digits}f}"


def load_summary(store: Store, run_id: str, baseline: str | None) -> WritingSummary | None:
    from benchwarden.bench.writing.summary import writing_summary

    run = store.get_run(run_id)
    if run is None:
        return None
    return writing_summary(run, store.samples(run_id), store.judgments(run_id), baseline=baseline)


def render_writing(summary: WritingSummary) -> None:
    fit = summary.ratings
    if fit is not None:
        table = Table(
            title=f"writing: Bradley–Terry rating (baseline {fit.baseline} = 1000; 95% "
            f"bootstrap CI over items, {fit.bootstrap} draws)",
            title_justify="left",
        )
        for column in ("model", "rating", "95% CI", "length-controlled", "95% CI", "games"):
            table.add_column(column, overflow="fold")
        for raw, lc in zip(fit.raw, fit.length_controlled, strict=True):
            table.add_row(
                raw.model,
                _num(raw.rating),
                f"{_num(raw.low)}–{_num(raw.high)}",
                _num(lc.rating),
                f"{_num(lc.low)}–{_num(lc.high)}",
                str(raw.games),
            )
        console.print(table)
        console.print(
            f"length coefficient {_num(fit.length_coef, 2)} (95% CI "
            f"{_num(fit.length_coef_low, 2)}–{_num(fit.length_coef_high, 2)}; > 0: the judges "
            "favour longer answers)"
        )
    if summary.win_rates:
        wins = Table(title="writing: win rate vs baseline (ties count half)", title_justify="left")
        for column in ("model", "vs", "win %", "95% CI", "W-T-L"):
            wins.add_column(column, overflow="fold")
        for w in summary.win_rates:
            wins.add_row(
                w.model,
                w.baseline,
                _num(100 * w.rate.estimate, 1),
                f"{_num(100 * w.rate.low, 1)}–{_num(100 * w.rate.high, 1)}",
                f"{w.wins}-{w.ties}-{w.losses}",
            )
        console.print(wins)
    if summary.grades:
        grades = Table(title="writing: single-answer grade (1–10, 95% CI)", title_justify="left")
        for column in ("judge", "model", "mean", "95% CI", "items", "unparsed"):
            grades.add_column(column, overflow="fold")
        for g in summary.grades:
            grades.add_row(
                g.judge,
                g.model,
                _num(g.mean.estimate, 2),
                f"{_num(g.mean.low, 2)}–{_num(g.mean.high, 2)}",
                str(g.items),
                str(g.unparsed),
            )
        console.print(grades)
    if summary.verdicts:
        judges = Table(title="writing judges: verdicts and position bias", title_justify="left")
        for column in (
            "judge",
            "kind",
            "ok",
            "unparsed",
            "errors",
            "pairs usable",
            "order flips % (95% CI)",
            "slot A wins %",
        ):
            judges.add_column(column, overflow="fold")
        bias = {b.judge: b for b in summary.position_bias}
        for c in summary.verdicts:
            b = bias.get(c.judge) if c.kind == "pairwise" else None
            judges.add_row(
                c.judge,
                c.kind,
                str(c.ok),
                str(c.unparsed),
                str(c.errors),
                str(c.pairs_usable) if c.kind == "pairwise" else "",
                (
                    f"{_num(100 * b.rate.estimate, 1)} ({_num(100 * b.rate.low, 1)}–"
                    f"{_num(100 * b.rate.high, 1)})"
                    if b is not None and b.pairs
                    else ""
                ),
                _num(100 * b.first_slot_win_rate, 1) if b is not None else "",
            )
        console.print(judges)
    a = summary.agreement
    if a is not None:
        name = "Cohen's" if a.method == "cohen" else "Fleiss'"
        console.print(
            f"judge agreement ({', '.join(a.judges)}): {name} kappa {_num(a.kappa, 2)} on "
            f"{a.n} pairs; all agree on {_num(100 * a.observed, 1)}%"
        )
    console.print(f"judge prompts: {', '.join(summary.prompt_versions) or '—'}")
    for warning in summary.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
