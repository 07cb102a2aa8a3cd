"""Statistics for the evaluation checks: bootstrap intervals, McNemar, calibration.

Plain numpy/scipy. Every bootstrap builds its own generator from the seed it is given
(`np.random.default_rng(seed)`), so each interval is reproducible on its own and adding a
metric to a check never changes the intervals of the others.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt


def scipy_stats() -> Any:
    """scipy.stats, imported on first use: it costs 0.4 s of start-up before any scoring."""
    from scipy import stats  # type: ignore[import-untyped, unused-ignore]

    return stats


FloatArray = npt.NDArray[np.float64]
BootstrapMethod = Literal["percentile", "BCa", "basic"]

CONFIDENCE_LEVEL = 0.95
N_RESAMPLES = 2000
# Below this many discordant pairs McNemar uses the exact binomial test (chi-square is poor).
MCNEMAR_EXACT_BELOW = 25
ECE_BINS = 10
_BIN_TOLERANCE = 1e-9
# Bootstrap resamples are drawn in batches of about this many values (about 60 bytes
# each at the peak): the same draws in any batching, so results do not depend on it.
_BATCH_VALUES = 1_000_000


@dataclass(frozen=True)
class Interval:
    """A point estimate with its confidence interval; None where it is not defined."""

    value: float | None
    low: float | None
    high: float | None
    n: int
    method: str | None = None
    level: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class McNemarResult:
    """McNemar's test on paired correctness: b = x right and y wrong, c = x wrong and y right."""

    b: int
    c: int
    statistic: float
    p_value: float
    method: Literal["exact", "chi2"]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _as_float_array(values: npt.ArrayLike) -> FloatArray:
    return np.asarray(values, dtype=np.float64).reshape(-1)


def _point(value: float) -> float | None:
    return value if math.isfinite(value) else None


def paired_bootstrap_ci(
    samples: Sequence[npt.ArrayLike],
    statistic: Callable[..., Any],
    *,
    seed: int,
    confidence_level: float = CONFIDENCE_LEVEL,
    n_resamples: int = N_RESAMPLES,
    method: BootstrapMethod = "percentile",
    vectorized: bool = True,
) -> Interval:
    """Bootstrap CI of `statistic(*samples)`, resampling the rows of all samples together.

    The samples are equal-length arrays whose i-th entries belong to the same unit (an item,
    a vignette): resampling units keeps their pairing, which is how clustered and paired
    statistics get honest intervals. A vectorized statistic takes an `axis` keyword.
    n = 0 gives no value; a sample where every resample is identical gives CI = point (which
    is why proportions use `worker.engine.intervals` instead).
    """
    result = _bootstrap(
        samples,
        statistic,
        seed=seed,
        confidence_level=confidence_level,
        n_resamples=n_resamples,
        method=method,
        vectorized=vectorized,
    )
    return replace(result, method=f"bootstrap_{method}", level=confidence_level)


def _bootstrap(
    samples: Sequence[npt.ArrayLike],
    statistic: Callable[..., Any],
    *,
    seed: int,
    confidence_level: float = CONFIDENCE_LEVEL,
    n_resamples: int = N_RESAMPLES,
    method: BootstrapMethod = "percentile",
    vectorized: bool = True,
) -> Interval:
    """Bootstrap CI of `statistic(*samples)`, resampling the rows of all samples together.

    The samples are equal-length arrays whose i-th entries belong to the same unit (an item,
    a vignette): resampling units keeps their pairing, which is how clustered and paired
    statistics get honest intervals. A vectorized statistic takes an `axis` keyword.
    n = 0 gives no value; a sample where every resample is identical gives CI = point.
    """
    arrays = [_as_float_array(s) for s in samples]
    if not arrays:
        raise ValueError("paired_bootstrap_ci needs at least one sample")
    n = arrays[0].size
    if any(a.size != n for a in arrays):
        raise ValueError(f"paired samples differ in length: {[a.size for a in arrays]}")
    if n == 0:
        return Interval(None, None, None, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = statistic(*arrays, axis=-1) if vectorized else statistic(*arrays)
    point = _point(float(raw))
    if point is None:
        return Interval(None, None, None, n)
    if n < 2 or all(np.ptp(a) == 0 for a in arrays):
        return Interval(point, point, point, n)
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        # Degenerate bootstrap distributions are handled below; scipy's warning adds nothing.
        warnings.simplefilter("ignore", scipy_stats().DegenerateDataWarning)
        res = scipy_stats().bootstrap(
            tuple(arrays),
            statistic,
            n_resamples=n_resamples,
            # Resamples in batches of about _BATCH_VALUES values, to bound memory on big n.
            batch=max(1, min(n_resamples, _BATCH_VALUES // n)),
            vectorized=vectorized,
            paired=len(arrays) > 1,
            confidence_level=confidence_level,
            method=method,
            rng=np.random.default_rng(seed),
        )
    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if math.isfinite(low) and math.isfinite(high):
        return Interval(point, low, high, n)
    dist = np.asarray(res.bootstrap_distribution, dtype=np.float64)
    finite = dist[np.isfinite(dist)]
    if finite.size == dist.size and np.ptp(finite) == 0:
        return Interval(point, point, point, n)
    # Some resamples left the statistic undefined (e.g. an empty denominator): no interval.
    return Interval(point, None, None, n)


def _mean(x: FloatArray, axis: int = -1) -> Any:
    return np.mean(x, axis=axis)


def bootstrap_ci(
    values: npt.ArrayLike,
    statistic: Callable[..., Any] = _mean,
    *,
    seed: int,
    confidence_level: float = CONFIDENCE_LEVEL,
    n_resamples: int = N_RESAMPLES,
    method: BootstrapMethod = "percentile",
) -> Interval:
    """Bootstrap CI of a one-sample statistic (default: the mean, e.g. accuracy of 0/1 values)."""
    return paired_bootstrap_ci(
        [values],
        statistic,
        seed=seed,
        confidence_level=confidence_level,
        n_resamples=n_resamples,
        method=method,
    )


def _mean_difference(x: FloatArray, y: FloatArray, axis: int = -1) -> Any:
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


def paired_difference_ci(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    seed: int,
    confidence_level: float = CONFIDENCE_LEVEL,
    n_resamples: int = N_RESAMPLES,
    method: BootstrapMethod = "percentile",
) -> Interval:
    """Paired bootstrap CI of mean(x) - mean(y), where x[i] and y[i] belong to the same unit."""
    return paired_bootstrap_ci(
        [x, y],
        _mean_difference,
        seed=seed,
        confidence_level=confidence_level,
        n_resamples=n_resamples,
        method=method,
    )


def _rate(successes: FloatArray, trials: FloatArray, axis: int = -1) -> Any:
    return np.sum(successes, axis=axis) / np.sum(trials, axis=axis)


def _rate_difference(
    s1: FloatArray, t1: FloatArray, s2: FloatArray, t2: FloatArray, axis: int = -1
) -> Any:
    return _rate(s1, t1, axis) - _rate(s2, t2, axis)


def clustered_rate_ci(
    successes: npt.ArrayLike,
    trials: npt.ArrayLike,
    *,
    seed: int,
    confidence_level: float = CONFIDENCE_LEVEL,
    n_resamples: int = N_RESAMPLES,
    method: BootstrapMethod = "percentile",
) -> Interval:
    """Rate sum(successes) / sum(trials) with a cluster bootstrap CI (one entry per cluster).

    Used where several observations share a unit (the variants of one vignette, the language
    pairs of one item): resampling whole clusters respects their correlation.
    n is the number of trials, not of clusters.
    """
    s, t = _as_float_array(successes), _as_float_array(trials)
    keep = t > 0
    s, t = s[keep], t[keep]
    res = paired_bootstrap_ci(
        [s, t],
        _rate,
        seed=seed,
        confidence_level=confidence_level,
        n_resamples=n_resamples,
        method=method,
    )
    return Interval(res.value, res.low, res.high, int(t.sum()))


def clustered_rate_difference_ci(
    successes_1: npt.ArrayLike,
    trials_1: npt.ArrayLike,
    successes_2: npt.ArrayLike,
    trials_2: npt.ArrayLike,
    *,
    seed: int,
    confidence_level: float = CONFIDENCE_LEVEL,
    n_resamples: int = N_RESAMPLES,
    method: BootstrapMethod = "percentile",
) -> Interval:
    """Difference of two clustered rates, the clusters resampled jointly (n = clusters)."""
    arrays = [_as_float_array(a) for a in (successes_1, trials_1, successes_2, trials_2)]
    keep = (arrays[1] > 0) | (arrays[3] > 0)
    arrays = [a[keep] for a in arrays]
    if arrays[1].sum() == 0 or arrays[3].sum() == 0:
        return Interval(None, None, None, int(keep.sum()))
    return paired_bootstrap_ci(
        arrays,
        _rate_difference,
        seed=seed,
        confidence_level=confidence_level,
        n_resamples=n_resamples,
        method=method,
    )


def wilson_interval(
    successes: int, n: int, *, confidence_level: float = CONFIDENCE_LEVEL
) -> Interval:
    """Wilson score interval of a binomial proportion (no continuity correction)."""
    if n == 0:
        return Interval(None, None, None, 0)
    p = successes / n
    z = float(scipy_stats().norm.ppf(1 - (1 - confidence_level) / 2))
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half), n)


def mcnemar(b: int, c: int, *, exact_below: int = MCNEMAR_EXACT_BELOW) -> McNemarResult:
    """McNemar's test from the discordant counts b and c.

    b + c < exact_below: exact two-sided binomial test of b ~ Bin(b + c, 1/2), statistic
    min(b, c). Otherwise chi-square with continuity correction (|b - c| - 1)^2 / (b + c),
    one degree of freedom. No discordant pairs: p = 1.
    """
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be >= 0, got b={b}, c={c}")
    if b + c < exact_below:
        p = 1.0 if b + c == 0 else float(scipy_stats().binomtest(b, b + c, 0.5).pvalue)
        return McNemarResult(b, c, float(min(b, c)), min(p, 1.0), "exact")
    statistic = (abs(b - c) - 1) ** 2 / (b + c)
    return McNemarResult(b, c, statistic, float(scipy_stats().chi2.sf(statistic, 1)), "chi2")


def mcnemar_paired(
    x_correct: npt.ArrayLike,
    y_correct: npt.ArrayLike,
    *,
    exact_below: int = MCNEMAR_EXACT_BELOW,
) -> McNemarResult:
    """McNemar's test on paired correctness of x and y (b = x right, y wrong; c = the reverse)."""
    x = np.asarray(x_correct, dtype=bool).reshape(-1)
    y = np.asarray(y_correct, dtype=bool).reshape(-1)
    if x.size != y.size:
        raise ValueError(f"paired correctness differs in length: {x.size} != {y.size}")
    return mcnemar(int(np.sum(x & ~y)), int(np.sum(~x & y)), exact_below=exact_below)


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values, in the order given."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def softmax(scores: npt.ArrayLike) -> FloatArray:
    """Softmax of log-likelihood scores: the model's probabilities over the offered options."""
    x = _as_float_array(scores)
    if x.size == 0:
        return x
    e = np.exp(x - np.max(x))
    result: FloatArray = e / e.sum()
    return result


def _ece_bin_indices(confidences: FloatArray, n_bins: int) -> npt.NDArray[np.intp]:
    # Equal-width bins [k/B, (k+1)/B); a confidence of exactly 1.0 goes into the last bin.
    # The small tolerance keeps a softmax's 0.6999999999 in the bin of 0.7, where it belongs.
    scaled = np.floor(confidences * n_bins + _BIN_TOLERANCE)
    return np.clip(scaled, 0, n_bins - 1).astype(np.intp)


def _ece_last_axis(conf: FloatArray, hit: FloatArray, n_bins: int) -> FloatArray:
    """ECE of each row (last axis) of conf and hit, with one bincount for all rows."""
    n = conf.shape[-1]
    rows = int(np.prod(conf.shape[:-1], dtype=np.int64))
    flat_conf = conf.reshape(rows, n)
    idx = _ece_bin_indices(flat_conf, n_bins) + np.arange(rows)[:, None] * n_bins
    size = rows * n_bins
    conf_sum = np.bincount(idx.ravel(), weights=flat_conf.ravel(), minlength=size)
    hit_sum = np.bincount(idx.ravel(), weights=hit.reshape(rows, n).ravel(), minlength=size)
    # Per bin |sum(hit) - sum(conf)| / N equals (n_bin / N) * |acc_bin - conf_bin|.
    per_row = np.abs(hit_sum - conf_sum).reshape(rows, n_bins).sum(axis=1) / n
    result: FloatArray = per_row.reshape(conf.shape[:-1])
    return result


def _check_calibration_inputs(conf: FloatArray, hit: FloatArray, n_bins: int) -> None:
    if conf.size != hit.size:
        raise ValueError(f"confidences and correct differ in length: {conf.size} != {hit.size}")
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    if np.any((conf < 0) | (conf > 1)):
        raise ValueError("confidences must lie in [0, 1]")


def expected_calibration_error(
    confidences: npt.ArrayLike, correct: npt.ArrayLike, *, n_bins: int = ECE_BINS
) -> float | None:
    """ECE = sum over bins of (n_bin / N) * |accuracy_bin - mean confidence_bin|.

    Equal-width bins on [0, 1] (default 10), each [k/B, (k+1)/B) with 1.0 in the last bin
    (a confidence within 1e-9 below an edge counts as on it); empty bins contribute nothing.
    N = 0 gives None.
    """
    conf = _as_float_array(confidences)
    hit = _as_float_array(correct)
    _check_calibration_inputs(conf, hit, n_bins)
    if conf.size == 0:
        return None
    return float(_ece_last_axis(conf, hit, n_bins))


def expected_calibration_error_ci(
    confidences: npt.ArrayLike,
    correct: npt.ArrayLike,
    *,
    n_bins: int = ECE_BINS,
    seed: int,
    confidence_level: float = CONFIDENCE_LEVEL,
    n_resamples: int = N_RESAMPLES,
    method: BootstrapMethod = "percentile",
) -> Interval:
    """ECE with a bootstrap CI, items (confidence, correctness) resampled together."""
    conf = _as_float_array(confidences)
    hit = _as_float_array(correct)
    _check_calibration_inputs(conf, hit, n_bins)

    def statistic(c: FloatArray, h: FloatArray, axis: int = -1) -> FloatArray:
        return _ece_last_axis(np.moveaxis(c, axis, -1), np.moveaxis(h, axis, -1), n_bins)

    return paired_bootstrap_ci(
        [conf, hit],
        statistic,
        seed=seed,
        confidence_level=confidence_level,
        n_resamples=n_resamples,
        method=method,
    )


def brier_per_item(probabilities: Sequence[npt.ArrayLike], gold_index: Sequence[int]) -> FloatArray:
    """Multi-class Brier score of each item: sum_k (p_k - 1[k = gold])^2, in [0, 2]."""
    if len(probabilities) != len(gold_index):
        raise ValueError("probabilities and gold_index differ in length")
    out = np.empty(len(probabilities), dtype=np.float64)
    for i, (probs, gold) in enumerate(zip(probabilities, gold_index, strict=True)):
        p = _as_float_array(probs)
        target = np.zeros_like(p)
        target[gold] = 1.0
        out[i] = float(np.sum((p - target) ** 2))
    return out


def brier_score(probabilities: Sequence[npt.ArrayLike], gold_index: Sequence[int]) -> float | None:
    """Mean multi-class Brier score over items; None when there are none."""
    per_item = brier_per_item(probabilities, gold_index)
    return float(per_item.mean()) if per_item.size else None
