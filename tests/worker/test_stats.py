"""Statistics of the checks, checked against scipy on the same numbers and against hand sums."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import stats as sps

from worker.engine import stats

CORRECT = np.array([1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1], dtype=float)


@pytest.mark.parametrize("method", ["percentile", "BCa"])
def test_bootstrap_ci_equals_scipy_bootstrap_with_the_same_seed(method: str) -> None:
    ours = stats.bootstrap_ci(CORRECT, seed=11, n_resamples=999, method=method)  # type: ignore[arg-type]
    ref = sps.bootstrap(
        (CORRECT,), np.mean, n_resamples=999, method=method, rng=np.random.default_rng(11)
    )
    assert ours.value == pytest.approx(CORRECT.mean())
    assert ours.low == pytest.approx(ref.confidence_interval.low)
    assert ours.high == pytest.approx(ref.confidence_interval.high)
    assert ours.n == CORRECT.size
    assert ours.low is not None and ours.high is not None and ours.low < ours.high


def test_bootstrap_ci_is_reproducible_and_depends_on_the_seed() -> None:
    data = np.random.default_rng(0).normal(size=40)
    first = stats.bootstrap_ci(data, seed=1, n_resamples=500)
    assert first == stats.bootstrap_ci(data, seed=1, n_resamples=500)
    assert first != stats.bootstrap_ci(data, seed=2, n_resamples=500)


def test_bootstrap_ci_of_no_data_is_undefined() -> None:
    assert stats.bootstrap_ci([], seed=0) == stats.Interval(
        None, None, None, 0, "bootstrap_percentile", 0.95
    )


@pytest.mark.parametrize("values", [[1.0, 1.0, 1.0, 1.0], [0.0] * 7, [0.3]])
def test_bootstrap_ci_of_equal_values_is_the_point(values: list[float]) -> None:
    result = stats.bootstrap_ci(values, seed=0, method="BCa")
    assert result == stats.Interval(
        values[0], values[0], values[0], len(values), "bootstrap_BCa", 0.95
    )


def test_paired_difference_ci_equals_scipy_paired_bootstrap() -> None:
    x = np.array([1, 1, 0, 1, 1, 0, 1, 1, 1, 0], dtype=float)
    y = np.array([0, 1, 0, 0, 1, 0, 1, 0, 1, 0], dtype=float)
    ours = stats.paired_difference_ci(x, y, seed=5, n_resamples=999)

    def diff(a: np.ndarray, b: np.ndarray, axis: int = -1) -> Any:
        return np.mean(a, axis=axis) - np.mean(b, axis=axis)

    ref = sps.bootstrap(
        (x, y),
        diff,
        paired=True,
        n_resamples=999,
        method="percentile",
        rng=np.random.default_rng(5),
    )
    assert ours.value == pytest.approx(0.3)
    assert (ours.low, ours.high) == pytest.approx(
        (ref.confidence_interval.low, ref.confidence_interval.high)
    )


def test_clustered_rate_is_a_ratio_of_sums_with_clusters_resampled() -> None:
    flips = np.array([1, 0, 2, 0, 3, 1], dtype=float)
    trials = np.array([2, 2, 2, 1, 3, 2], dtype=float)
    ours = stats.clustered_rate_ci(flips, trials, seed=3, n_resamples=999)

    def ratio(s: np.ndarray, t: np.ndarray, axis: int = -1) -> Any:
        return np.sum(s, axis=axis) / np.sum(t, axis=axis)

    ref = sps.bootstrap(
        (flips, trials),
        ratio,
        paired=True,
        n_resamples=999,
        method="percentile",
        rng=np.random.default_rng(3),
    )
    assert ours.value == pytest.approx(7 / 12)
    assert ours.n == 12
    assert (ours.low, ours.high) == pytest.approx(
        (ref.confidence_interval.low, ref.confidence_interval.high)
    )


def test_mcnemar_uses_the_exact_binomial_test_below_25_discordant_pairs() -> None:
    result = stats.mcnemar(3, 10)
    assert result.method == "exact"
    assert result.p_value == pytest.approx(sps.binomtest(3, 13, 0.5).pvalue)
    assert result.p_value == pytest.approx(0.0922851562)


def test_mcnemar_uses_chi_square_with_continuity_correction_from_25_pairs() -> None:
    result = stats.mcnemar(30, 12)
    expected = (abs(30 - 12) - 1) ** 2 / (30 + 12)
    assert result.method == "chi2"
    assert result.statistic == pytest.approx(expected)
    assert result.p_value == pytest.approx(sps.chi2.sf(expected, df=1))


def test_mcnemar_switches_method_exactly_at_25() -> None:
    assert stats.mcnemar(14, 10).method == "exact"
    at_25 = stats.mcnemar(15, 10)
    assert at_25.method == "chi2"
    assert at_25.p_value == pytest.approx(sps.chi2.sf(16 / 25, df=1))


def test_mcnemar_with_no_discordant_pairs_finds_no_difference() -> None:
    assert stats.mcnemar(0, 0).p_value == 1.0


def test_mcnemar_paired_counts_b_as_x_right_y_wrong() -> None:
    x = [1, 1, 1, 0, 0, 1]
    y = [0, 0, 1, 1, 0, 0]
    result = stats.mcnemar_paired(x, y)
    assert (result.b, result.c) == (3, 1)


def test_wilson_interval_matches_scipy() -> None:
    ours = stats.wilson_interval(7, 20)
    ref = sps.binomtest(7, 20).proportion_ci(confidence_level=0.95, method="wilson")
    assert ours.value == pytest.approx(0.35)
    assert (ours.low, ours.high) == pytest.approx((ref.low, ref.high))
    assert stats.wilson_interval(0, 0).value is None


def test_holm_adjustment_by_hand() -> None:
    assert stats.holm_adjust([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert stats.holm_adjust([0.5, 0.6]) == pytest.approx([1.0, 1.0])


def test_expected_calibration_error_by_hand() -> None:
    confidences = [0.9, 0.95, 0.3, 0.35]
    correct = [1, 0, 0, 1]
    # 10 bins: bin 9 holds 0.9 and 0.95 (acc 0.5, conf 0.925), bin 3 holds 0.3 and 0.35
    # (acc 0.5, conf 0.325): 2/4 * 0.425 + 2/4 * 0.175 = 0.3.
    assert stats.expected_calibration_error(confidences, correct) == pytest.approx(0.3)
    # One bin: |0.5 - 0.625| = 0.125.
    assert stats.expected_calibration_error(confidences, correct, n_bins=1) == pytest.approx(0.125)


def test_expected_calibration_error_bin_edges() -> None:
    # 1.0 falls in the last bin; 0.5 with 2 bins opens the upper bin [0.5, 1.0].
    assert stats.expected_calibration_error([1.0, 0.0], [1, 0]) == pytest.approx(0.0)
    ece = stats.expected_calibration_error([0.5, 0.9], [0, 1], n_bins=2)
    # Both in the upper bin: acc 0.5, conf 0.7 -> 0.2. Were 0.5 in the lower bin: 0.3.
    assert ece == pytest.approx(0.2)
    assert stats.expected_calibration_error([], []) is None


def test_expected_calibration_error_keeps_a_rounded_edge_value_in_its_bin() -> None:
    # 0.7 as a softmax computes it (0.69999...) shares bin [0.7, 0.8) with 0.75:
    # |1 - (0.7 + 0.75)| / 2 = 0.225; split over two bins it would be (0.3 + 0.75) / 2.
    ece = stats.expected_calibration_error([0.7 - 1e-12, 0.75], [1, 0])
    assert ece == pytest.approx(0.225)


def test_brier_score_by_hand_from_softmax_of_log_likelihoods() -> None:
    probs = [stats.softmax(np.log([0.7, 0.2, 0.1])), stats.softmax(np.log([0.5, 0.5]))]
    assert probs[0] == pytest.approx([0.7, 0.2, 0.1])
    # (0.3^2 + 0.2^2 + 0.1^2) = 0.14 and (0.5^2 + 0.5^2) = 0.5.
    assert stats.brier_per_item(probs, [0, 1]) == pytest.approx([0.14, 0.5])
    assert stats.brier_score(probs, [0, 1]) == pytest.approx(0.32)
    assert stats.brier_score([], []) is None


def test_softmax_is_shift_invariant_and_stable() -> None:
    probs = stats.softmax([-1000.0, -1001.0])
    assert probs.sum() == pytest.approx(1.0)
    assert probs[0] == pytest.approx(1 / (1 + math.exp(-1)))


def test_ece_interval_equals_scipy_bootstrap_of_the_plain_ece() -> None:
    rng = np.random.default_rng(4)
    conf = rng.uniform(size=60)
    hit = (rng.uniform(size=60) < conf).astype(float)
    ours = stats.expected_calibration_error_ci(conf, hit, seed=9, n_resamples=300)

    def ece(c: np.ndarray, h: np.ndarray) -> float:
        value = stats.expected_calibration_error(c, h)
        assert value is not None
        return value

    ref = sps.bootstrap(
        (conf, hit),
        ece,
        paired=True,
        vectorized=False,
        n_resamples=300,
        method="percentile",
        rng=np.random.default_rng(9),
    )
    assert ours.value == pytest.approx(stats.expected_calibration_error(conf, hit))
    assert (ours.low, ours.high) == pytest.approx(
        (ref.confidence_interval.low, ref.confidence_interval.high)
    )


def test_resampling_in_batches_gives_the_same_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    whole = stats.bootstrap_ci(CORRECT, seed=2, n_resamples=500)
    monkeypatch.setattr(stats, "_BATCH_VALUES", 3 * CORRECT.size)
    assert stats.bootstrap_ci(CORRECT, seed=2, n_resamples=500) == whole
