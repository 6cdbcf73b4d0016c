"""Bradley-Terry ratings from pairwise games, raw and length-controlled. Pure numpy.

Model: P(X beats Y) = sigmoid(theta_X - theta_Y [+ beta * d]), with the baseline's
theta fixed at 0. A tie counts as half a win for each side (a fractional target in
the logistic likelihood, the same maximum as splitting it into one win each way).
The fit is Newton's method on the penalised log-likelihood; a tiny ridge (``l2``)
keeps it finite when one model wins every game.

**Length control** (after Chatbot Arena's style control): the covariate
``d = (len_X - len_Y) / (len_X + len_Y)`` enters the same regression, so ``beta``
absorbs how much the judges reward length and the thetas are what is left.

Ratings are on the familiar Elo-like scale: ``1000 + 400 * theta / ln 10`` (the
baseline at 1000; 400 points is 10:1 odds). Intervals are percentile bootstrap over
items (every game of a resampled item comes along), refitting each time; in a draw
where a model is not linked to the baseline by any game (absent from the resample),
its theta is unidentified, so that draw gives it no value (not the baseline's 0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

SCALE = 400.0 / math.log(10.0)
BASE = 1000.0

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Game:
    """One combined pairwise verdict: ``outcome`` is X's score (1, 0.5 or 0)."""

    item: str
    x: str
    y: str
    outcome: float
    length_x: float = 0.0
    length_y: float = 0.0


@dataclass(frozen=True, slots=True)
class Rating:
    model: str
    rating: float
    low: float
    high: float
    games: int


@dataclass(frozen=True, slots=True)
class RatingFit:
    """Raw and length-controlled ratings, and the length coefficient with its interval
    (``beta`` > 0: the judges favour the longer answer)."""

    baseline: str
    raw: list[Rating] = field(default_factory=list)
    length_controlled: list[Rating] = field(default_factory=list)
    length_coef: float = math.nan
    length_coef_low: float = math.nan
    length_coef_high: float = math.nan
    bootstrap: int = 0


def _design(
    models: Sequence[str], baseline: str, games: Sequence[Game], length: bool
) -> tuple[FloatArray, FloatArray]:
    free = [m for m in models if m != baseline]
    col = {m: i for i, m in enumerate(free)}
    x = np.zeros((len(games), len(free) + (1 if length else 0)))
    y = np.empty(len(games))
    for r, g in enumerate(games):
        if g.x in col:
            x[r, col[g.x]] += 1.0
        if g.y in col:
            x[r, col[g.y]] -= 1.0
        if length:
            total = g.length_x + g.length_y
            x[r, -1] = (g.length_x - g.length_y) / total if total > 0 else 0.0
        y[r] = g.outcome
    return x, y


def logistic_fit(
    x: FloatArray, y: FloatArray, *, l2: float = 1e-6, iterations: int = 100
) -> FloatArray:
    """Maximum (ridge-penalised) likelihood of a logistic model with fractional
    targets, no intercept; Newton's method with step halving."""
    w = np.zeros(x.shape[1])
    if x.shape[1] == 0 or len(y) == 0:
        return w

    def objective(v: FloatArray) -> float:
        z = x @ v
        return float(np.sum(y * z - np.logaddexp(0.0, z)) - 0.5 * l2 * v @ v)

    current = objective(w)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        grad = x.T @ (y - p) - l2 * w
        hess = (x.T * (p * (1.0 - p))) @ x + l2 * np.eye(len(w))
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        scale = 1.0
        while scale > 1e-6:
            candidate = w + scale * step
            value = objective(candidate)
            if value >= current - 1e-12:
                break
            scale /= 2
        w, improved = candidate, value - current
        current = value
        if abs(improved) < 1e-10 and float(np.max(np.abs(scale * step))) < 1e-8:
            break
    return w


def fit_strengths(
    models: Sequence[str],
    games: Sequence[Game],
    baseline: str,
    *,
    length: bool = False,
    l2: float = 1e-6,
) -> tuple[dict[str, float], float]:
    """Each model's theta (baseline 0) and the length coefficient (NaN without)."""
    x, y = _design(models, baseline, games, length)
    w = logistic_fit(x, y, l2=l2)
    free = [m for m in models if m != baseline]
    thetas = {m: 0.0 for m in models}
    thetas.update({m: float(w[i]) for i, m in enumerate(free)})
    return thetas, float(w[-1]) if length else math.nan


def linked_to(baseline: str, games: Sequence[Game]) -> set[str]:
    """The models joined to ``baseline`` by a chain of games. Pure."""
    neighbours: dict[str, set[str]] = {}
    for g in games:
        neighbours.setdefault(g.x, set()).add(g.y)
        neighbours.setdefault(g.y, set()).add(g.x)
    seen, todo = {baseline}, [baseline]
    while todo:
        for other in neighbours.get(todo.pop(), set()) - seen:
            seen.add(other)
            todo.append(other)
    return seen


def to_rating(theta: float) -> float:
    return BASE + SCALE * theta


def rate(
    models: Sequence[str],
    games: Sequence[Game],
    baseline: str,
    *,
    bootstrap: int = 500,
    seed: int = 0,
    confidence: float = 0.95,
) -> RatingFit:
    """Raw and length-controlled Bradley-Terry ratings with bootstrap intervals."""
    if baseline not in models:
        raise ValueError(f"baseline {baseline!r} is not one of the models")
    counts = {m: sum(g.x == m or g.y == m for g in games) for m in models}
    free = [m for m in models if m != baseline]
    x_lc, y = _design(models, baseline, games, True)
    x_raw = x_lc[:, :-1]
    rows_of: dict[str, list[int]] = {}
    for row, g in enumerate(games):
        rows_of.setdefault(g.item, []).append(row)
    groups = [np.array(rows_of[item]) for item in sorted(rows_of)]

    def thetas(w: FloatArray) -> dict[str, float]:
        out = {m: 0.0 for m in models}
        out.update({m: float(w[i]) for i, m in enumerate(free)})
        return out

    raw = thetas(logistic_fit(x_raw, y))
    w_lc = logistic_fit(x_lc, y)
    lc, beta = thetas(w_lc), float(w_lc[-1])
    rng = np.random.default_rng(seed)
    draws_raw: list[list[float]] = []
    draws_lc: list[list[float]] = []
    draws_beta: list[float] = []
    for _ in range(bootstrap if groups else 0):
        picked = np.concatenate([groups[i] for i in rng.integers(0, len(groups), len(groups))])
        r = thetas(logistic_fit(x_raw[picked], y[picked]))
        w = logistic_fit(x_lc[picked], y[picked])
        c = thetas(w)
        linked = linked_to(baseline, [games[i] for i in picked])
        draws_raw.append([r[m] if m in linked else math.nan for m in models])
        draws_lc.append([c[m] if m in linked else math.nan for m in models])
        draws_beta.append(float(w[-1]))
    tail = 100 * (1 - confidence) / 2

    def table(point: dict[str, float], draws: list[list[float]]) -> list[Rating]:
        arr = np.array(draws) if draws else np.full((1, len(models)), math.nan)
        low, high = np.full(len(models), math.nan), np.full(len(models), math.nan)
        for i in range(len(models)):
            kept = arr[:, i][~np.isnan(arr[:, i])]
            if kept.size:
                low[i], high[i] = np.percentile(kept, [tail, 100 - tail])
        return [
            Rating(m, to_rating(point[m]), to_rating(low[i]), to_rating(high[i]), counts[m])
            for i, m in enumerate(models)
        ]

    beta_low, beta_high = (
        (float(v) for v in np.percentile(draws_beta, [tail, 100 - tail]))
        if draws_beta
        else (math.nan, math.nan)
    )
    return RatingFit(
        baseline,
        table(raw, draws_raw),
        table(lc, draws_lc),
        beta,
        beta_low,
        beta_high,
        len(draws_raw),
    )
