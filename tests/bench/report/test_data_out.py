"""Data out: DataFrames of a run's samples and scores, and the JSONL/CSV/Parquet exports
(through the CLI), all agreeing with the store and with compare."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from benchwarden.bench.compare import compare_run
from benchwarden.bench.frames import pairs_frame, samples_frame, scores_frame
from benchwarden.store import open_store
from tests.bench.report.runs import MIXED_RUN, SAFETY_MARKER, Runs
from tests.cli_process import run_cli


def test_samples_frame_is_the_store_with_safety_answers_hidden(results_db: Runs) -> None:
    with open_store(str(results_db.db)) as store:
        stored = store.samples(MIXED_RUN)
        frame = samples_frame(store, MIXED_RUN)
    assert len(frame) == len(stored)
    assert list(frame["item_id"]) == [s.item_id for s in stored]
    assert not frame["answer"].fillna("").str.contains(SAFETY_MARKER).any()
    shown = samples_frame(str(results_db.db), MIXED_RUN, show_safety_answers=True)
    assert shown["answer"].fillna("").str.contains(SAFETY_MARKER).sum() == 2 * 8
    assert isinstance(frame["score_detail"].iloc[0], dict)
    assert (
        str(frame["finished_at"].dtype).startswith("datetime64")
        or frame["finished_at"].isna().all()
    )


def test_scores_and_pairs_frames_are_compares_figures(results_db: Runs) -> None:
    with open_store(str(results_db.db)) as store:
        run = store.get_run(MIXED_RUN)
        assert run is not None
        report = compare_run(MIXED_RUN, store.samples(MIXED_RUN), run.models, run.suites)
    scores = scores_frame(str(results_db.db), MIXED_RUN)
    assert len(scores) == len(report.scores)
    for row, s in zip(scores.itertuples(), report.scores, strict=True):
        assert (row.suite, row.model, row.items, row.errors) == (
            s.suite,
            s.model,
            s.items,
            s.errors,
        )
        assert row.score == pytest.approx(s.score.estimate)
        assert row.low == pytest.approx(s.score.low) and row.high == pytest.approx(s.score.high)
    pairs = pairs_frame(str(results_db.db), MIXED_RUN)
    for row, p in zip(pairs.itertuples(), report.pairs, strict=True):
        assert row.difference == pytest.approx(p.comparison.mean_difference)
        assert (math.isnan(row.p_value) and math.isnan(p.comparison.p_value)) or (
            row.p_value == pytest.approx(p.comparison.p_value)
        )


def test_exports_agree_across_formats(results_db: Runs, tmp_path: Path) -> None:
    paths = {}
    for fmt in ("jsonl", "csv", "parquet"):
        paths[fmt] = tmp_path / f"out.{fmt}"
        result = run_cli(
            "export", MIXED_RUN, "--format", fmt, "-o", str(paths[fmt]), "--db", str(results_db.db)
        )
        assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in paths["jsonl"].read_text().splitlines()]
    parquet = pd.read_parquet(paths["parquet"])
    csv = pd.read_csv(paths["csv"])
    assert len(rows) == len(parquet) == len(csv) > 0
    assert list(parquet["item_id"]) == [r["item_id"] for r in rows] == list(csv["item_id"])
    detail = [json.loads(d) for d in parquet["score_detail"]]
    assert detail == [r["score_detail"] for r in rows]
    assert not parquet["answer"].fillna("").str.contains(SAFETY_MARKER).any()


def test_unknown_run_raises_a_store_error(results_db: Runs) -> None:
    from benchwarden.store import StoreError

    with pytest.raises(StoreError, match="no run 'nope'"):
        samples_frame(str(results_db.db), "nope")
