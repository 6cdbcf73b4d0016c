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

from benchwarden.bench.data import DATA_FILES
from benchwarden.bench.refusal.classifier import RefusalClassifier, default_params_path

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "train_refusal_classifier.py"
METRICS = default_params_path().parent / "metrics.json"
TOLERANCE = {"pooled": 0.005, "per_model": 0.01}
"""Pooled rates within 0.005 (9 of 1,800 rows); per-model within 0.01 (4 of 450 rows)."""
RATES = ("binary_agreement", "three_class_agreement", "kappa_binary", "kappa_three_class")
LABELERS = ("classifier", "string_match", "gpt4_label")


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


def test_fresh_run_reproduces_the_reported_metrics(
    fresh: dict[str, Any], committed: dict[str, Any]
) -> None:
    assert fresh["data"] == committed["data"]
    assert fresh["rows"] == committed["rows"]
    assert fresh["selection"]["final"] == committed["selection"]["final"]
    for labeler in LABELERS:
        now, then = _scopes(fresh["lomo"][labeler]), _scopes(committed["lomo"][labeler])
        assert now.keys() == then.keys()
        for scope in now:
            assert now[scope]["n"] == then[scope]["n"]
            for rate in RATES:
                tolerance = TOLERANCE["pooled" if scope == "pooled" else "per_model"]
                assert now[scope][rate] == pytest.approx(then[scope][rate], abs=tolerance), (
                    labeler,
                    scope,
                    rate,
                )
            if labeler != "classifier":  # no fitting involved: exactly the same
                assert now[scope]["confusion"] == then[scope]["confusion"]


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
    expected = fitted.proba(design.X)
    shipped = RefusalClassifier.from_file(default_params_path())
    got = shipped.predict_proba([(r.prompt, r.response) for r in rows])
    assert np.abs(got - expected).max() < 2e-3
    assert (got.argmax(axis=1) == expected.argmax(axis=1)).mean() >= 0.995
    assert shipped.spec.dense_scale == committed["selection"]["final"]["dense_scale"]
