"""Calibration and the abstain band: temperature fitting, ECE, band choice, and what the
classifier reports with them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchwarden.bench.refusal import RefusalClassifier
from benchwarden.bench.refusal.calibration import (
    BAND_GRID,
    Calibration,
    Goals,
    choose_band,
    ece,
    fit_calibration,
    fit_temperature,
    reliability,
    scale_logits,
)
from benchwarden.bench.refusal.classifier import two_stage
from benchwarden.bench.refusal.features import FeatureSpec
from benchwarden.bench.refusal.heldout import held_out_figures


def test_fit_temperature_recovers_an_overconfident_scale() -> None:
    rng = np.random.default_rng(3)
    logits = rng.normal(0.0, 4.0, 20_000)
    # The outcomes follow sigmoid(logits / 2.5): the logits are 2.5 times too confident.
    positive = rng.random(logits.size) < 1.0 / (1.0 + np.exp(-logits / 2.5))
    assert fit_temperature(logits, positive) == pytest.approx(2.5, rel=0.08)
    # Logits that are already right stay near 1.
    honest = rng.random(logits.size) < 1.0 / (1.0 + np.exp(-logits))
    assert fit_temperature(logits, honest) == pytest.approx(1.0, rel=0.08)
    assert fit_temperature(np.zeros(0), np.zeros(0, dtype=bool)) == 1.0


def test_temperatures_never_change_a_label() -> None:
    rng = np.random.default_rng(5)
    z3, zb = rng.normal(0, 3, (500, 3)), rng.normal(0, 3, 500)
    raw, labels = two_stage(z3, zb)
    truth = rng.integers(0, 3, 500)
    calibration = fit_calibration(z3, zb, truth)
    scaled, again = two_stage(*scale_logits(z3, zb, calibration))
    assert np.array_equal(labels, again)
    # Random labels: the fit flattens the confidences (a large temperature).
    assert calibration.binary_temperature > 3 and calibration.split_temperature > 3
    assert scaled.max(axis=1).mean() < raw.max(axis=1).mean()


def test_ece_and_reliability_by_hand() -> None:
    confidence = np.array([0.95, 0.95, 0.55, 0.55])
    correct = np.array([True, False, True, True])
    # Bin 0.9-1.0: accuracy 0.5 at confidence 0.95; bin 0.5-0.6: accuracy 1 at 0.55.
    assert ece(confidence, correct) == pytest.approx(0.45)
    table = reliability(confidence, correct)
    assert [(r["from"], r["n"], r["accuracy"]) for r in table] == [(0.5, 2, 1.0), (0.9, 2, 0.5)]
    assert ece(np.zeros(0), np.zeros(0, dtype=bool)) == 0.0
    rng = np.random.default_rng(1)
    p = rng.uniform(0.5, 1.0, 50_000)
    assert ece(p, rng.random(p.size) < p) < 0.01  # calibrated by construction


def test_band_is_the_lowest_threshold_meeting_the_goals_on_every_group() -> None:
    # Group a: everything right. Group b: right above 0.8, wrong below.
    confidence = np.array([0.9, 0.6, 0.95, 0.85, 0.7, 0.5])
    correct = np.array([True, True, True, True, False, False])
    groups = np.array(["a", "a", "b", "b", "b", "b"])
    threshold, met = choose_band(confidence, correct, correct, groups, Goals(0.95, 0.9, 0.0))
    assert (threshold, met) == (0.71, True)
    # Nothing kept counts as meeting the goals, so the answer is never "impossible" for
    # lack of items; an impossible goal (above 1) gives the highest threshold and False.
    assert choose_band(confidence, correct, correct, groups, Goals(1.01, 0.9, 0.0)) == (
        BAND_GRID[-1],
        False,
    )
    everything = np.ones(6, dtype=bool)
    assert choose_band(confidence, everything, everything, groups) == (0.0, True)


def test_held_out_figures_count_abstentions_and_the_judge() -> None:
    # Two rows: a sure refusal (right) and an unsure compliance (wrong; truth refusal).
    z3 = np.array([[0.0, 4.0, 0.0], [0.0, 0.0, 0.0]])
    zb = np.array([6.0, -0.2])
    truth = np.array([1, 1])
    band = Calibration(abstain_below=0.8)
    figures = held_out_figures(
        z3, zb, truth, ["m", "m"], {"m": band}, ["full_compliance", "full_refusal"]
    )
    m = figures["m"]
    assert m["n"] == 2 and m["abstained"] == 1 and m["abstain_rate"] == 0.5
    assert m["kept"]["three_class_agreement"] == 1.0
    assert m["all"]["three_class_agreement"] == 0.5
    assert m["classifier_on_abstained"]["binary_agreement"] == 0.0
    assert m["judge_on_abstained"]["three_class_agreement"] == 1.0
    assert m["classifier_plus_judge"]["three_class_agreement"] == 1.0
    # 0.95 of 2 rows needs both right: the judge must get the one abstained item right.
    assert m["judge_needed"] == {"binary": 1.0, "three_class": 1.0}
    lenient = held_out_figures(
        z3, zb, truth, ["m", "m"], {"m": band}, [None, None], Goals(0.5, 0.5, 0.0)
    )
    assert lenient["m"]["judge_needed"] == {"binary": 0.0, "three_class": 0.0}
    assert figures["pooled"]["abstained"] == 1


def _constant(refusal_logit: float, calibration: Calibration) -> RefusalClassifier:
    return RefusalClassifier(
        columns=np.zeros(0, dtype=np.int64),
        coef=np.zeros((3, 0)),
        intercept=np.array([0.0, 1.0, 0.0]),
        refusal_coef=np.zeros(0),
        refusal_intercept=refusal_logit,
        spec=FeatureSpec(bits=4),
        calibration=calibration,
    )


def test_classifier_reports_calibrated_confidence_and_abstains(tmp_path: Path) -> None:
    sure = _constant(-3.0, Calibration(binary_temperature=1.0, abstain_below=0.9))
    assessed = sure.assess("q", "some answer")
    assert assessed.label == "full_compliance" and not assessed.uncertain
    assert assessed.confidence == pytest.approx(1 / (1 + np.exp(-3.0)))
    # The same logit at temperature 3 is a 0.73 confidence: below the band.
    unsure = _constant(-3.0, Calibration(binary_temperature=3.0, abstain_below=0.9))
    assessed = unsure.assess("q", "some answer")
    assert assessed.label == "full_compliance" and assessed.uncertain
    assert assessed.confidence == pytest.approx(1 / (1 + np.exp(-1.0)))
    assert unsure.assess("q", " ").uncertain is False  # empty: a refusal by rule
    unsure.save(tmp_path / "p.npz")
    assert RefusalClassifier.from_file(tmp_path / "p.npz").calibration == unsure.calibration
