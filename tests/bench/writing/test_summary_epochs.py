"""The writing summary's bootstrap resamples items, not (item, epoch) pairs: a run
whose every verdict is repeated in a second epoch knows no more about the models
than one epoch, so its intervals must not narrow."""

from __future__ import annotations

import numpy as np

from benchwarden.bench.writing.prompts import PAIRWISE_VERSION
from benchwarden.bench.writing.summary import writing_summary
from benchwarden.store import JudgmentRecord, RunRecord, SampleRecord

MODELS = ["lab/a", "lab/b"]
ITEMS = 60


def _judgments(epochs: int) -> list[JudgmentRecord]:
    rng = np.random.default_rng(7)
    picks = rng.choice(["A>B", "B>A", "A=B"], size=ITEMS, p=[0.35, 0.5, 0.15])
    mirror = {"A>B": "B>A", "B>A": "A>B", "A=B": "A=B"}
    out = []
    for epoch in range(epochs):
        for i, verdict in enumerate(picks):
            for a, b, v in ((*MODELS, verdict), (*reversed(MODELS), mirror[str(verdict)])):
                out.append(
                    JudgmentRecord(
                        "r",
                        "writing",
                        f"w{i}",
                        epoch,
                        "judge/j",
                        "pairwise",
                        a,
                        b,
                        "ok",
                        PAIRWISE_VERSION,
                        v,
                    )
                )
    return out


def _samples(epochs: int) -> list[SampleRecord]:
    return [
        SampleRecord("r", m, "writing", f"w{i}", e, "ok", answer="x" * (10 + i))
        for m in MODELS
        for i in range(ITEMS)
        for e in range(epochs)
    ]


def _widths(epochs: int) -> tuple[float, float]:
    run = RunRecord("r", "benchmarking", 1, ["writing"], MODELS, {"judges": ["judge/j"]})
    summary = writing_summary(run, _samples(epochs), _judgments(epochs), bootstrap=300)
    assert summary is not None and summary.ratings is not None
    rating = summary.ratings.raw[1]
    win = summary.win_rates[0].rate
    return rating.high - rating.low, win.high - win.low


def test_repeating_epochs_does_not_narrow_the_intervals() -> None:
    one_rating, one_win = _widths(1)
    two_rating, two_win = _widths(2)
    assert one_rating > 0 and one_win > 0
    # Grouped by (suite, item) the two runs are the same data: equal widths. Grouped by
    # epoch too, the second would be about 1/sqrt(2) = 0.71 as wide.
    assert two_rating / one_rating > 0.9
    assert two_win / one_win > 0.9
