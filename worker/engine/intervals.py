"""Confidence intervals that stay honest at small n: score intervals, never a collapsed bootstrap.

Proportions: Wilson (default) or Clopper–Pearson, through `scipy.stats.binomtest`. Paired
differences: Newcombe's square-and-add with the correlation correction (Newcombe 1998, method
10). Independent differences: Newcombe's hybrid score interval. Paired ratios: MOVER-Wilson
(Tang, Li & Tang 2010). Rates over clusters (variants of one vignette, language pairs of one
item): a Wilson interval on the number of clusters, which assumes the worst within-cluster
correlation. Maxima and minima over groups: Bonferroni-adjusted intervals of every group, so
the reported extreme accounts for being selected. None of these has zero width at finite n.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

import numpy as np
import numpy.typing as npt

from worker.engine.stats import CONFIDENCE_LEVEL, Interval, scipy_stats

ProportionMethod = Literal["wilson", "clopper_pearson"]
PROPORTION_METHODS = ("wilson", "clopper_pearson")
_SCIPY_METHOD = {"wilson": "wilson", "clopper_pearson": "exact"}


def _z(level: float) -> float:
    if not 0 < level < 1:
        raise ValueError(f"confidence level must lie in (0, 1), got {level!r}")
    return float(scipy_stats().norm.ppf(1 - (1 - level) / 2))


def _counts(values: npt.ArrayLike) -> tuple[int, int]:
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    return int(round(float(array.sum()))), int(array.size)


def proportion(
    successes: int,
    n: int,
    *,
    level: float = CONFIDENCE_LEVEL,
    method: ProportionMethod = "wilson",
) -> Interval:
    """k / n with a Wilson or Clopper–Pearson interval (scipy's `proportion_ci`); n = 0: none."""
    if method not in PROPORTION_METHODS:
        raise ValueError(
            f"unknown proportion interval {method!r}; valid: {', '.join(PROPORTION_METHODS)}"
        )
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return Interval(None, None, None, 0, method, level)
    ci = (
        scipy_stats()
        .binomtest(successes, n)
        .proportion_ci(confidence_level=level, method=_SCIPY_METHOD[method])
    )
    return Interval(successes / n, float(ci.low), float(ci.high), n, method, level)


def proportion_of(
    values: npt.ArrayLike, *, level: float = CONFIDENCE_LEVEL, method: ProportionMethod = "wilson"
) -> Interval:
    """The share of true (1) values, with its interval."""
    k, n = _counts(values)
    return proportion(k, n, level=level, method=method)


def _wilson(k: int, n: int, level: float) -> tuple[float, float]:
    ci = scipy_stats().binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
    return float(ci.low), float(ci.high)


def affine(interval: Interval, *, scale: float, shift: float, method: str) -> Interval:
    """scale * x + shift of an interval (scale > 0), e.g. Med-HALT's 1.25 * accuracy - 0.25."""
    if scale <= 0:
        raise ValueError("scale must be positive")

    def f(x: float | None) -> float | None:
        return None if x is None else scale * x + shift

    return replace(
        interval, value=f(interval.value), low=f(interval.low), high=f(interval.high), method=method
    )


def paired_difference(
    x: npt.ArrayLike, y: npt.ArrayLike, *, level: float = CONFIDENCE_LEVEL
) -> Interval:
    """mean(x) - mean(y) of paired 0/1 outcomes: Newcombe's square-and-add interval.

    The Wilson limits of both margins combined with the correlation correction of Newcombe
    (1998, method 10), as Fagerland, Lydersen & Laake give it. n = pairs.
    """
    a = np.asarray(x, dtype=bool).reshape(-1)
    b = np.asarray(y, dtype=bool).reshape(-1)
    if a.size != b.size:
        raise ValueError(f"paired outcomes differ in length: {a.size} != {b.size}")
    n = int(a.size)
    method = "newcombe_paired"
    if n == 0:
        return Interval(None, None, None, 0, method, level)
    n11, n12 = int(np.sum(a & b)), int(np.sum(a & ~b))
    n21, n22 = int(np.sum(~a & b)), int(np.sum(~a & ~b))
    k1, k2 = n11 + n12, n11 + n21
    p1, p2 = k1 / n, k2 / n
    l1, u1 = _wilson(k1, n, level)
    l2, u2 = _wilson(k2, n, level)
    psi = 0.0
    if min(k1, n - k1, k2, n - k2) > 0:
        product = math.sqrt(k1 * (n - k1) * k2 * (n - k2))
        cross = n11 * n22 - n12 * n21
        if cross > n / 2:
            psi = (cross - n / 2) / product
        elif cross < 0:
            psi = cross / product
    d = p1 - p2
    low = d - math.sqrt(max(0.0, (p1 - l1) ** 2 + (u2 - p2) ** 2 - 2 * psi * (p1 - l1) * (u2 - p2)))
    high = d + math.sqrt(
        max(0.0, (p2 - l2) ** 2 + (u1 - p1) ** 2 - 2 * psi * (p2 - l2) * (u1 - p1))
    )
    return Interval(d, max(-1.0, low), min(1.0, high), n, method, level)


def _mover_difference(
    p1: float, b1: tuple[float, float], p2: float, b2: tuple[float, float]
) -> tuple[float, float]:
    d = p1 - p2
    low = d - math.sqrt((p1 - b1[0]) ** 2 + (b2[1] - p2) ** 2)
    high = d + math.sqrt((b1[1] - p1) ** 2 + (p2 - b2[0]) ** 2)
    return max(-1.0, low), min(1.0, high)


def independent_difference(
    k1: int, n1: int, k2: int, n2: int, *, level: float = CONFIDENCE_LEVEL
) -> Interval:
    """k1/n1 - k2/n2 of independent samples: Newcombe's hybrid score interval. n = n1 + n2."""
    method = "newcombe_hybrid_score"
    if n1 == 0 or n2 == 0:
        return Interval(None, None, None, n1 + n2, method, level)
    p1, p2 = k1 / n1, k2 / n2
    low, high = _mover_difference(p1, _wilson(k1, n1, level), p2, _wilson(k2, n2, level))
    return Interval(p1 - p2, low, high, n1 + n2, method, level)


def paired_ratio(
    x: npt.ArrayLike, y: npt.ArrayLike, *, level: float = CONFIDENCE_LEVEL
) -> Interval:
    """mean(x) / mean(y) of paired 0/1 outcomes: the MOVER-Wilson interval (Tang et al. 2010).

    No value when y has no success; an upper limit of None means unbounded.
    """
    a = np.asarray(x, dtype=bool).reshape(-1)
    b = np.asarray(y, dtype=bool).reshape(-1)
    if a.size != b.size:
        raise ValueError(f"paired outcomes differ in length: {a.size} != {b.size}")
    n = int(a.size)
    method = "mover_wilson_paired_ratio"
    k1, k2 = int(a.sum()), int(b.sum())
    if n == 0 or k2 == 0:
        return Interval(None, None, None, n, method, level)
    n11, n12 = int(np.sum(a & b)), int(np.sum(a & ~b))
    n21, n22 = int(np.sum(~a & b)), int(np.sum(~a & ~b))
    p1, p2 = k1 / n, k2 / n
    l1, u1 = _wilson(k1, n, level)
    l2, u2 = _wilson(k2, n, level)
    denominator = math.sqrt(k1 * (n - k1) * k2 * (n - k2))
    corr = (n11 * n22 - n12 * n21) / denominator if denominator else 0.0
    cross_low = corr * (p1 - l1) * (u2 - p2)
    cross_high = corr * (u1 - p1) * (p2 - l2)
    low_root = (cross_low - p1 * p2) ** 2 - l1 * (2 * p1 - l1) * u2 * (2 * p2 - u2)
    high_root = (cross_high - p1 * p2) ** 2 - u1 * (2 * p1 - u1) * l2 * (2 * p2 - l2)
    low_den = u2 * (u2 - 2 * p2)
    high_den = l2 * (l2 - 2 * p2)
    low = (cross_low - p1 * p2 + math.sqrt(max(0.0, low_root))) / low_den if low_den else 0.0
    high: float | None = None
    if high_den:
        candidate = (cross_high - p1 * p2 - math.sqrt(max(0.0, high_root))) / high_den
        high = candidate if candidate >= 0 and math.isfinite(candidate) else None
    return Interval(k1 / k2, max(0.0, low), high, n, method, level)


def clustered_proportion(
    successes: npt.ArrayLike, trials: npt.ArrayLike, *, level: float = CONFIDENCE_LEVEL
) -> Interval:
    """sum(successes) / sum(trials) over clusters: Wilson with n = the number of clusters.

    Treating each cluster as one observation assumes the outcomes within a cluster are
    perfectly correlated (the largest possible design effect), so it never understates the
    uncertainty; it needs no resampling, so it cannot collapse. n = clusters with a trial.
    """
    s = np.asarray(successes, dtype=np.float64).reshape(-1)
    t = np.asarray(trials, dtype=np.float64).reshape(-1)
    keep = t > 0
    s, t = s[keep], t[keep]
    method = "wilson_clusters"
    clusters = int(t.size)
    if clusters == 0:
        return Interval(None, None, None, 0, method, level)
    rate = float(s.sum() / t.sum())
    low, high = _wilson_fractional(rate, clusters, level)
    return Interval(rate, low, high, clusters, method, level)


def _wilson_fractional(p: float, n: int, level: float) -> tuple[float, float]:
    # The Wilson score formula for a (possibly non-integer) count p * n.
    z = _z(level)
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if p <= 0 else max(0.0, centre - half)
    return low, 1.0 if p >= 1 else min(1.0, centre + half)


def clustered_difference(
    successes_1: npt.ArrayLike,
    trials_1: npt.ArrayLike,
    successes_2: npt.ArrayLike,
    trials_2: npt.ArrayLike,
    *,
    level: float = CONFIDENCE_LEVEL,
) -> Interval:
    """Difference of two clustered rates: Newcombe's hybrid of their cluster Wilson limits.

    Combining them as independent ignores a positive correlation between the two rates of
    one cluster, which only widens the interval. n = clusters in either rate.
    """
    first = clustered_proportion(successes_1, trials_1, level=level)
    second = clustered_proportion(successes_2, trials_2, level=level)
    method = "newcombe_hybrid_wilson_clusters"
    t1 = np.asarray(trials_1, dtype=np.float64).reshape(-1)
    t2 = np.asarray(trials_2, dtype=np.float64).reshape(-1)
    n = int(np.sum((t1 > 0) | (t2 > 0))) if t1.size == t2.size else first.n + second.n
    if first.value is None or second.value is None:
        return Interval(None, None, None, n, method, level)
    assert first.low is not None and first.high is not None
    assert second.low is not None and second.high is not None
    low, high = _mover_difference(
        first.value, (first.low, first.high), second.value, (second.low, second.high)
    )
    return Interval(first.value - second.value, low, high, n, method, level)


def bonferroni_level(level: float, comparisons: int) -> float:
    """The per-group level that makes `comparisons` intervals hold together at `level`."""
    return 1 - (1 - level) / max(1, comparisons)


def absolute(interval: Interval) -> Interval:
    """|d| from an interval of d: [0, max|limit|] when it holds 0, else the mirrored limits."""
    if interval.value is None or interval.low is None or interval.high is None:
        return replace(interval, value=None if interval.value is None else abs(interval.value))
    low, high = interval.low, interval.high
    if low <= 0 <= high:
        bounds = (0.0, max(-low, high))
    elif low > 0:
        bounds = (low, high)
    else:
        bounds = (-high, -low)
    return replace(interval, value=abs(interval.value), low=bounds[0], high=bounds[1])


def extreme(
    intervals: Sequence[Interval], *, kind: Literal["max", "min"], level: float, method: str
) -> Interval:
    """The largest (or smallest) of several values, from their simultaneous intervals.

    The intervals must be computed at `bonferroni_level(level, len(intervals))`: then, with
    probability at least `level`, every true value lies in its interval, and the true maximum
    lies between the largest lower and the largest upper limit (minimum likewise). A missing
    upper limit (unbounded) stays missing. n = the smallest n among the groups.
    """
    defined = [i for i in intervals if i.value is not None and i.low is not None]
    if not defined:
        return Interval(None, None, None, 0, method, level)
    pick = max if kind == "max" else min
    value = pick(float(i.value) for i in defined if i.value is not None)
    low = pick(float(i.low) for i in defined if i.low is not None)
    highs = [i.high for i in defined]
    high: float | None
    if kind == "max":
        bounded = [float(h) for h in highs if h is not None]
        high = max(bounded) if len(bounded) == len(highs) else None
    else:
        finite = [float(h) for h in highs if h is not None]
        high = min(finite) if finite else None
    return Interval(value, low, high, min(i.n for i in defined), method, level)
