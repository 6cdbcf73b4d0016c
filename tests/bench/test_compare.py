"""The comparison over samples: items as the unit, errors apart, pass@k, paired tests."""

from __future__ import annotations

import math

import pytest

from benchwarden.bench.compare import compare_run
from benchwarden.bench.stats import pass_at_k
from benchwarden.store import SampleRecord


def sample(
    model: str, item: str, epoch: int, passed: bool | None, status: str = "ok", **detail: object
) -> SampleRecord:
    return SampleRecord(
        run_id="r",
        model=model,
        suite="s",
        item_id=item,
        epoch=epoch,
        status=status,
        score=None if passed is None else float(passed),
        passed=passed,
        score_detail=dict(detail),
    )


def test_epochs_are_averaged_per_item_and_errors_kept_apart() -> None:
    samples = [
        sample("a", "i1", 0, True),
        sample("a", "i1", 1, False),
        sample("a", "i2", 0, True),
        sample("a", "i2", 1, True),
        sample("a", "i3", 0, None, status="error"),
    ]
    report = compare_run("r", samples, ["a"], ["s"])
    score = report.scores[0]
    assert score.items == 2 and score.errors == 1 and score.samples == 5
    assert score.score.estimate == pytest.approx(0.75)  # mean of 0.5 and 1.0


def test_pass_at_k_matches_the_unbiased_estimator() -> None:
    samples = []
    for item, passes in (("i1", 1), ("i2", 3), ("i3", 0)):
        samples += [sample("a", item, e, e < passes) for e in range(5)]
    report = compare_run("r", samples, ["a"], ["s"])
    got = report.scores[0].pass_at_k
    assert set(got) == {"pass@1", "pass@5"}  # pass@10 needs 10 samples per item
    for k in (1, 5):
        expected = sum(pass_at_k(5, c, k) for c in (1, 3, 0)) / 3
        assert got[f"pass@{k}"] == pytest.approx(expected)


def test_base_and_plus_are_reported_apart() -> None:
    samples = [
        sample("a", "i1", 0, False, base_passed=True, plus_passed=False),
        sample("a", "i2", 0, True, base_passed=True, plus_passed=True),
    ]
    parts = compare_run("r", samples, ["a"], ["s"]).scores[0].parts
    assert parts["base"].estimate == 1.0 and parts["plus"].estimate == 0.5


def test_pairs_use_only_shared_items() -> None:
    samples = [sample("a", f"i{i}", 0, True) for i in range(10)]
    samples += [sample("b", f"i{i}", 0, i % 2 == 0) for i in range(8)]
    pair = compare_run("r", samples, ["a", "b"], ["s"]).pairs[0].comparison
    assert pair.n == 8 and pair.test == "mcnemar-exact"
    assert pair.mean_difference == pytest.approx(0.5) and pair.a_wins == 4
    report = compare_run("r", samples, ["a", "b"], ["s"]).to_dict()
    assert not any(
        isinstance(v, float) and math.isnan(v) for v in report["scores"][0]["score"].values()
    )
