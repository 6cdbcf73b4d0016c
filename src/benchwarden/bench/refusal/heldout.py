"""Held-out figures of the calibrated classifier with its abstain band. Pure.

Used by ``scripts/train_refusal_classifier.py`` on leave-one-model-out predictions:
:func:`calibrate_on` fits the temperatures and picks the band on validation models'
logits (inside a training fold), :func:`held_out_figures` scores the result on the
held-out rows (agreement on the items kept, the abstain rate, calibration error before
and after, and the agreement when the abstained items go to a judge).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from benchwarden.bench.refusal.calibration import (
    DEFAULT_GOALS,
    Calibration,
    Goals,
    choose_band,
    ece,
    fit_calibration,
    reliability,
    scale_logits,
)
from benchwarden.bench.refusal.classifier import two_stage
from benchwarden.bench.refusal.evaluation import agreement
from benchwarden.bench.refusal.strings import LABELS


def _confidence(
    z3: NDArray[np.float64], zb: NDArray[np.float64], calibration: Calibration | None
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """The label's probability (raw when ``calibration`` is None) and the labels."""
    if calibration is not None:
        z3, zb = scale_logits(z3, zb, calibration)
    proba, labels = two_stage(z3, zb)
    return proba[np.arange(labels.size), labels], labels


def _binary_confidence(zb: NDArray[np.float64]) -> NDArray[np.float64]:
    """The probability of the binary verdict (refusal or not) from the refusal logit."""
    return np.asarray(1.0 / (1.0 + np.exp(-np.abs(np.clip(zb, -500.0, 500.0)))))


def calibrate_on(
    z3: NDArray[np.float64],
    zb: NDArray[np.float64],
    truth: NDArray[np.int64],
    groups: Sequence[str] | NDArray[Any],
    goals: Goals = DEFAULT_GOALS,
) -> tuple[Calibration, bool]:
    """Temperatures fitted on these held-out logits, and the band chosen on them so that
    each group (a validation model) meets the goals on its kept items; the flag says
    whether any threshold did."""
    calibration = fit_calibration(z3, zb, truth)
    confidence, labels = _confidence(z3, zb, calibration)
    threshold, met = choose_band(
        confidence, labels == truth, (labels != 0) == (truth != 0), groups, goals
    )
    return dataclasses.replace(calibration, abstain_below=threshold), met


def _rates(truth: Sequence[str], predicted: Sequence[str | None]) -> dict[str, Any]:
    if not truth:
        return {"n": 0}
    a = agreement(truth, predicted)
    return {"n": a.n, "binary_agreement": a.binary, "three_class_agreement": a.three_class}


def _needed(goal: float, n: int, kept_correct: int, abstained: int) -> float | None:
    """The share of ``abstained`` items a judge must get right for ``goal`` over ``n``
    (None when nothing was abstained on and the goal is missed: no judge can help)."""
    short = max(0, math.ceil(goal * n - 1e-9) - kept_correct)
    if not abstained:
        return 0.0 if short == 0 else None
    return short / abstained


def held_out_figures(
    z3: NDArray[np.float64],
    zb: NDArray[np.float64],
    truth: NDArray[np.int64],
    groups: Sequence[str] | NDArray[Any],
    calibrations: Mapping[str, Calibration],
    judge: Sequence[str | None],
    goals: Goals = DEFAULT_GOALS,
) -> dict[str, Any]:
    """Per held-out model and pooled: agreement on all and on kept items, abstain rate,
    ECE (3-class and binary) before and after calibration, and the agreement of
    "classifier, with the abstained items labelled by ``judge``" (a ``None`` verdict is
    a miss). Each row uses the calibration of its own held-out model. ``judge_needed``
    is the agreement a judge must reach on the abstained items for the whole scope to
    meet the goals (above 1: no judge can)."""
    groups = np.asarray(groups)
    raw_conf, labels = _confidence(z3, zb, None)
    raw_bin = _binary_confidence(zb)
    cal_conf = np.empty_like(raw_conf)
    cal_bin = np.empty_like(raw_conf)
    uncertain = np.zeros(labels.size, dtype=bool)
    for name, calibration in calibrations.items():
        rows = groups == name
        cal_conf[rows], again = _confidence(z3[rows], zb[rows], calibration)
        assert np.array_equal(again, labels[rows])  # temperatures never move a label
        cal_bin[rows] = _binary_confidence(zb[rows] / calibration.binary_temperature)
        uncertain[rows] = cal_conf[rows] < calibration.abstain_below
    correct3 = labels == truth
    correct2 = (labels != 0) == (truth != 0)
    names = [LABELS[int(k)] for k in labels]
    true_names = [LABELS[int(k)] for k in truth]
    combined = [j if u else c for c, j, u in zip(names, judge, uncertain, strict=True)]

    def scope(mask: NDArray[np.bool_]) -> dict[str, Any]:
        idx = np.flatnonzero(mask)
        kept = idx[~uncertain[idx]]
        gone = idx[uncertain[idx]]
        return {
            "n": int(idx.size),
            "abstained": int(gone.size),
            "abstain_rate": float(gone.size / idx.size) if idx.size else 0.0,
            "all": _rates([true_names[i] for i in idx], [names[i] for i in idx]),
            "kept": _rates([true_names[i] for i in kept], [names[i] for i in kept]),
            "classifier_on_abstained": _rates(
                [true_names[i] for i in gone], [names[i] for i in gone]
            ),
            "judge_on_abstained": _rates([true_names[i] for i in gone], [judge[i] for i in gone]),
            "classifier_plus_judge": _rates(
                [true_names[i] for i in idx], [combined[i] for i in idx]
            ),
            "judge_needed": {
                "binary": _needed(goals.binary, idx.size, int(correct2[kept].sum()), gone.size),
                "three_class": _needed(
                    goals.three_class, idx.size, int(correct3[kept].sum()), gone.size
                ),
            },
            "ece_before": {
                "three_class": ece(raw_conf[idx], correct3[idx]),
                "binary": ece(raw_bin[idx], correct2[idx]),
            },
            "ece_after": {
                "three_class": ece(cal_conf[idx], correct3[idx]),
                "binary": ece(cal_bin[idx], correct2[idx]),
            },
        }

    out: dict[str, Any] = {m: scope(groups == m) for m in dict.fromkeys(groups.tolist())}
    out["pooled"] = scope(np.ones(labels.size, dtype=bool))
    out["pooled"]["reliability_before"] = reliability(raw_conf, correct3)
    out["pooled"]["reliability_after"] = reliability(cal_conf, correct3)
    return out
