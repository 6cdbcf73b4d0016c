"""Train and evaluate the offline refusal classifier on the human-labeled XSTest completions.

    .venv/bin/python scripts/train_refusal_classifier.py            # evaluate, then write
    .venv/bin/python scripts/train_refusal_classifier.py --dry-run  # evaluate only
    .venv/bin/python scripts/train_refusal_classifier.py --prompt-disjoint  # a diagnostic

Reads the four ``xstest_completions`` files (gpt4, llama2new, llama2orig, mistralinstruct;
450 completions each) through :func:`benchwarden.bench.data.fetch` (set
``BENCHWARDEN_DATA_MIRROR`` to a folder holding them to work offline), then:

1. Evaluates leave-one-model-out (LOMO): for each model, the classifier is trained on the
   other three and scored on it against the human ``final_label``. Hyperparameters (the
   L2 strength ``C`` and the weight of the dense signals) are chosen *inside* each training
   fold, by an inner LOMO over its three models; the held-out model is never looked at.
   The string-matching baseline and the files' ``gpt4_label`` column are scored on the
   same rows.
   Inside each training fold, the inner held-out logits also fit the temperatures and
   choose the abstain band (``bench/refusal/calibration.py``); the held-out figures
   (agreement on kept items, abstain rate, ECE, classifier + GPT-4 judge) follow, and the
   same nested evaluation again with whole model families held out (Llama-2's two sets
   together).
2. Chooses the final hyperparameters by the inner scores pooled over all outer folds,
   fits on all four models, and writes ``params/refusal_classifier.npz`` and
   ``params/metrics.json`` into ``src/benchwarden/bench/refusal/``.

The classifier is two L2 logistic regressions on the same features: a binary one
(refusal, full or partial, against compliance) and a 3-class one that only splits
refusals into full and partial (``classifier.two_stage``). Both share ``(C, dense_scale)``.

Deterministic: no randomness anywhere (hashing is CRC-32; the solver is Newton-CG), every
fit runs on one BLAS/OpenMP thread (``threadpool_limits(1)``) so that no reduction order
depends on the machine's load or thread count, and the solver tolerance is tight enough
(``TOL``) that the fit is the optimum of a strictly convex problem, not wherever an early
stop happened to land. Running ``evaluate()`` twice gives bit-identical metrics.
Needs scikit-learn (a dev dependency); inference does not.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from benchwarden.bench.data import DATA_FILES, fetch, read_csv
from benchwarden.bench.refusal.calibration import DEFAULT_GOALS, Calibration
from benchwarden.bench.refusal.classifier import DEFAULT_PARAMS, RefusalClassifier, two_stage
from benchwarden.bench.refusal.evaluation import agreement
from benchwarden.bench.refusal.features import FeatureSpec, featurize_many
from benchwarden.bench.refusal.heldout import calibrate_on, held_out_figures
from benchwarden.bench.refusal.signals import declines, sentences
from benchwarden.bench.refusal.strings import LABELS, normalize, string_match_label

SCRIPT_VERSION = "3"
COMPLETION_MODELS = ("gpt4", "llama2new", "llama2orig", "mistralinstruct")
FAMILIES = {
    "gpt4": "gpt4",
    "llama2new": "llama2",
    "llama2orig": "llama2",
    "mistralinstruct": "mistral",
}
"""llama2new and llama2orig are one model (Llama-2-70b-chat) under two system prompts."""
PARAMS_DIR = Path(__file__).resolve().parent.parent / "src/benchwarden/bench/refusal/params"
METRICS_FILE = "metrics.json"

BASE_SPEC = FeatureSpec(dense_scale=1.0, kind_ngrams=3)
"""The features; ``dense_scale`` is set per candidate by scaling the dense columns."""
GRID: tuple[tuple[float, float], ...] = ((8.0, 1.5), (16.0, 3.0))
"""Candidates ``(C, dense_scale)``, in order of preference when scores tie. Two only: each
costs 12 inner fits of two models, and the test re-runs the whole nested evaluation."""
SHIFTS: tuple[float, ...] = (0.0, 0.5, 1.0)
"""Candidate shifts of the binary model's intercept (logits towards refusal). Chosen with
``(C, dense_scale)`` in the inner folds; equivalent to a refusal threshold below 0.5."""
TOL = 1e-8
"""Newton-CG stops when the largest gradient component is below this (sklearn's 1e-4
default leaves the fit path-dependent: rows near the boundary flipped between machines)."""
AUGMENT_WEIGHT = 0.5
GOALS = DEFAULT_GOALS
"""What the abstain band aims for on each validation model's kept items (with a margin)."""
"""Sample weight of the truncated refusals added to each training fold (see augment)."""


def data_name(model: str) -> str:
    return f"xstest_completions/xstest_v2_completions_{model}.csv"


# -- data ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    model: str
    item: str
    prompt: str
    response: str
    label: str
    gpt4_label: str | None
    """The GPT-4 judge's label, or None when the file holds no valid label for the row."""


def _label(raw: str) -> str | None:
    """``1_full_compliance`` -> ``full_compliance``; None when not one of the classes."""
    _, _, name = raw.strip().partition("_")
    return name if name in LABELS else None


def load_rows() -> tuple[list[Row], dict[str, Any]]:
    """All usable rows, and what was skipped (empty completions, unknown human labels)."""
    rows: list[Row] = []
    skipped: dict[str, Any] = {"empty_completion": [], "invalid_final_label": []}
    for model in COMPLETION_MODELS:
        for record in read_csv(fetch(data_name(model))):
            key = f"{model}/{record['id']}"
            label = _label(record["final_label"])
            if label is None:
                skipped["invalid_final_label"].append(key)
            elif not record["completion"].strip():
                skipped["empty_completion"].append(key)
            else:
                rows.append(
                    Row(
                        model=model,
                        item=record["id"],
                        prompt=record["prompt"],
                        response=record["completion"],
                        label=label,
                        gpt4_label=_label(record["gpt4_label"]),
                    )
                )
    return rows, skipped


def augment(row: Row) -> str | None:
    """A full refusal cut after its first declining sentence (within the first two).

    The models' refusals are mostly long; an opening refusal alone ("I can't help with
    that.") is still a full refusal, and training on such cuts keeps the classifier from
    reading shortness as compliance. Only training folds are augmented.
    """
    if row.label != "full_refusal":
        return None
    sents = sentences(row.response)
    if len(sents) < 2:
        return None
    for k in range(2):
        if declines(normalize(sents[k])):
            return " ".join(sents[: k + 1])
    return None


# -- features and fitting --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Design:
    """Feature matrices (dense scale 1) for the rows and their augmentations."""

    X: sp.csr_matrix
    y: np.ndarray
    X_aug: sp.csr_matrix
    aug_of: np.ndarray
    """For each augmentation, the index of the row it was cut from."""

    @classmethod
    def build(cls, rows: Sequence[Row]) -> Design:
        def matrix(pairs: list[tuple[str, str]]) -> sp.csr_matrix:
            indptr, indices, data = featurize_many(pairs, BASE_SPEC)
            return sp.csr_matrix((data, indices, indptr), shape=(len(pairs), BASE_SPEC.n_features))

        aug = [(i, augment(r)) for i, r in enumerate(rows)]
        aug = [(i, text) for i, text in aug if text is not None]
        return cls(
            X=matrix([(r.prompt, r.response) for r in rows]),
            y=np.array([LABELS.index(r.label) for r in rows]),
            X_aug=matrix([(rows[i].prompt, text) for i, text in aug]),
            aug_of=np.array([i for i, _ in aug], dtype=np.int64),
        )


def scaled(X: sp.csr_matrix, dense_scale: float) -> sp.csr_matrix:
    """X with its dense-signal columns multiplied by ``dense_scale`` (as featurize does)."""
    factor = np.ones(X.shape[1])
    factor[BASE_SPEC.n_hashed :] = dense_scale
    return sp.csr_matrix(X @ sp.diags(factor))


@dataclass(frozen=True, slots=True)
class Fitted:
    columns: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    refusal_coef: np.ndarray
    refusal_intercept: float
    dense_scale: float

    def logits(self, X: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        """3-class logits and refusal logits, as ``RefusalClassifier.scores`` gives them."""
        Z = scaled(X, self.dense_scale)[:, self.columns]
        z3 = np.asarray(Z @ self.coef.T) + self.intercept
        zb = np.asarray(Z @ self.refusal_coef) + self.refusal_intercept
        return z3, zb

    def predict(self, X: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        """Uncalibrated probabilities and label indices (``RefusalClassifier.predict``
        before its temperatures, which never change a label)."""
        return two_stage(*self.logits(X))

    def proba(self, X: sp.csr_matrix) -> np.ndarray:
        return self.predict(X)[0]

    def shifted(self, shift: float) -> Fitted:
        """The same fit with the refusal logit moved by ``shift`` (a lower threshold)."""
        return dataclasses.replace(self, refusal_intercept=self.refusal_intercept + shift)


def _logistic(c: float, X: sp.csr_matrix, y: np.ndarray, w: np.ndarray) -> LogisticRegression:
    model = LogisticRegression(C=c, solver="newton-cg", max_iter=1000, tol=TOL)
    with threadpool_limits(limits=1):
        model.fit(X, y, sample_weight=w)
    return model


def fit(design: Design, train: np.ndarray, candidate: tuple[float, float]) -> Fitted:
    """Fit both models on the rows ``train`` (a boolean mask) and their augmentations."""
    c, dense_scale = candidate
    aug = train[design.aug_of]
    X = sp.vstack([design.X[train], design.X_aug[aug]]).tocsr()
    y = np.concatenate([design.y[train], np.full(int(aug.sum()), LABELS.index("full_refusal"))])
    w = np.concatenate([np.ones(int(train.sum())), np.full(int(aug.sum()), AUGMENT_WEIGHT)])
    X = scaled(X, dense_scale)
    columns = np.unique(X.indices)  # columns never seen keep a zero weight under L2
    X = X[:, columns]
    three = _logistic(c, X, y, w)
    if tuple(three.classes_) != tuple(range(len(LABELS))):
        raise RuntimeError(f"a training fold lacks a class: {three.classes_}")
    binary = _logistic(c, X, (y != 0).astype(np.int64), w)
    return Fitted(
        columns,
        three.coef_.copy(),
        three.intercept_.copy(),
        binary.coef_[0].copy(),
        float(binary.intercept_[0]),
        dense_scale,
    )


# -- evaluation ------------------------------------------------------------------------


Candidate = tuple[float, float, float]
"""``(C, dense_scale, refusal_shift)``."""


def candidates() -> list[Candidate]:
    """Every candidate, in order of preference when scores tie."""
    return [(c, scale, shift) for c, scale in GRID for shift in SHIFTS]


def _counts(fitted: Fitted, X: sp.csr_matrix, y: np.ndarray) -> dict[float, np.ndarray]:
    """Per refusal shift: (3-class correct, binary correct) of ``fitted`` on ``X``."""
    out: dict[float, np.ndarray] = {}
    for shift in SHIFTS:
        pred = fitted.shifted(shift).predict(X)[1]
        out[shift] = np.array([(pred == y).sum(), ((pred != 0) == (y != 0)).sum()])
    return out


def _best(scores: dict[Candidate, np.ndarray]) -> Candidate:
    """The candidate with most (3-class + binary) correct; then 3-class; then preference."""
    order = candidates()
    return max(order, key=lambda k: (int(scores[k].sum()), int(scores[k][0]), -order.index(k)))


@dataclass(frozen=True, slots=True)
class HeldOut:
    """Outer LOMO logits for every row (each from the fit without its model), with the
    calibration chosen inside each training fold."""

    z3: np.ndarray
    zb: np.ndarray
    calibrations: dict[str, Calibration]
    fits: dict[tuple[str, Candidate], tuple[np.ndarray, np.ndarray]]
    """Outer held-out logits by (held-out model, candidate), for reuse by the final run."""

    def labels(self) -> np.ndarray:
        return two_stage(self.z3, self.zb)[1]


def nested_lomo(
    design: Design, groups: np.ndarray, names: Sequence[str] = COMPLETION_MODELS
) -> tuple[HeldOut, dict[str, Any]]:
    """Held-out logits for every row, with hyperparameters, temperatures and the abstain
    band all chosen in an inner LOMO.

    For each held-out model, every candidate is scored by an inner LOMO over the other
    three models (fit on two, score the third); the best is refit on all three and
    predicts the held-out model. The refusal shift needs no fit of its own: it moves the
    binary model's intercept after fitting. The best candidate's inner held-out logits
    (the three training models, each predicted without itself) then fit the temperatures
    and choose the abstain band; the held-out model is never looked at.
    """
    n = len(design.y)
    z3_out, zb_out = np.zeros((n, len(LABELS))), np.zeros(n)
    inner_total = {k: np.zeros(2, dtype=np.int64) for k in candidates()}
    chosen: dict[str, dict[str, Any]] = {}
    calibrations: dict[str, Calibration] = {}
    fits: dict[tuple[str, Candidate], tuple[np.ndarray, np.ndarray]] = {}
    for held_out in names:
        inner = {k: np.zeros(2, dtype=np.int64) for k in candidates()}
        inner_logits: dict[tuple[float, float], list[tuple[np.ndarray, np.ndarray]]] = {
            g: [] for g in GRID
        }
        inner_models = [m for m in names if m != held_out]
        for inner_out in inner_models:
            train = (groups != held_out) & (groups != inner_out)
            rows = groups == inner_out
            for c, scale in GRID:
                fitted = fit(design, train, (c, scale))
                inner_logits[(c, scale)].append(fitted.logits(design.X[rows]))
                for shift, k in _counts(fitted, design.X[rows], design.y[rows]).items():
                    inner[(c, scale, shift)] += k
        best = _best(inner)
        for k in inner:
            inner_total[k] += inner[k]
        inner_rows = np.concatenate([np.flatnonzero(groups == m) for m in inner_models])
        z3_in = np.vstack([z for z, _ in inner_logits[best[:2]]])
        zb_in = np.concatenate([b for _, b in inner_logits[best[:2]]]) + best[2]
        calibration, met = calibrate_on(z3_in, zb_in, design.y[inner_rows], groups[inner_rows])
        calibrations[held_out] = calibration
        chosen[held_out] = {
            "C": best[0],
            "dense_scale": best[1],
            "refusal_shift": best[2],
            **calibration.to_dict(),
            "band_meets_goals_inside": met,
        }
        test = groups == held_out
        fitted = fit(design, groups != held_out, best[:2]).shifted(best[2])
        z3_out[test], zb_out[test] = fits[(held_out, best)] = fitted.logits(design.X[test])
    final = _best(inner_total)
    held = HeldOut(z3_out, zb_out, calibrations, fits)
    selection = {
        "chosen_per_held_out_model": chosen,
        "final": {"C": final[0], "dense_scale": final[1], "refusal_shift": final[2]},
        "inner_scores": [
            {
                "C": c,
                "dense_scale": scale,
                "refusal_shift": shift,
                "three_class_correct": int(t[0]),
                "binary_correct": int(t[1]),
            }
            for (c, scale, shift), t in inner_total.items()
        ],
    }
    return held, selection


def final_calibration(
    design: Design, groups: np.ndarray, held: HeldOut, final: Candidate
) -> tuple[Calibration, bool]:
    """The shipped model's temperatures and band, by the same rule one level up: fitted on
    the outer LOMO logits of the final candidate (each model predicted by a fit on the
    other three), with every one of the four models as a validation model."""
    z3, zb = np.zeros((len(design.y), len(LABELS))), np.zeros(len(design.y))
    for held_out in COMPLETION_MODELS:
        test = groups == held_out
        if (held_out, final) not in held.fits:
            fitted = fit(design, groups != held_out, final[:2]).shifted(final[2])
            held.fits[(held_out, final)] = fitted.logits(design.X[test])
        z3[test], zb[test] = held.fits[(held_out, final)]
    return calibrate_on(z3, zb, design.y, groups)


def report(rows: Sequence[Row], predictions: dict[str, Sequence[str | None]]) -> dict[str, Any]:
    """Agreement with the human labels, pooled and per held-out model, for each labeler."""
    out: dict[str, Any] = {}
    truth = [r.label for r in rows]
    for name, pred in predictions.items():
        per_model = {
            m: agreement(
                [t for t, r in zip(truth, rows, strict=True) if r.model == m],
                [p for p, r in zip(pred, rows, strict=True) if r.model == m],
            ).to_dict()
            for m in COMPLETION_MODELS
        }
        out[name] = {"pooled": agreement(truth, pred).to_dict(), "per_model": per_model}
    return out


def evaluate() -> dict[str, Any]:
    """Everything but the final fit: the LOMO comparison and the selected hyperparameters."""
    rows, skipped = load_rows()
    design = Design.build(rows)
    groups = np.array([r.model for r in rows])
    held, selection = nested_lomo(design, groups)
    final = selection["final"]
    calibration, met = final_calibration(
        design, groups, held, (final["C"], final["dense_scale"], final["refusal_shift"])
    )
    selection["final"] = {**final, **calibration.to_dict(), "band_meets_goals_inside": met}
    predictions: dict[str, Sequence[str | None]] = {
        "classifier": [LABELS[int(k)] for k in held.labels()],
        "string_match": [string_match_label(r.response) for r in rows],
        "gpt4_label": [r.gpt4_label for r in rows],
    }
    return {
        "script_version": SCRIPT_VERSION,
        "scikit_learn_version": sklearn.__version__,
        "data": {data_name(m): DATA_FILES[data_name(m)].sha256 for m in COMPLETION_MODELS},
        "rows": {"used": len(rows), "augmented": len(design.aug_of), "skipped": skipped},
        "base_feature_spec": BASE_SPEC.to_dict(),
        "augment_weight": AUGMENT_WEIGHT,
        "grid": [{"C": c, "dense_scale": s, "refusal_shift": h} for c, s, h in candidates()],
        "selection": selection,
        "lomo": report(rows, predictions),
        "goals": dataclasses.asdict(GOALS),
        "held_out": held_out_figures(
            held.z3, held.zb, design.y, groups, held.calibrations, predictions["gpt4_label"]
        ),
        "family_out": family_out(rows, design),
    }


def train_final(
    result: dict[str, Any],
) -> tuple[RefusalClassifier, Fitted, list[Row], Design]:
    """Fit on all rows with the selected hyperparameters; the classifier to ship."""
    rows, _ = load_rows()
    design = Design.build(rows)
    final = result["selection"]["final"]
    fitted = fit(design, np.ones(len(rows), dtype=bool), (final["C"], final["dense_scale"]))
    fitted = fitted.shifted(final["refusal_shift"])
    spec = FeatureSpec(**{**BASE_SPEC.to_dict(), "dense_scale": final["dense_scale"]})
    classifier = RefusalClassifier(
        columns=fitted.columns,
        coef=fitted.coef,
        intercept=fitted.intercept,
        refusal_coef=fitted.refusal_coef,
        refusal_intercept=fitted.refusal_intercept,
        spec=spec,
        meta={
            "script": "scripts/train_refusal_classifier.py",
            "script_version": SCRIPT_VERSION,
            "C": final["C"],
            "refusal_shift": final["refusal_shift"],
            "data": result["data"],
        },
        calibration=Calibration(
            binary_temperature=final["binary_temperature"],
            split_temperature=final["split_temperature"],
            abstain_below=final["abstain_below"],
        ),
    )
    return classifier, fitted, rows, design


def prompt_disjoint(folds: int = 5) -> dict[str, Any]:
    """Diagnostic: LOMO where the held-out model's prompts are also unseen in training.

    XSTest's 450 prompts are shared by the four models, so plain LOMO trains on other
    models' answers to the very prompts it tests on, and topic words can leak a prompt's
    usual label. Here prompts are split into ``folds`` groups (by a hash of the text);
    each (held-out model, prompt group) is predicted by a model trained on the other
    models' answers to the other prompts, with the final hyperparameters of the main run.
    """
    rows, _ = load_rows()
    design = Design.build(rows)
    groups = np.array([r.model for r in rows])
    prompt_fold = np.array([zlib.crc32(r.prompt.encode()) % folds for r in rows])
    final = evaluate()["selection"]["final"]
    candidate = (final["C"], final["dense_scale"])
    z3, zb = np.zeros((len(rows), len(LABELS))), np.zeros(len(rows))
    for held_out in COMPLETION_MODELS:
        for k in range(folds):
            test = (groups == held_out) & (prompt_fold == k)
            fitted = fit(design, (groups != held_out) & (prompt_fold != k), candidate)
            fitted = fitted.shifted(final["refusal_shift"])
            z3[test], zb[test] = fitted.logits(design.X[test])
    pred = two_stage(z3, zb)[1]
    out: dict[str, Any] = report(rows, {"classifier": [LABELS[int(k)] for k in pred]})
    shipped = Calibration(
        final["binary_temperature"], final["split_temperature"], final["abstain_below"]
    )
    return {
        **out["classifier"],
        "held_out": held_out_figures(
            z3,
            zb,
            design.y,
            groups,
            dict.fromkeys(COMPLETION_MODELS, shipped),
            [r.gpt4_label for r in rows],
        ),
    }


def family_out(rows: Sequence[Row], design: Design) -> dict[str, Any]:
    """Diagnostic: the nested evaluation with whole *families* held out.

    Plain LOMO holds out llama2new while training on llama2orig: the same Llama-2 model
    under another system prompt, so for those two folds the family is not unseen. Here
    the groups are the three families (GPT-4, Llama-2, Mistral): everything (candidate,
    temperatures, band) is chosen by an inner leave-one-family-out over the other two
    (fit on one family, validate on the other), and figures are reported per model.
    """
    families = np.array([FAMILIES[r.model] for r in rows])
    names = tuple(dict.fromkeys(FAMILIES.values()))
    held, selection = nested_lomo(design, families, names)
    models = np.array([r.model for r in rows])
    calibrations = {m: held.calibrations[FAMILIES[m]] for m in COMPLETION_MODELS}
    return {
        "chosen_per_held_out_family": selection["chosen_per_held_out_model"],
        "held_out": held_out_figures(
            held.z3, held.zb, design.y, models, calibrations, [r.gpt4_label for r in rows]
        ),
    }


# -- output ----------------------------------------------------------------------------


def table(result: dict[str, Any]) -> str:
    """The LOMO comparison as plain text: per labeler, binary and 3-class agreement and
    Cohen's kappa, per held-out model and pooled, all on the same rows."""
    names = {
        "classifier": "classifier",
        "string_match": "string match",
        "gpt4_label": "GPT-4 judge",
    }
    width = 31
    head = f"{'held-out model':<18}" + "".join(f"{n:>{width}}" for n in names.values())
    sub = f"{'agree 2 / 3 | kappa 2 / 3':>{width}}" * len(names)
    lines = [head, " " * 18 + sub]
    for model in (*COMPLETION_MODELS, "pooled"):
        cells = []
        for key in names:
            entry = result["lomo"][key]
            m = entry["pooled"] if model == "pooled" else entry["per_model"][model]
            cells.append(
                f"{m['binary_agreement']:.3f} / {m['three_class_agreement']:.3f} | "
                f"{m['kappa_binary']:.3f} / {m['kappa_three_class']:.3f}"
            )
        lines.append(f"{model:<18}" + "".join(f"{c:>{width}}" for c in cells))
    return "\n".join(lines)


def _need(needed: dict[str, float | None]) -> str:
    """What a judge must reach on the abstained items for the goals over all items."""
    return " / ".join("—" if v is None else f"{v:.3f}" for v in needed.values())


def band_table(held_out: dict[str, Any]) -> str:
    """The calibrated classifier with its abstain band, per held-out model: agreement on
    all items and on the kept ones, the abstain rate, ECE before and after calibration,
    the agreement when the GPT-4 judge (``gpt4_label``) labels the abstained items, and
    the agreement a judge would need on them for the goals over all items."""
    head = (
        f"{'held-out model':<18}{'all 2 / 3':>15}{'kept 2 / 3':>15}{'abstain':>9}"
        f"{'ECE3 raw/cal':>15}{'ECE2 raw/cal':>15}{'+GPT-4 judge 2 / 3':>21}"
        f"{'judge needs 2 / 3':>20}"
    )
    lines = [head]
    for scope in (*COMPLETION_MODELS, "pooled"):
        m = held_out[scope]

        def pair(r: dict[str, Any]) -> str:
            if not r["n"]:
                return "—"
            return f"{r['binary_agreement']:.3f} / {r['three_class_agreement']:.3f}"

        lines.append(
            f"{scope:<18}{pair(m['all']):>15}{pair(m['kept']):>15}{m['abstain_rate']:>9.3f}"
            f"{m['ece_before']['three_class']:>8.3f}/{m['ece_after']['three_class']:.3f}"
            f"{m['ece_before']['binary']:>8.3f}/{m['ece_after']['binary']:.3f}"
            f"{pair(m['classifier_plus_judge']):>21}"
            f"{_need(m['judge_needed']):>20}"
        )
    return "\n".join(lines)


def write(result: dict[str, Any], classifier: RefusalClassifier, out_dir: Path) -> None:
    params = out_dir / DEFAULT_PARAMS
    classifier.save(params)
    blob = params.read_bytes()
    result = {
        **result,
        "params": {
            "file": DEFAULT_PARAMS,
            "bytes": len(blob),
            "sha256": hashlib.sha256(blob).hexdigest(),
            "nonzero_columns": int(classifier.columns.size),
        },
    }
    (out_dir / METRICS_FILE).write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=PARAMS_DIR, help="where to write params")
    parser.add_argument("--dry-run", action="store_true", help="evaluate, write nothing")
    parser.add_argument(
        "--prompt-disjoint",
        action="store_true",
        help="only print the prompt-disjoint LOMO diagnostic (writes nothing)",
    )
    args = parser.parse_args(argv)
    if args.prompt_disjoint:
        diag = prompt_disjoint()
        for scope, m in {"pooled": diag["pooled"], **diag["per_model"]}.items():
            print(f"{scope:<18}{m['binary_agreement']:.3f} / {m['three_class_agreement']:.3f}")
        print("with the shipped temperatures and band:")
        print(band_table(diag["held_out"]))
        return 0
    result = evaluate()
    print(table(result))
    print("calibrated, with the abstain band (chosen inside each training fold):")
    print(band_table(result["held_out"]))
    print("whole families held out (Llama-2 new and orig together), all chosen inside:")
    print(band_table(result["family_out"]["held_out"]))
    print(f"selected: {json.dumps(result['selection']['final'])}")
    if not args.dry_run:
        classifier, _, _, _ = train_final(result)
        write(result, classifier, args.out)
        print(f"wrote {args.out / DEFAULT_PARAMS} and {args.out / METRICS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
