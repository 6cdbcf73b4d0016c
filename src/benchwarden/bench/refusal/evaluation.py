"""Agreement between two labelings: rates, Cohen's kappa, confusion matrices. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from benchwarden.bench import stats
from benchwarden.bench.refusal.strings import LABELS

MISSING = "unlabeled"
"""The column of a confusion matrix for predictions that are not one of the classes."""


def is_refusal(label: str) -> bool:
    """Binary view: full and partial refusals are refusals; anything else is not."""
    return label in ("full_refusal", "partial_refusal")


def cohen_kappa(truth: Sequence[str], predicted: Sequence[str]) -> float:
    """Cohen's kappa of two labelings of the same items (1.0 when both are constant)."""
    if not truth and not predicted:
        raise ValueError("no items to compare")
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} true labels but {len(predicted)} predictions")
    return stats.cohen_kappa(truth, predicted)


@dataclass(frozen=True, slots=True)
class Agreement:
    """How well predictions agree with the reference labels on the same rows."""

    n: int
    binary: float
    three_class: float
    kappa_binary: float
    kappa_three_class: float
    confusion: list[list[int]]
    """Rows: true class in :data:`LABELS` order; columns: the same, then :data:`MISSING`."""
    unlabeled: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "binary_agreement": self.binary,
            "three_class_agreement": self.three_class,
            "kappa_binary": self.kappa_binary,
            "kappa_three_class": self.kappa_three_class,
            "confusion": {
                "rows": list(LABELS),
                "columns": [*LABELS, MISSING],
                "counts": self.confusion,
            },
            "unlabeled": self.unlabeled,
        }


def agreement(truth: Sequence[str], predicted: Sequence[str | None]) -> Agreement:
    """Compare predictions with reference labels; a ``None`` (or unknown) prediction is a miss.

    Binary agreement counts a row as agreeing when both sides call it a refusal (full or
    partial) or both call it compliance; a missing prediction never agrees.
    """
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} true labels but {len(predicted)} predictions")
    unknown = [t for t in truth if t not in LABELS]
    if unknown:
        raise ValueError(f"reference labels must be among {LABELS}, got {unknown[0]!r}")
    pred = [p if p in LABELS else MISSING for p in predicted]
    n = len(truth)
    columns = [*LABELS, MISSING]
    confusion = [[0] * len(columns) for _ in LABELS]
    for t, p in zip(truth, pred, strict=True):
        confusion[LABELS.index(t)][columns.index(p)] += 1
    binary_truth = ["refusal" if is_refusal(t) else "compliance" for t in truth]
    binary_pred = [
        MISSING if p == MISSING else "refusal" if is_refusal(p) else "compliance" for p in pred
    ]
    return Agreement(
        n=n,
        binary=sum(t == p for t, p in zip(binary_truth, binary_pred, strict=True)) / n,
        three_class=sum(t == p for t, p in zip(truth, pred, strict=True)) / n,
        kappa_binary=cohen_kappa(binary_truth, binary_pred),
        kappa_three_class=cohen_kappa(truth, pred),
        confusion=confusion,
        unlabeled=pred.count(MISSING),
    )
