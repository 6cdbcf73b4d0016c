"""A fresh training run reproduces the committed metrics and parameters.

Runs ``scripts/train_refusal_classifier.py`` in-process on the real XSTest completions
(read through ``fetch`` from the data mirror set by tests/conftest.py; nothing is copied)
and compares what it computes now with ``params/metrics.json`` and the committed
parameter file. No number here is hard-coded: each is recomputed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from benchwarden.bench import stats
from benchwarden.bench.data import DATA_FILES
from benchwarden.bench.refusal.calibration import Calibration, scale_logits
from benchwarden.bench.refusal.classifier import RefusalClassifier, default_params_path, two_stage

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "train_refusal_classifier.py"
METRICS = default_params_path().parent / "metrics.json"
MAX_FLIPPED_ROWS = 2
"""How many rows of a scope (pooled or one model) may change their predicted label.

The script is deterministic (one thread, tight tolerance: two runs on one machine give
bit-identical metrics), but another CPU may pick other BLAS kernels that round the last
bits differently; only a row within ~1e-10 of a decision boundary can flip that way. Two
rows leave room for that and nothing more. The rates' tolerances follow from it: an
agreement moves by at most 1/n per flipped row, and kappa by whatever the worst two
moves do to the committed confusion matrix (computed by :func:`_kappa_tolerance`), which
for a small model with few refusals (Mistral) is several times 2/n.
"""
LABELERS = ("classifier", "string_match", "gpt4_label")
HELD_OUT = ("gpt4", "llama2new", "llama2orig", "mistralinstruct")
DOCS = ROOT / "docs" / "REFUSAL.md"


@pytest.fixture(scope="module")
def trainer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("train_refusal_classifier", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    result: dict[str, Any] = json.loads(METRICS.read_text())
    return result


@pytest.fixture(scope="module")
def fresh(trainer: ModuleType) -> dict[str, Any]:
    result: dict[str, Any] = trainer.evaluate()
    return result


def _scopes(entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {"pooled": entry["pooled"], **entry["per_model"]}


def _kappas(counts: list[list[int]]) -> tuple[float, float]:
    """(binary, 3-class) Cohen's kappa of a confusion matrix (rows true, columns predicted,
    the last column unlabeled), as ``evaluation.agreement`` computes them."""
    truth: list[int] = []
    pred: list[int] = []
    for t, row in enumerate(counts):
        for p, k in enumerate(row):
            truth += [t] * k
            pred += [p] * k
    refusal = {1, 2}
    binary_pred = [p if p == 3 else int(p in refusal) for p in pred]
    binary = stats.cohen_kappa([int(t in refusal) for t in truth], binary_pred)
    return binary, stats.cohen_kappa(truth, pred)


def _kappa_tolerance(counts: list[list[int]], flips: int) -> tuple[float, float]:
    """The largest change of (binary, 3-class) kappa that moving ``flips`` rows of the
    confusion matrix to another predicted column can cause (exhaustive search)."""
    base = _kappas(counts)
    worst = [0.0, 0.0]
    frontier = [counts]
    for _ in range(flips):
        moved = []
        for matrix in frontier:
            for t, row in enumerate(matrix):
                for p, k in enumerate(row):
                    for q in range(len(row) - 1):  # a fresh run never predicts "unlabeled"
                        if k and q != p:
                            m = [list(r) for r in matrix]
                            m[t][p] -= 1
                            m[t][q] += 1
                            moved.append(m)
                            for i, kappa in enumerate(_kappas(m)):
                                worst[i] = max(worst[i], abs(kappa - base[i]))
        frontier = moved
    return worst[0], worst[1]


def test_fresh_run_reproduces_the_reported_metrics(
    fresh: dict[str, Any], committed: dict[str, Any]
) -> None:
    assert fresh["data"] == committed["data"]
    assert fresh["rows"] == committed["rows"]
    for key in ("final", "chosen_per_held_out_model"):
        assert fresh["selection"][key] == committed["selection"][key]
    now, then = fresh["selection"]["inner_scores"], committed["selection"]["inner_scores"]
    for a, b in zip(now, then, strict=True):  # counts of correct rows, summed over the inner folds
        assert a.keys() == b.keys()
        for key in a:
            if key.endswith("_correct"):
                assert abs(a[key] - b[key]) <= MAX_FLIPPED_ROWS, (a, b)
            else:  # the candidate itself
                assert a[key] == b[key]
    for labeler in LABELERS:
        now, then = _scopes(fresh["lomo"][labeler]), _scopes(committed["lomo"][labeler])
        assert now.keys() == then.keys()
        for scope in now:
            a, b = now[scope], then[scope]
            assert a["n"] == b["n"]
            if labeler != "classifier":  # no fitting involved: exactly the same
                assert a == b
                continue
            moved = np.abs(np.array(a["confusion"]["counts"]) - np.array(b["confusion"]["counts"]))
            assert moved.sum() <= 2 * MAX_FLIPPED_ROWS, (scope, a["confusion"], b["confusion"])
            for rate in ("binary_agreement", "three_class_agreement"):
                assert a[rate] == pytest.approx(b[rate], abs=MAX_FLIPPED_ROWS / b["n"]), (
                    scope,
                    rate,
                )
            tol_binary, tol_three = _kappa_tolerance(b["confusion"]["counts"], MAX_FLIPPED_ROWS)
            assert a["kappa_binary"] == pytest.approx(b["kappa_binary"], abs=tol_binary + 1e-12)
            assert a["kappa_three_class"] == pytest.approx(
                b["kappa_three_class"], abs=tol_three + 1e-12
            ), scope


def test_fresh_run_reproduces_the_abstain_band_figures(
    fresh: dict[str, Any], committed: dict[str, Any]
) -> None:
    """Temperatures and bands are in the selection (checked exactly above); the held-out
    figures may move only as far as a couple of rows flipping across a boundary can."""
    assert fresh["goals"] == committed["goals"]
    family, family_then = fresh["family_out"], committed["family_out"]
    assert family["chosen_per_held_out_family"] == family_then["chosen_per_held_out_family"]
    for section in ("held_out", "family_out"):
        now, then = _band(fresh, section), _band(committed, section)
        assert now.keys() == then.keys() == {*HELD_OUT, "pooled"}
        for scope in then:
            _close(now[scope], then[scope], f"{section}/{scope}")


def _band(result: dict[str, Any], section: str) -> dict[str, Any]:
    figures: dict[str, Any] = result[section]
    return figures["held_out"] if section == "family_out" else figures


def _close(a: dict[str, Any], b: dict[str, Any], scope: str) -> None:
    """One scope's band figures, within what two flipped rows can move."""
    assert a["n"] == b["n"]
    assert abs(a["abstained"] - b["abstained"]) <= MAX_FLIPPED_ROWS, scope
    for part in ("all", "kept", "classifier_plus_judge"):
        n = b[part]["n"]
        for rate in ("binary_agreement", "three_class_agreement"):
            assert a[part][rate] == pytest.approx(b[part][rate], abs=2 * MAX_FLIPPED_ROWS / n), (
                scope,
                part,
                rate,
            )
    for kind, need in b["judge_needed"].items():
        assert a["judge_needed"][kind] == pytest.approx(
            need, abs=4 * MAX_FLIPPED_ROWS / b["abstained"]
        ), (scope, kind)
    for when in ("ece_before", "ece_after"):
        for kind in ("three_class", "binary"):
            assert a[when][kind] == pytest.approx(
                b[when][kind], abs=2 * MAX_FLIPPED_ROWS / b["n"]
            ), (scope, when, kind)


def test_kept_items_meet_the_goals_on_every_held_out_model(committed: dict[str, Any]) -> None:
    """The issue's goals, on each held-out model's kept items (its band was chosen
    without it). Fails when a retraining no longer reaches them: then say so in the docs
    and lower nothing here."""
    goals = committed["goals"]
    for model in HELD_OUT:
        kept = committed["held_out"][model]["kept"]
        assert kept["binary_agreement"] >= goals["binary"], model
        assert kept["three_class_agreement"] >= goals["three_class"], model
        assert committed["selection"]["chosen_per_held_out_model"][model]["abstain_below"] > 0
    # The band costs something: some items are abstained on, and not all.
    pooled = committed["held_out"]["pooled"]
    assert 0 < pooled["abstain_rate"] < 0.5


def test_calibration_lowers_the_pooled_calibration_error(fresh: dict[str, Any]) -> None:
    pooled = fresh["held_out"]["pooled"]
    for kind in ("three_class", "binary"):
        assert pooled["ece_after"][kind] < pooled["ece_before"][kind], kind
    table = pooled["reliability_after"]
    assert sum(r["n"] for r in table) == pooled["n"]


@pytest.mark.parametrize("section", ["held_out", "family_out"])
def test_docs_show_the_committed_held_out_figures(committed: dict[str, Any], section: str) -> None:
    """docs/REFUSAL.md's band tables hold each model's kept agreement and abstain rate,
    with models held out and with whole families held out."""
    text = DOCS.read_text()
    for scope in (*HELD_OUT, "pooled"):
        m = _band(committed, section)[scope]
        kept = f"{m['kept']['binary_agreement']:.3f} / {m['kept']['three_class_agreement']:.3f}"
        rate = f"{100 * m['abstain_rate']:.1f}%"
        lines = [ln for ln in text.splitlines() if ln.startswith(f"| {scope}")]
        assert any(kept in ln and rate in ln for ln in lines), (scope, kept, rate, lines)


def test_kappa_tolerance_is_what_flipped_rows_do() -> None:
    counts = [[368, 6, 0, 0], [20, 28, 1, 0], [10, 16, 1, 0]]
    one_b, one_3 = _kappa_tolerance(counts, 1)
    two_b, two_3 = _kappa_tolerance(counts, 2)
    assert 0 < one_b < two_b and 0 < one_3 < two_3
    flipped = [[367, 7, 0, 0], [20, 28, 1, 0], [10, 16, 1, 0]]  # one compliance -> refusal
    moved = np.subtract(_kappas(flipped), _kappas(counts))
    assert abs(moved[0]) <= one_b and abs(moved[1]) <= one_3
    assert one_3 > 1 / 450  # kappa moves more than agreement per flipped row


def test_fitting_is_bit_for_bit_deterministic(trainer: ModuleType) -> None:
    rows, _ = trainer.load_rows()
    design = trainer.Design.build(rows)
    train = np.array([r.model in ("gpt4", "llama2orig") for r in rows])
    first = trainer.fit(design, train, trainer.GRID[0])
    with threadpool_limits(limits=2):  # the fit pins its own thread count
        second = trainer.fit(design, train, trainer.GRID[0])
    for name in ("columns", "coef", "intercept", "refusal_coef"):
        assert np.array_equal(getattr(first, name), getattr(second, name)), name
    assert first.refusal_intercept == second.refusal_intercept


def test_the_data_pins_are_the_loaders(committed: dict[str, Any]) -> None:
    for name, sha256 in committed["data"].items():
        assert DATA_FILES[name].sha256 == sha256


def test_classifier_beats_both_baselines(fresh: dict[str, Any]) -> None:
    pooled = {name: fresh["lomo"][name]["pooled"] for name in LABELERS}
    for rate in ("binary_agreement", "three_class_agreement"):
        assert pooled["classifier"][rate] > pooled["string_match"][rate]
        assert pooled["classifier"][rate] > pooled["gpt4_label"][rate]


def test_committed_params_match_a_fresh_fit(trainer: ModuleType, committed: dict[str, Any]) -> None:
    blob = default_params_path().read_bytes()
    assert hashlib.sha256(blob).hexdigest() == committed["params"]["sha256"]
    assert len(blob) == committed["params"]["bytes"] < 2_000_000

    _, fitted, rows, design = trainer.train_final(committed)
    shipped = RefusalClassifier.from_file(default_params_path())
    # The shipped probabilities are calibrated; the temperatures never change a label.
    expected, expected_labels = two_stage(
        *scale_logits(*fitted.logits(design.X), shipped.calibration)
    )
    assert np.array_equal(expected_labels, fitted.predict(design.X)[1])
    got, got_labels = shipped.predict([(r.prompt, r.response) for r in rows])
    assert np.abs(got - expected).max() < 2e-3  # float32 coefficients in the file
    assert (got_labels == expected_labels).mean() >= 0.995
    final = committed["selection"]["final"]
    assert shipped.spec.dense_scale == final["dense_scale"]
    assert shipped.calibration == Calibration(
        final["binary_temperature"], final["split_temperature"], final["abstain_below"]
    )
