from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import stats as st

from benchwarden.bench.stats import (
    Interval,
    PairedComparison,
    mean_ci,
    mean_pass_at_k,
    paired_difference,
    pass_at_k,
    proportion_ci,
)

# --- proportion_ci -------------------------------------------------------------------------

CP_CASES = [
    (k, n)
    for n in (1, 2, 3, 5, 10, 17, 50, 100, 263, 1000)
    for k in sorted({0, 1, n // 3, n // 2, n - 1, n})
]


@pytest.mark.parametrize("confidence", [0.8, 0.9, 0.95, 0.99])
@pytest.mark.parametrize(("k", "n"), CP_CASES)
def test_clopper_pearson_matches_scipy_exact(k: int, n: int, confidence: float) -> None:
    iv = proportion_ci(k, n, confidence=confidence, method="clopper-pearson")
    ref = st.binomtest(k, n).proportion_ci(confidence_level=confidence, method="exact")
    assert iv.low == pytest.approx(float(ref.low), abs=1e-12)
    assert iv.high == pytest.approx(float(ref.high), abs=1e-12)
    assert iv.estimate == k / n
    assert iv.n == n
    assert iv.method == "clopper-pearson"
    assert iv.confidence == confidence
    # Independent check: the beta-quantile closed form of the same interval.
    alpha = 1 - confidence
    low = 0.0 if k == 0 else st.beta.ppf(alpha / 2, k, n - k + 1)
    high = 1.0 if k == n else st.beta.ppf(1 - alpha / 2, k + 1, n - k)
    assert iv.low == pytest.approx(low, abs=1e-9)
    assert iv.high == pytest.approx(high, abs=1e-9)


def test_clopper_pearson_is_wider_than_wilson() -> None:
    for k, n in [(1, 10), (5, 10), (81, 263), (0, 20)]:
        cp = proportion_ci(k, n, method="clopper-pearson")
        w = proportion_ci(k, n)
        assert cp.high - cp.low > w.high - w.low


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (81, 263, 0.2553, 0.3662),  # Wikipedia, "Binomial proportion confidence interval"
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (1, 10, 0.0179, 0.4042),
        (5, 10, 0.2366, 0.7634),
    ],
)
def test_wilson_published_values(k: int, n: int, low: float, high: float) -> None:
    iv = proportion_ci(k, n)
    assert iv.method == "wilson"
    assert iv.estimate == k / n
    assert iv.low == pytest.approx(low, abs=5e-5)
    assert iv.high == pytest.approx(high, abs=5e-5)


def test_wilson_edges_are_exact_and_bounded() -> None:
    assert proportion_ci(0, 10).low == 0.0
    assert proportion_ci(10, 10).high == 1.0
    for n in (1, 2, 7, 100):
        for k in range(n + 1):
            iv = proportion_ci(k, n, confidence=0.99)
            assert 0.0 <= iv.low <= iv.estimate <= iv.high <= 1.0


@pytest.mark.parametrize(("k", "n"), CP_CASES)
def test_wilson_matches_scipy(k: int, n: int) -> None:
    iv = proportion_ci(k, n, confidence=0.9)
    ref = st.binomtest(k, n).proportion_ci(confidence_level=0.9, method="wilson")
    assert iv.low == pytest.approx(float(ref.low), abs=1e-12)
    assert iv.high == pytest.approx(float(ref.high), abs=1e-12)


@pytest.mark.parametrize("method", ["wilson", "clopper-pearson"])
def test_proportion_ci_empty(method: str) -> None:
    iv = proportion_ci(0, 0, method=method)
    assert math.isnan(iv.estimate)
    assert (iv.low, iv.high, iv.n, iv.method) == (0.0, 1.0, 0, method)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((5, 3), {}),
        ((-1, 3), {}),
        ((0, -1), {}),
        ((1, 3), {"method": "wald"}),
        ((1, 3), {"confidence": 1.0}),
        ((1, 3), {"confidence": 0.0}),
    ],
)
def test_proportion_ci_rejects_bad_input(args: tuple[int, int], kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        proportion_ci(*args, **kwargs)  # type: ignore[arg-type]


def test_interval_is_frozen() -> None:
    iv = proportion_ci(1, 2)
    assert isinstance(iv, Interval)
    with pytest.raises(dataclasses.FrozenInstanceError):
        iv.low = 0.0  # type: ignore[misc]


# --- mean_ci -------------------------------------------------------------------------------


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_mean_ci_t_interval_matches_scipy(confidence: float) -> None:
    values = [0.2, 0.5, 0.75, 0.9, 0.33, 0.61, 0.48]
    iv = mean_ci(values, confidence=confidence)
    n = len(values)
    m = float(np.mean(values))
    half = st.t.ppf((1 + confidence) / 2, n - 1) * np.std(values, ddof=1) / math.sqrt(n)
    assert iv.method == "t"
    assert iv.n == n
    assert iv.confidence == confidence
    assert iv.estimate == pytest.approx(m, rel=1e-12)
    assert iv.low == pytest.approx(m - half, rel=1e-12)
    assert iv.high == pytest.approx(m + half, rel=1e-12)
    ref_low, ref_high = st.t.interval(confidence, n - 1, loc=m, scale=st.sem(values))
    assert iv.low == pytest.approx(ref_low, rel=1e-12)
    assert iv.high == pytest.approx(ref_high, rel=1e-12)


def test_mean_ci_is_not_clipped() -> None:
    values = [0.0, 0.0, 0.0, 0.5]  # graded, mean near the lower end of the range
    iv = mean_ci(values)
    assert iv.method == "t"
    assert iv.low < min(values)


def test_mean_ci_binary_uses_wilson() -> None:
    values = [1, 0, 1, 1, 0, 1, 1, 1, 0, 1]
    assert mean_ci(values) == proportion_ci(7, 10)
    assert mean_ci([1.0, 0.0, 0.0], confidence=0.9) == proportion_ci(1, 3, confidence=0.9)
    assert mean_ci([True, False]) == proportion_ci(1, 2)
    assert mean_ci([1]) == proportion_ci(1, 1)


def test_mean_ci_small_samples() -> None:
    empty = mean_ci([])
    assert empty.n == 0
    assert math.isnan(empty.estimate) and math.isnan(empty.low) and math.isnan(empty.high)
    one = mean_ci([0.4])
    assert one.estimate == 0.4 and one.n == 1
    assert math.isnan(one.low) and math.isnan(one.high)


def test_mean_ci_zero_variance() -> None:
    iv = mean_ci([0.1, 0.1, 0.1])
    assert iv.low == iv.high == iv.estimate == pytest.approx(0.1)


# --- paired_difference ---------------------------------------------------------------------


def _graded(seed: int, n: int, shift: float) -> tuple[list[float], list[float]]:
    rng = np.random.default_rng(seed)
    difficulty = rng.uniform(0.0, 1.0, n)
    a = np.clip(difficulty + shift + rng.normal(0, 0.1, n), 0, 1)
    b = np.clip(difficulty + rng.normal(0, 0.1, n), 0, 1)
    return a.tolist(), b.tolist()


def test_paired_difference_is_deterministic_for_a_seed() -> None:
    a, b = _graded(1, 40, 0.05)
    first = paired_difference(a, b, seed=7)
    assert paired_difference(a, b, seed=7) == first
    other = paired_difference(a, b, seed=8)
    assert (other.low, other.high) != (first.low, first.high)
    assert other.mean_difference == first.mean_difference
    assert other.p_value == first.p_value


def test_paired_difference_ci_contains_true_difference() -> None:
    rng = np.random.default_rng(123)
    n = 400
    difficulty = rng.uniform(0.0, 1.0, n)
    true_diff = 0.1
    a = difficulty + true_diff + rng.normal(0, 0.2, n)
    b = difficulty + rng.normal(0, 0.2, n)
    res = paired_difference(a.tolist(), b.tolist(), resamples=4000, seed=3)
    assert res.test == "wilcoxon"
    assert res.n == n
    assert res.low < true_diff < res.high
    assert res.low < res.mean_difference < res.high
    assert res.mean_difference == pytest.approx(float(np.mean(a - b)), rel=1e-12)
    # Pairing removes item difficulty: the paired CI is far narrower than the spread of scores.
    assert res.high - res.low < 0.1
    assert res.p_value < 1e-6
    assert res.a_wins + res.b_wins + res.ties == n


def test_paired_difference_ci_width_tracks_confidence() -> None:
    a, b = _graded(5, 60, 0.02)
    narrow = paired_difference(a, b, confidence=0.8)
    wide = paired_difference(a, b, confidence=0.99)
    assert wide.low < narrow.low < narrow.high < wide.high
    assert narrow.confidence == 0.8


def test_paired_difference_mcnemar_matches_binomtest() -> None:
    a = [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1]
    b = [0, 0, 0, 1, 1, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1]
    b01 = sum(1 for x, y in zip(a, b, strict=True) if x == 0 and y == 1)
    b10 = sum(1 for x, y in zip(a, b, strict=True) if x == 1 and y == 0)
    res = paired_difference(a, b)
    assert res.test == "mcnemar-exact"
    assert (res.a_wins, res.b_wins, res.ties) == (b10, b01, len(a) - b01 - b10)
    assert res.p_value == pytest.approx(st.binomtest(b01, b01 + b10, 0.5).pvalue, rel=1e-12)
    assert res.mean_difference == pytest.approx((b10 - b01) / len(a))
    assert res.low <= res.mean_difference <= res.high


def test_paired_difference_mcnemar_no_discordant_pairs() -> None:
    res = paired_difference([1, 0, 1], [1, 0, 1])
    assert res.test == "mcnemar-exact"
    assert res.p_value == 1.0
    assert res.low == res.high == res.mean_difference == 0.0
    assert (res.a_wins, res.b_wins, res.ties) == (0, 0, 3)


def test_paired_difference_wilcoxon_matches_scipy() -> None:
    a, b = _graded(11, 30, 0.03)
    a[3] = b[3]  # a zero difference, dropped by zero_method="wilcox"
    res = paired_difference(a, b)
    assert res.test == "wilcoxon"
    ref = st.wilcoxon(a, b, zero_method="wilcox")
    assert res.p_value == pytest.approx(float(ref.pvalue), rel=1e-12)
    assert res.ties >= 1


def test_paired_difference_wilcoxon_large_sample_matches_scipy() -> None:
    a, b = _graded(12, 120, -0.01)
    res = paired_difference(a, b, resamples=500)
    assert res.p_value == pytest.approx(float(st.wilcoxon(a, b, zero_method="wilcox").pvalue))


def test_paired_difference_all_equal_graded() -> None:
    a = [0.25, 0.5, 0.75, 0.3]
    res = paired_difference(a, list(a))
    assert res.test == "wilcoxon"
    assert res.p_value == 1.0
    assert res.low == res.high == res.mean_difference == 0.0
    assert (res.a_wins, res.b_wins, res.ties) == (0, 0, 4)


def test_paired_difference_empty() -> None:
    res = paired_difference([], [])
    assert isinstance(res, PairedComparison)
    assert math.isnan(res.mean_difference)
    assert res.n == 0
    assert res.test == "none"
    assert res.p_value == 1.0
    assert (res.a_wins, res.b_wins, res.ties) == (0, 0, 0)


def test_paired_difference_length_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="same length"):
        paired_difference([1.0, 0.0], [1.0])


def test_paired_difference_bad_arguments_raise() -> None:
    with pytest.raises(ValueError):
        paired_difference([1.0], [0.0], resamples=0)
    with pytest.raises(ValueError):
        paired_difference([1.0], [0.0], confidence=1.5)


def test_paired_difference_large_n_is_chunked_and_deterministic() -> None:
    a, b = _graded(13, 5000, 0.01)
    first = paired_difference(a, b, resamples=2000, seed=1)
    assert first == paired_difference(a, b, resamples=2000, seed=1)
    assert first.low < first.mean_difference < first.high


# --- pass@k --------------------------------------------------------------------------------


def _brute_pass_at_k(n: int, c: int, k: int) -> float:
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def test_pass_at_k_matches_combinatorial_formula() -> None:
    for n in range(0, 31):
        for c in range(0, n + 1):
            for k in range(0, n + 1):
                assert pass_at_k(n, c, k) == pytest.approx(
                    _brute_pass_at_k(n, c, k), rel=1e-12, abs=1e-12
                ), (n, c, k)
    for n, c, k in [(200, 3, 1), (200, 3, 10), (200, 3, 100), (200, 150, 50), (1000, 1, 500)]:
        assert pass_at_k(n, c, k) == pytest.approx(_brute_pass_at_k(n, c, k), rel=1e-12)


def test_pass_at_k_known_cases() -> None:
    assert pass_at_k(10, 0, 1) == 0.0
    assert pass_at_k(10, 0, 10) == 0.0
    assert pass_at_k(10, 10, 1) == 1.0
    assert pass_at_k(10, 10, 10) == 1.0
    assert pass_at_k(5, 1, 1) == pytest.approx(0.2)
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)  # pass@1 is the plain success rate
    assert pass_at_k(10, 3, 8) == 1.0  # n - c < k


@pytest.mark.parametrize(
    ("n", "c", "k"), [(5, 1, 6), (5, 6, 1), (-1, 0, 0), (5, -1, 1), (5, 1, -1)]
)
def test_pass_at_k_rejects_bad_input(n: int, c: int, k: int) -> None:
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_mean_pass_at_k() -> None:
    samples = [(10, 0), (10, 10), (5, 1), (10, 3)]
    expected = (0.0 + 1.0 + 0.2 + 0.3) / 4
    assert mean_pass_at_k(samples, 1) == pytest.approx(expected)
    assert mean_pass_at_k([(20, 4)], 5) == pytest.approx(_brute_pass_at_k(20, 4, 5))
    assert math.isnan(mean_pass_at_k([], 1))
    with pytest.raises(ValueError):
        mean_pass_at_k([(3, 1)], 4)
