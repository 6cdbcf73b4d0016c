"""A run's comparison: per suite and model a score with its interval, and for each pair
of models the paired difference on the items both answered. Pure: samples in, report out.

Items are the unit: a model's epochs on one item are averaged first, so a model is
not made to look surer by sampling the same item more often. Errored samples are
infrastructure failures, counted apart and never scored as wrong.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from benchwarden.bench.stats import (
    Interval,
    PairedComparison,
    mean_ci,
    mean_pass_at_k,
    paired_difference,
)
from benchwarden.store import SampleRecord


def without_nan(value: Any) -> Any:
    """NaN (an undefined estimate) as null, so the output is valid JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: without_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [without_nan(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class ModelScore:
    suite: str
    model: str
    score: Interval
    items: int
    samples: int
    errors: int
    input_tokens: int
    output_tokens: int
    cost: float
    mean_latency_s: float | None
    # pass@k over epochs ("pass@1", "pass@5"...), for suites whose scores are verdicts.
    pass_at_k: dict[str, float] = field(default_factory=dict)
    # Sub-scores some suites report apart (HumanEval+/MBPP+: "base" and "plus" tests).
    parts: dict[str, Interval] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PairScore:
    suite: str
    model_a: str
    model_b: str
    comparison: PairedComparison


@dataclass(slots=True)
class Comparison:
    run_id: str
    scores: list[ModelScore] = field(default_factory=list)
    pairs: list[PairScore] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        report: dict[str, Any] = without_nan(
            {
                "run_id": self.run_id,
                "scores": [asdict(s) for s in self.scores],
                "pairs": [asdict(p) for p in self.pairs],
            }
        )
        return report


def per_item_scores(samples: Iterable[SampleRecord]) -> dict[tuple[str, str], dict[str, float]]:
    """(suite, model) -> item_id -> mean score over that item's scored epochs."""
    sums: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for sample in samples:
        if sample.status == "ok" and sample.score is not None:
            sums[(sample.suite, sample.model)][sample.item_id].append(sample.score)
    return {
        key: {item: sum(v) / len(v) for item, v in items.items()} for key, items in sums.items()
    }


PASS_AT = (1, 5, 10)
PARTS = ("base", "plus", "try1")  # try1: agentic edit protocol, solved at the first try


def verdict_stats(group: list[SampleRecord]) -> tuple[dict[str, float], dict[str, Interval]]:
    """pass@k from the per-item pass counts, and base/plus sub-scores where recorded."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    parts: dict[str, dict[str, list[float]]] = {p: defaultdict(list) for p in PARTS}
    for sample in group:
        if sample.status != "ok" or sample.passed is None:
            continue
        counts[sample.item_id][0] += 1
        counts[sample.item_id][1] += int(sample.passed)
        for part in PARTS:
            flag = sample.score_detail.get(f"{part}_passed")
            if isinstance(flag, bool):
                parts[part][sample.item_id].append(float(flag))
    pass_at: dict[str, float] = {}
    if counts:
        fewest = min(n for n, _ in counts.values())
        pairs = [(n, c) for n, c in counts.values()]
        pass_at = {f"pass@{k}": mean_pass_at_k(pairs, k) for k in PASS_AT if k <= fewest}
    intervals = {
        part: mean_ci([sum(v) / len(v) for v in items.values()])
        for part, items in parts.items()
        if items
    }
    return pass_at, intervals


def compare_run(
    run_id: str, samples: list[SampleRecord], models: list[str], suites: list[str]
) -> Comparison:
    report = Comparison(run_id)
    by_item = per_item_scores(samples)
    grouped: dict[tuple[str, str], list[SampleRecord]] = defaultdict(list)
    for sample in samples:
        grouped[(sample.suite, sample.model)].append(sample)
    for suite in suites:
        for model in models:
            group = grouped.get((suite, model), [])
            item_scores = by_item.get((suite, model), {})
            ok = [s for s in group if s.status == "ok"]
            latencies = [s.latency_s for s in ok if s.latency_s is not None]
            pass_at, parts = verdict_stats(group)
            report.scores.append(
                ModelScore(
                    suite=suite,
                    model=model,
                    score=mean_ci(list(item_scores.values())),
                    items=len(item_scores),
                    samples=len(group),
                    errors=sum(s.status == "error" for s in group),
                    input_tokens=sum(s.input_tokens for s in group),
                    output_tokens=sum(s.output_tokens for s in group),
                    cost=sum(s.cost for s in group),
                    mean_latency_s=sum(latencies) / len(latencies) if latencies else None,
                    pass_at_k=pass_at,
                    parts=parts,
                )
            )
        for model_a, model_b in itertools.combinations(models, 2):
            a_items = by_item.get((suite, model_a), {})
            b_items = by_item.get((suite, model_b), {})
            shared = sorted(set(a_items) & set(b_items))
            report.pairs.append(
                PairScore(
                    suite,
                    model_a,
                    model_b,
                    paired_difference([a_items[i] for i in shared], [b_items[i] for i in shared]),
                )
            )
    return report
