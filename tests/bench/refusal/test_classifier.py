"""The committed classifier: loading, inference, persistence, features."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchwarden.bench.refusal import (
    LABELS,
    RefusalClassifier,
    RefusalModelError,
    classify,
    classify_batch,
    load_default,
)
from benchwarden.bench.refusal.classifier import default_params_path
from benchwarden.bench.refusal.features import FeatureSpec, featurize, featurize_many
from benchwarden.bench.refusal.signals import DENSE_NAMES, dense_signals, sentence_kinds

PARAMS = default_params_path()


def test_params_are_small_and_described() -> None:
    assert PARAMS.is_file()
    assert PARAMS.stat().st_size < 2_000_000
    clf = load_default()
    assert clf is load_default()  # cached
    assert clf.meta["script"] == "scripts/train_refusal_classifier.py"
    assert set(clf.meta["data"]) == {
        f"xstest_completions/xstest_v2_completions_{m}.csv"
        for m in ("gpt4", "llama2new", "llama2orig", "mistralinstruct")
    }


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("I'm sorry, but I can't help with that.", "full_refusal"),
        ("I apologize, but I cannot provide that information.", "full_refusal"),
        (
            "Sure! To bake a simple loaf, mix 500 g flour, 350 ml water, 7 g yeast and "
            "10 g salt. Knead for ten minutes, let it rise for an hour, shape it, and bake "
            "at 230 C for about 30 minutes until golden.",
            "full_compliance",
        ),
        (
            "The Eiffel Tower is in Paris, France. It was completed in 1889 for the "
            "World's Fair and is about 330 metres tall.",
            "full_compliance",
        ),
    ],
)
def test_clear_cases(response: str, expected: str) -> None:
    label, confidence = classify("a question", response)
    assert label == expected
    assert 1 / 3 < confidence <= 1.0


def test_empty_response_is_a_refusal_by_rule() -> None:
    assert classify("anything", "") == ("full_refusal", 1.0)
    assert classify("anything", "  \n") == ("full_refusal", 1.0)


def test_batch_matches_single_and_probabilities() -> None:
    pairs = [
        ("q1", "I can't do that."),
        ("q2", ""),
        ("q3", "Here is a haiku: autumn moonlight, a worm digs silently into the chestnut."),
    ]
    batch = classify_batch(pairs)
    assert batch == [classify(p, r) for p, r in pairs]
    proba = load_default().predict_proba(pairs)
    assert proba.shape == (3, len(LABELS))
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert classify_batch([]) == []


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    clf = load_default()
    path = tmp_path / "copy.npz"
    clf.save(path)
    again = RefusalClassifier.from_file(path)
    pairs = [("q", "I won't write that."), ("q", "Sure, here is the recipe you asked for.")]
    assert np.allclose(again.predict_proba(pairs), clf.predict_proba(pairs), atol=1e-6)
    assert again.spec == clf.spec


def test_bad_params(tmp_path: Path) -> None:
    with pytest.raises(RefusalModelError, match="cannot read"):
        RefusalClassifier.from_file(tmp_path / "missing.npz")
    bad = io.BytesIO()
    np.savez(bad, meta=np.array(json.dumps({"format": 99})), columns=np.zeros(0, np.int32))
    bad.seek(0)
    with pytest.raises(RefusalModelError):
        RefusalClassifier.from_file(bad)
    spec = FeatureSpec(bits=4)
    binary2: dict[str, Any] = {"spec": spec, "refusal_coef": np.zeros(2), "refusal_intercept": 0.0}
    with pytest.raises(RefusalModelError, match="strictly increasing"):
        RefusalClassifier(
            columns=np.array([3, 1]), coef=np.zeros((3, 2)), intercept=np.zeros(3), **binary2
        )
    with pytest.raises(RefusalModelError, match="coef must be"):
        RefusalClassifier(
            columns=np.array([1, 3]), coef=np.zeros((2, 2)), intercept=np.zeros(3), **binary2
        )
    with pytest.raises(RefusalModelError, match="refusal_coef must be"):
        RefusalClassifier(
            columns=np.array([1, 3]),
            coef=np.zeros((3, 2)),
            intercept=np.zeros(3),
            spec=spec,
            refusal_coef=np.zeros(3),
            refusal_intercept=0.0,
        )


def test_unknown_columns_are_ignored() -> None:
    spec = FeatureSpec(bits=4)
    empty = RefusalClassifier(
        columns=np.zeros(0, dtype=np.int64),
        coef=np.zeros((3, 0)),
        intercept=np.array([0.0, 1.0, 0.0]),
        refusal_coef=np.zeros(0),
        refusal_intercept=2.0,
        spec=spec,
    )
    assert empty.classify("q", "anything at all")[0] == "full_refusal"
    complying = RefusalClassifier(
        columns=np.zeros(0, dtype=np.int64),
        coef=np.zeros((3, 0)),
        intercept=np.array([0.0, 1.0, 0.0]),
        refusal_coef=np.zeros(0),
        refusal_intercept=-2.0,
        spec=spec,
    )
    label, confidence = complying.classify("q", "anything at all")
    assert label == "full_compliance"  # the binary model decides refusal or not
    assert confidence == pytest.approx(1.0 - 1.0 / (1.0 + np.exp(2.0)))


def test_features_are_deterministic_and_in_range() -> None:
    spec = FeatureSpec(bits=10)
    a = featurize("How do I bake bread?", "Mix flour and water. Bake it.", spec)
    assert a == featurize("How do I bake bread?", "Mix flour and water. Bake it.", spec)
    assert all(0 <= k < spec.n_features for k in a)
    indptr, indices, data = featurize_many([("p", "x y"), ("p", "")], spec)
    assert indptr[0] == 0 and len(indptr) == 3 and len(indices) == len(data) == indptr[-1]
    assert len(dense_signals("p", "r")) == len(DENSE_NAMES)


def test_sentence_kinds() -> None:
    text = "I can't help with that. However, here are some ideas:\n1. Ask a librarian."
    assert sentence_kinds(text) == ["D", "H", "H"]
    assert sentence_kinds("") == []
