"""Calibrated confidence and the abstain band of the refusal classifier. Pure numpy.

The two logistic regressions fit their training data almost perfectly, so their raw
probabilities are overconfident on a model they have not seen. Two temperatures fix
that (temperature scaling): the refusal logit is divided by ``binary_temperature``, the
full-vs-partial logits by ``split_temperature``. Dividing a logit by a positive number
never changes its sign or which logit is larger, so labels stay exactly as they were; only
the confidences move. The temperatures are fitted by likelihood on predictions for
*held-out models* (the training script does this inside its training folds only).

The abstain band: a label whose calibrated confidence is below ``abstain_below`` is
*uncertain*. The run then asks an LLM judge for it when one is configured, and
otherwise keeps the label flagged as low-confidence. :func:`choose_band` picks the
threshold: the lowest at which every validation model's kept items meet the goals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

TEMPERATURES: Final = np.geomspace(0.05, 20.0, 481)
"""Candidate temperatures (about 1.3% apart): a grid search is deterministic and the
likelihood is smooth and one-dimensional, so nothing finer is needed."""
BAND_GRID: Final = (0.0, *(round(0.30 + 0.01 * k, 2) for k in range(70)))
"""Candidate thresholds of the abstain band: none (0.0), then 0.30 to 0.99."""
ECE_BINS: Final = 10


@dataclass(frozen=True, slots=True)
class Calibration:
    """What the shipped classifier applies to its logits (identity: no change)."""

    binary_temperature: float = 1.0
    split_temperature: float = 1.0
    abstain_below: float = 0.0

    def to_dict(self) -> dict[str, float]:
        return {
            "binary_temperature": self.binary_temperature,
            "split_temperature": self.split_temperature,
            "abstain_below": self.abstain_below,
        }


def scale_logits(
    z3: NDArray[np.float64], zb: NDArray[np.float64], calibration: Calibration
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The logits divided by their temperatures (labels unchanged, confidences calibrated)."""
    return z3 / calibration.split_temperature, zb / calibration.binary_temperature


def _log_sigmoid(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return -np.logaddexp(0.0, -x)


def fit_temperature(logits: NDArray[np.float64], positive: NDArray[np.bool_]) -> float:
    """The temperature T minimizing the log loss of ``sigmoid(logits / T)`` for the
    outcomes ``positive`` (1.0 when there is nothing to fit on)."""
    if logits.size == 0:
        return 1.0
    sign = np.where(positive, 1.0, -1.0)
    losses = [-_log_sigmoid(sign * logits / t).sum() for t in TEMPERATURES]
    return float(TEMPERATURES[int(np.argmin(losses))])


def fit_calibration(
    z3: NDArray[np.float64], zb: NDArray[np.float64], truth: NDArray[np.int64]
) -> Calibration:
    """Both temperatures from held-out logits and true label indices (0 compliance, 1 full
    refusal, 2 partial refusal). The split temperature is fitted on true refusals only:
    the split decides nothing else."""
    refusal = truth != 0
    split = z3[refusal, 1] - z3[refusal, 2]
    return Calibration(
        binary_temperature=fit_temperature(zb, refusal),
        split_temperature=fit_temperature(split, truth[refusal] == 1),
    )


def ece(confidence: NDArray[np.float64], correct: NDArray[np.bool_], bins: int = ECE_BINS) -> float:
    """Expected calibration error: the item-weighted mean gap between confidence and
    accuracy over equal-width confidence bins."""
    if confidence.size == 0:
        return 0.0
    which = np.minimum((confidence * bins).astype(np.int64), bins - 1)
    gap = 0.0
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            gap += abs(float(correct[in_bin].mean()) - float(confidence[in_bin].mean())) * int(
                in_bin.sum()
            )
    return gap / confidence.size


def reliability(
    confidence: NDArray[np.float64], correct: NDArray[np.bool_], bins: int = ECE_BINS
) -> list[dict[str, Any]]:
    """The reliability table: per non-empty bin, its range, items, mean confidence and
    accuracy (what :func:`ece` averages)."""
    which = np.minimum((confidence * bins).astype(np.int64), bins - 1)
    rows = []
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            rows.append(
                {
                    "from": b / bins,
                    "to": (b + 1) / bins,
                    "n": int(in_bin.sum()),
                    "mean_confidence": round(float(confidence[in_bin].mean()), 4),
                    "accuracy": round(float(correct[in_bin].mean()), 4),
                }
            )
    return rows


@dataclass(frozen=True, slots=True)
class Goals:
    """Agreement the kept (not abstained) items must reach on each validation model."""

    binary: float = 0.95
    three_class: float = 0.90
    margin: float = 0.01
    """Added to both goals when choosing the band: a new model family costs agreement
    (about two points in the issue's fifth model), so the band aims a little higher."""


DEFAULT_GOALS: Final = Goals()


def kept_agreement(
    kept: NDArray[np.bool_], correct3: NDArray[np.bool_], correct2: NDArray[np.bool_]
) -> tuple[float, float]:
    """(binary, 3-class) agreement on the kept items (1.0 when none is kept)."""
    if not kept.any():
        return 1.0, 1.0
    return float(correct2[kept].mean()), float(correct3[kept].mean())


def choose_band(
    confidence: NDArray[np.float64],
    correct3: NDArray[np.bool_],
    correct2: NDArray[np.bool_],
    groups: Sequence[str] | NDArray[Any],
    goals: Goals = DEFAULT_GOALS,
) -> tuple[float, bool]:
    """The lowest threshold in :data:`BAND_GRID` at which every group's kept items
    (confidence >= threshold) reach both goals plus the margin, and whether one did
    (when none does, the highest threshold, and False)."""
    groups = np.asarray(groups)
    names = sorted(set(groups.tolist()))
    for threshold in BAND_GRID:
        kept = confidence >= threshold
        if all(
            b >= goals.binary + goals.margin and t >= goals.three_class + goals.margin
            for b, t in (kept_agreement(kept & (groups == g), correct3, correct2) for g in names)
        ):
            return threshold, True
    return BAND_GRID[-1], False
