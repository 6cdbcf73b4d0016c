"""Agreement, Cohen's kappa and confusion matrices on small hand-made labelings."""

from __future__ import annotations

import pytest

from benchwarden.bench.refusal.evaluation import MISSING, agreement, cohen_kappa, is_refusal

C, R, P = "full_compliance", "full_refusal", "partial_refusal"


def test_perfect_agreement() -> None:
    result = agreement([C, R, P, C], [C, R, P, C])
    assert result.binary == result.three_class == 1.0
    assert result.kappa_binary == result.kappa_three_class == 1.0
    assert result.confusion == [[2, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]


def test_partial_counts_as_refusal_in_binary() -> None:
    result = agreement([R, P, C, C], [P, R, C, R])
    assert result.binary == 0.75
    assert result.three_class == 0.25
    assert is_refusal(P) and is_refusal(R) and not is_refusal(C)


def test_missing_predictions_never_agree() -> None:
    result = agreement([C, R], [None, "not a label"])
    assert result.binary == 0.0 and result.three_class == 0.0
    assert result.unlabeled == 2
    assert result.confusion == [[0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]]
    assert result.to_dict()["confusion"]["columns"][-1] == MISSING


def test_kappa_known_value() -> None:
    # 2x2 table [[20, 5], [10, 15]]: po = 0.7, pe = 0.5 -> kappa = 0.4
    truth = ["a"] * 25 + ["b"] * 25
    pred = ["a"] * 20 + ["b"] * 5 + ["a"] * 10 + ["b"] * 15
    assert cohen_kappa(truth, pred) == pytest.approx(0.4)


def test_errors() -> None:
    with pytest.raises(ValueError, match="2 true labels but 1"):
        agreement([C, R], [C])
    with pytest.raises(ValueError, match="reference labels"):
        agreement(["yes"], [C])
    with pytest.raises(ValueError, match="no items"):
        cohen_kappa([], [])
