"""One run's writing results as plain, serializable data. Pure (no I/O).

:func:`writing_summary` is the stable entry point for every view of writing results
(``compare``, its JSON, the HTML report): give it the run, its samples and its
judgments (``store.get_run``, ``store.samples``, ``store.judgments``)::

    summary = writing_summary(run, store.samples(run_id), store.judgments(run_id))
    if summary is not None:
        data = summary.to_dict()   # JSON-ready: NaN becomes None

Fields of :class:`WritingSummary` (all plain dataclasses, lists and dicts):

* ``ratings``: Bradley-Terry over every judge's combined verdicts, ``raw`` and
  ``length_controlled`` (each a list of ``Rating(model, rating, low, high, games)``,
  Elo-like scale, baseline at 1000, 95% bootstrap intervals over items, each item
  with all its epochs), and the
  length coefficient with its interval; None without pairwise verdicts.
* ``win_rates``: each model against the baseline (wins + ties/2 per item, its epochs
  and judges averaged, 95% CI).
* ``grades``: single-answer grades (1-10) per judge and model, mean with 95% t CI.
* ``position_bias``: per judge; ``agreement``: between judges (Cohen/Fleiss kappa).
* ``verdicts``: counts per judge (ok, unparsed, error, inconsistent pairs).
* ``prompt_versions``: the judge prompt versions of the judgments used: only the
  current ones (``writing/prompts.py``); judgments asked with another version, or on
  answers that changed after judging, are left out with a warning.
* ``warnings``: self-preference, tiny judges, unusable verdicts, strong position bias.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from benchwarden.bench.compare import without_nan
from benchwarden.bench.stats import Interval, mean_ci
from benchwarden.bench.writing.judges import (
    Agreement,
    PairKey,
    PositionBias,
    agreement,
    position_bias,
    self_preference_warnings,
    weak_judge_warnings,
)
from benchwarden.bench.writing.judging import answer_hashes, is_current
from benchwarden.bench.writing.ratings import Game, RatingFit, rate
from benchwarden.bench.writing.verdicts import Combined, combine
from benchwarden.store import JudgmentRecord, RunRecord, SampleRecord

SUMMARY_VERSION = "writing-summary-v1"
# Above this share of pairs whose preference followed the slot, say so.
POSITION_BIAS_WARNING = 0.3


@dataclass(frozen=True, slots=True)
class WinRate:
    model: str
    baseline: str
    rate: Interval  # per item: 1 win, 0.5 tie, 0 loss, averaged over judges
    wins: int
    ties: int
    losses: int


@dataclass(frozen=True, slots=True)
class Grade:
    judge: str  # "all" pools the judges
    model: str
    mean: Interval
    items: int
    unparsed: int


@dataclass(frozen=True, slots=True)
class JudgeCounts:
    judge: str
    kind: str
    ok: int
    unparsed: int
    errors: int
    pairs_usable: int = 0
    pairs_inconsistent: int = 0


@dataclass(frozen=True, slots=True)
class WritingSummary:
    run_id: str
    suites: list[str]
    models: list[str]
    judges: list[str]
    baseline: str | None
    ratings: RatingFit | None = None
    win_rates: list[WinRate] = field(default_factory=list)
    grades: list[Grade] = field(default_factory=list)
    position_bias: list[PositionBias] = field(default_factory=list)
    agreement: Agreement | None = None
    verdicts: list[JudgeCounts] = field(default_factory=list)
    prompt_versions: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    version: str = SUMMARY_VERSION

    def to_dict(self) -> dict[str, Any]:
        return without_nan(asdict(self))  # type: ignore[no-any-return]


def _item_key(suite: str, item: str) -> str:
    """The bootstrap's unit: an item, with all its epochs (epochs of one item are not
    independent, so resampling them apart would make intervals too narrow)."""
    return f"{suite}/{item}"


def writing_summary(
    run: RunRecord,
    samples: Sequence[SampleRecord],
    judgments: Sequence[JudgmentRecord],
    *,
    baseline: str | None = None,
    suites: Sequence[str] | None = None,
    bootstrap: int = 500,
    seed: int = 0,
) -> WritingSummary | None:
    """The run's writing results; None when it has no writing suite or judgments."""
    chosen = list(suites) if suites is not None else sorted({j.suite for j in judgments})
    if not chosen and "writing" in run.suites:
        chosen = ["writing"]
    if not chosen:
        return None
    models = list(run.models)
    if baseline is not None and baseline not in models:
        raise ValueError(f"baseline {baseline!r} is not a model of run {run.run_id}")
    base = baseline or (models[0] if models else None)
    judgments = [j for j in judgments if j.suite in chosen]
    # Only final judgments of this code's prompt versions, on the answers as stored now.
    hashes = answer_hashes(samples)
    stale = [j for j in judgments if j.status != "error" and not is_current(j, hashes)]
    judgments = [j for j in judgments if j.status == "error" or is_current(j, hashes)]
    judges = list(dict.fromkeys([*run.settings.get("judges", []), *(j.judge for j in judgments)]))
    lengths = {
        (s.model, s.suite, s.item_id, s.epoch): float(len(s.answer or ""))
        for s in samples
        if s.status == "ok"
    }
    pairwise = [j for j in judgments if j.kind == "pairwise"]
    verdict = {(j.judge, j.suite, j.item_id, j.epoch, j.model_a, j.model_b): j for j in pairwise}

    orders: dict[str, dict[PairKey, tuple[str | None, str | None]]] = defaultdict(dict)
    combined: dict[str, dict[PairKey, Combined]] = defaultdict(dict)
    games: list[Game] = []
    for (judge, suite, item, epoch, a, b), j in verdict.items():
        ia, ib = models.index(a) if a in models else -1, models.index(b) if b in models else -1
        if ia < 0 or ib < 0 or ia > ib:
            continue  # each pair once, from its first model's side
        other = verdict.get((judge, suite, item, epoch, b, a))
        x_first = j.verdict if j.status == "ok" else None
        y_first = other.verdict if other is not None and other.status == "ok" else None
        key: PairKey = (suite, item, epoch, a, b)
        orders[judge][key] = (x_first, y_first)
        c = combine(x_first, y_first)
        combined[judge][key] = c
        if c.outcome is not None:
            games.append(
                Game(
                    _item_key(suite, item),
                    a,
                    b,
                    c.outcome,
                    lengths.get((a, suite, item, epoch), 0.0),
                    lengths.get((b, suite, item, epoch), 0.0),
                )
            )

    counts: list[JudgeCounts] = []
    biases: list[PositionBias] = []
    for judge, kind in itertools.product(judges, ("pairwise", "single")):
        mine = [j for j in judgments if j.judge == judge and j.kind == kind]
        if not mine:
            continue
        ok = sum(j.status == "ok" for j in mine)
        unparsed = sum(j.status == "unparsed" for j in mine)
        errors = sum(j.status == "error" for j in mine)
        pairs = combined.get(judge, {}).values() if kind == "pairwise" else []
        counts.append(
            JudgeCounts(
                judge,
                kind,
                ok,
                unparsed,
                errors,
                sum(c.outcome is not None for c in pairs),
                sum(c.inconsistent for c in pairs),
            )
        )
        if kind == "pairwise":
            biases.append(position_bias(judge, orders.get(judge, {}), unparsed, errors))

    ratings = None
    win_rates: list[WinRate] = []
    if games and base is not None:
        ratings = rate(models, games, base, bootstrap=bootstrap, seed=seed)
        win_rates = _win_rates(models, base, games)

    warnings = weak_judge_warnings(judges) + self_preference_warnings(judges, models)
    for bias in biases:
        if bias.pairs and bias.rate.estimate > POSITION_BIAS_WARNING:
            warnings.append(
                f"judge {bias.judge}: in {100 * bias.rate.estimate:.0f}% of pairs its preference "
                "followed the slot, not the answer (position bias); those pairs count as ties"
            )
    for count in counts:
        total = count.ok + count.unparsed + count.errors
        if total and count.ok / total < 0.5:
            warnings.append(
                f"judge {count.judge} ({count.kind}): only {count.ok} of {total} replies "
                "named a usable verdict; unusable ones are left out, never guessed"
            )
    if stale:
        versions = ", ".join(sorted({j.prompt_version for j in stale}))
        warnings.append(
            f"{len(stale)} judgments left out: asked with another judge prompt ({versions}) "
            "or on answers that have changed since; run the same command with --judge "
            "to judge them again"
        )
    if not judgments:
        warnings.append(
            "no judge has judged these writing answers yet: run the same command with "
            "--judge MODEL (judging resumes; answers are not asked again)"
        )
    if pairwise and not games:
        warnings.append("no pair has a usable verdict in both orders: no ratings")
    warnings += separation_warnings(games)

    return WritingSummary(
        run_id=run.run_id,
        suites=chosen,
        models=models,
        judges=judges,
        baseline=base,
        ratings=ratings,
        win_rates=win_rates,
        grades=_grades(judges, models, [j for j in judgments if j.kind == "single"]),
        position_bias=biases,
        agreement=agreement(combined),
        verdicts=counts,
        prompt_versions=sorted({j.prompt_version for j in judgments if j.status != "error"}),
        warnings=warnings,
    )


def separation_warnings(games: Sequence[Game]) -> list[str]:
    """A model that won (or lost) every game it played has no finite Bradley-Terry
    rating: the fit's small ridge alone bounds it, so its number says little."""
    scores: dict[str, list[float]] = defaultdict(list)
    for g in games:
        scores[g.x].append(g.outcome)
        scores[g.y].append(1.0 - g.outcome)
    warnings = []
    for model, outcomes in sorted(scores.items()):
        if all(o == 1.0 for o in outcomes) or all(o == 0.0 for o in outcomes):
            what = "won" if outcomes[0] == 1.0 else "lost"
            warnings.append(
                f"{model} {what} all {len(outcomes)} of its games: its rating is bounded only "
                "by the fit's ridge (perfect separation); more items or a closer rival "
                "give a meaningful number"
            )
    return warnings


def _win_rates(models: Sequence[str], base: str, games: Sequence[Game]) -> list[WinRate]:
    out = []
    for model in models:
        if model == base:
            continue
        per_item: dict[str, list[float]] = defaultdict(list)
        tally = [0, 0, 0]
        for g in games:
            if {g.x, g.y} != {model, base}:
                continue
            score = g.outcome if g.x == model else 1.0 - g.outcome
            per_item[g.item].append(score)
            tally[0 if score > 0.5 else 1 if score == 0.5 else 2] += 1
        values = [sum(v) / len(v) for v in per_item.values()]
        out.append(WinRate(model, base, mean_ci(values), *tally))
    return out


def _grades(
    judges: Sequence[str], models: Sequence[str], singles: Sequence[JudgmentRecord]
) -> list[Grade]:
    out = []
    for judge in [*judges, "all"] if len(judges) > 1 else judges:
        for model in models:
            mine = [
                j for j in singles if j.model_a == model and (judge == "all" or j.judge == judge)
            ]
            if not mine:
                continue
            per_item: dict[tuple[str, str, int], list[float]] = defaultdict(list)
            for j in mine:
                if j.status == "ok" and j.verdict is not None:
                    per_item[(j.suite, j.item_id, j.epoch)].append(float(j.verdict))
            values = [sum(v) / len(v) for v in per_item.values()]
            unparsed = sum(j.status == "unparsed" for j in mine)
            out.append(Grade(judge, model, mean_ci(values), len(values), unparsed))
    return out
