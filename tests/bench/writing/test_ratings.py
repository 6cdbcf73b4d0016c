"""Bradley-Terry ratings against choix, bootstrap intervals, and length control
recovering a planted length bias."""

from __future__ import annotations

import math

import choix
import numpy as np
import pytest

from benchwarden.bench.writing.ratings import SCALE, Game, fit_strengths, rate

MODELS = ["m0", "m1", "m2", "m3"]


def _games(rng: np.random.Generator, theta: list[float], n: int, ties: float = 0.0) -> list[Game]:
    games = []
    for i in range(n):
        a, b = rng.choice(len(theta), 2, replace=False)
        p = 1 / (1 + math.exp(-(theta[a] - theta[b])))
        u = rng.random()
        outcome = 0.5 if u < ties else float(rng.random() < p)
        games.append(Game(f"item{i}", MODELS[a], MODELS[b], outcome))
    return games


def _choix_data(games: list[Game]) -> list[tuple[int, int]]:
    """choix takes (winner, loser) pairs; a tie becomes one win each way and every
    decided game counts twice, the same likelihood as our half-wins (scaled by 2)."""
    data = []
    for g in games:
        x, y = MODELS.index(g.x), MODELS.index(g.y)
        if g.outcome == 0.5:
            data += [(x, y), (y, x)]
        else:
            data += [(x, y), (x, y)] if g.outcome == 1.0 else [(y, x), (y, x)]
    return data


@pytest.mark.parametrize(("seed", "ties"), [(1, 0.0), (2, 0.0), (3, 0.25)])
def test_bradley_terry_matches_choix(seed: int, ties: float) -> None:
    rng = np.random.default_rng(seed)
    games = _games(rng, [0.0, 0.6, -0.4, 1.2], 600, ties)
    ours, _ = fit_strengths(MODELS, games, "m0", l2=0.0)
    theirs = choix.ilsr_pairwise(len(MODELS), _choix_data(games), alpha=0.0, tol=1e-12)
    for i, m in enumerate(MODELS):
        assert ours[m] == pytest.approx(theirs[i] - theirs[0], abs=1e-6)


def test_bootstrap_intervals_match_the_asymptotic_errors_and_shrink_with_data() -> None:
    """The percentile intervals agree with the Fisher-information standard errors of
    the same fit (an independent route to the same uncertainty) and narrow with data."""
    truth = [0.0, 0.6, -0.4, 1.2]
    small_games = _games(np.random.default_rng(5), truth, 300)
    large_games = _games(np.random.default_rng(6), truth, 2400)
    small = rate(MODELS, small_games, "m0", bootstrap=200)
    large = rate(MODELS, large_games, "m0", bootstrap=200)
    for fit in (small, large):
        for r in fit.raw:
            assert r.low <= r.rating <= r.high
    assert small.raw[0].rating == small.raw[0].low == small.raw[0].high == 1000.0
    widths = [[r.high - r.low for r in fit.raw[1:]] for fit in (small, large)]
    assert all(w_large < w_small for w_small, w_large in zip(*widths, strict=True))
    thetas, _ = fit_strengths(MODELS, large_games, "m0", l2=0.0)
    x = np.zeros((len(large_games), 3))
    for row, g in enumerate(large_games):
        for sign, m in ((1.0, g.x), (-1.0, g.y)):
            if m != "m0":
                x[row, MODELS.index(m) - 1] += sign
    p = 1 / (1 + np.exp(-(x @ np.array([thetas[m] for m in MODELS[1:]]))))
    se = np.sqrt(np.diag(np.linalg.inv((x.T * (p * (1 - p))) @ x)))
    for r, expected in zip(large.raw[1:], se, strict=True):
        assert (r.high - r.low) / (2 * 1.96 * SCALE) == pytest.approx(expected, rel=0.25)
    assert rate(MODELS, small_games, "m0", bootstrap=200) == small  # seeded: reproducible


def test_length_control_recovers_a_planted_length_bias() -> None:
    """Three equally good models; m1 writes twice as long and the judge rewards the
    longer answer (beta = 1.5 on the normalised length difference). Raw ratings put
    m1 far ahead; length-controlled ones put all three level and recover beta."""
    rng = np.random.default_rng(11)
    models = ["m0", "m1", "m2"]
    mean_length = {"m0": 300.0, "m1": 600.0, "m2": 300.0}
    beta = 1.5
    games = []
    for i in range(3000):
        a, b = rng.choice(3, 2, replace=False)
        x, y = models[a], models[b]
        lx, ly = (mean_length[m] * rng.uniform(0.6, 1.4) for m in (x, y))
        d = (lx - ly) / (lx + ly)
        p = 1 / (1 + math.exp(-beta * d))
        games.append(Game(f"i{i}", x, y, float(rng.random() < p), lx, ly))
    fit = rate(models, games, "m0", bootstrap=100, seed=1)
    raw = {r.model: r for r in fit.raw}
    lc = {r.model: r for r in fit.length_controlled}
    assert raw["m1"].low > 1040  # the length bias shows as skill
    for m in models:
        assert lc[m].low <= 1000 <= lc[m].high  # gone once length is a covariate
    assert abs(lc["m1"].rating - 1000) < 0.25 * abs(raw["m1"].rating - 1000)
    assert fit.length_coef_low < beta < fit.length_coef_high
    assert fit.length_coef == pytest.approx(beta, abs=0.3)


def test_one_model_winning_everything_stays_finite() -> None:
    games = [Game(f"i{i}", "m0", "m1", 1.0) for i in range(20)]
    fit = rate(["m0", "m1"], games, "m0", bootstrap=50)
    assert all(math.isfinite(r.rating) and math.isfinite(r.low) for r in fit.raw)
    assert fit.raw[1].rating < 1000


def test_a_model_missing_from_a_resample_is_not_pulled_to_the_baseline() -> None:
    """m2 met the baseline in only 2 of 40 items (winning 3 of 4 and 4 of 5), so about
    13% of resamples hold none of its games. Those draws say nothing about m2: they
    must not count as theta 0 (a rating of exactly 1000), which would drag its lower
    bound down to the baseline."""
    games = [Game(f"i{i}", "m0", "m1", float(i % 2)) for i in range(38)]
    games += [Game("i38", "m2", "m0", o) for o in (1.0, 1.0, 1.0, 0.0)]
    games += [Game("i39", "m2", "m0", o) for o in (1.0, 1.0, 1.0, 1.0, 0.0)]
    fit = rate(["m0", "m1", "m2"], games, "m0", bootstrap=400, seed=3)
    m2 = fit.raw[2]
    assert m2.low > 1150 and m2.low <= m2.rating <= m2.high
    assert fit.raw[1].low < 1000 < fit.raw[1].high  # m1: level with the baseline


def test_perfect_separation_is_warned_about() -> None:
    from benchwarden.bench.writing.summary import separation_warnings

    games = [Game(f"i{i}", "a", "b", 1.0) for i in range(3)]
    warned = separation_warnings(games)
    assert len(warned) == 2
    assert warned[0].startswith("a won all 3") and warned[1].startswith("b lost all 3")
    mixed = [*games, Game("i3", "a", "b", 0.5)]
    assert separation_warnings(mixed) == []
