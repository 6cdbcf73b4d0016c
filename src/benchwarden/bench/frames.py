"""A run's samples and scores as pandas DataFrames, for notebooks and scripts.

```python
from benchwarden.bench.frames import samples_frame, scores_frame, pairs_frame
samples = samples_frame("runs/lab.db", "first")   # one row per (model, suite, item, epoch)
scores = scores_frame("runs/lab.db", "first")     # one row per (suite, model), with CIs
judged = judgments_frame("runs/lab.db", "first")  # one row per writing judge call
```

``db`` is a :class:`~benchwarden.store.Store`, a URL or path, or None (the default
database). Scores come from ``compare.compare_run``: the same figures as ``compare``.
Safety answers are left out unless ``show_safety_answers=True``; answers to child-
safety prompts were never stored.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pandas as pd

from benchwarden.bench.compare import compare_run
from benchwarden.bench.disclosure import hide_safety_answers
from benchwarden.bench.export import CSV_COLUMNS, JUDGMENT_COLUMNS, judgment_row, sample_row
from benchwarden.store import RunRecord, SampleRecord, Store, StoreError, open_store

__all__ = [
    "judgments_frame",
    "judgments_to_frame",
    "pairs_frame",
    "samples_frame",
    "samples_to_frame",
    "scores_frame",
]


@contextmanager
def _opened(db: Store | str | None) -> Iterator[Store]:
    if isinstance(db, Store):
        yield db
        return
    store = open_store(db)
    try:
        yield store
    finally:
        store.close()


def _run(store: Store, run_id: str) -> tuple[RunRecord, list[SampleRecord]]:
    run = store.get_run(run_id)
    if run is None:
        raise StoreError(f"no run {run_id!r} in {store.url}")
    return run, store.samples(run_id)


def samples_to_frame(samples: Sequence[SampleRecord]) -> pd.DataFrame:
    """Columns as in the CSV export; ``params``, ``score_detail`` and ``metadata`` stay
    dicts; timestamps are tz-aware (UTC)."""
    frame = pd.DataFrame([sample_row(s) for s in samples], columns=CSV_COLUMNS)
    for column in ("started_at", "finished_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    return frame


def samples_frame(
    db: Store | str | None, run_id: str, *, show_safety_answers: bool = False
) -> pd.DataFrame:
    with _opened(db) as store:
        _, samples = _run(store, run_id)
    if not show_safety_answers:
        samples = list(hide_safety_answers(samples))
    return samples_to_frame(samples)


def scores_frame(db: Store | str | None, run_id: str) -> pd.DataFrame:
    """One row per (suite, model): score, 95% CI, items, errors, tokens, cost, mean
    latency, and one ``pass@k`` column per k that was computable."""
    with _opened(db) as store:
        run, samples = _run(store, run_id)
    report = compare_run(run_id, samples, run.models, run.suites)
    rows: list[dict[str, Any]] = []
    for s in report.scores:
        rows.append(
            {
                "suite": s.suite,
                "model": s.model,
                "score": s.score.estimate,
                "low": s.score.low,
                "high": s.score.high,
                "method": s.score.method,
                "items": s.items,
                "samples": s.samples,
                "errors": s.errors,
                "input_tokens": s.input_tokens,
                "output_tokens": s.output_tokens,
                "cost": s.cost,
                "mean_latency_s": s.mean_latency_s,
                **s.pass_at_k,
            }
        )
    return pd.DataFrame(rows)


def pairs_frame(db: Store | str | None, run_id: str) -> pd.DataFrame:
    """One row per suite and pair of models: the paired difference and its test."""
    with _opened(db) as store:
        run, samples = _run(store, run_id)
    report = compare_run(run_id, samples, run.models, run.suites)
    return pd.DataFrame(
        [
            {
                "suite": p.suite,
                "model_a": p.model_a,
                "model_b": p.model_b,
                "difference": p.comparison.mean_difference,
                "low": p.comparison.low,
                "high": p.comparison.high,
                "n": p.comparison.n,
                "test": p.comparison.test,
                "p_value": p.comparison.p_value,
            }
            for p in report.pairs
        ]
    )


def judgments_to_frame(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Rows of :func:`~benchwarden.bench.export.judgment_row` as a frame; ``created_at``
    tz-aware (UTC)."""
    frame = pd.DataFrame(list(rows), columns=JUDGMENT_COLUMNS)
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True, format="ISO8601")
    return frame


def judgments_frame(db: Store | str | None, run_id: str) -> pd.DataFrame:
    """One row per writing judge call: (suite, item, epoch, judge, kind, model_a,
    model_b), its status, verdict, reply excerpt, prompt version and the sha256 of
    each judged answer. A pairwise row is one order (``model_a`` shown first)."""
    with _opened(db) as store:
        _run(store, run_id)
        judgments = store.judgments(run_id)
    return judgments_to_frame([judgment_row(j) for j in judgments])
