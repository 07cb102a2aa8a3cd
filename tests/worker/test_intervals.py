"""Honest intervals, checked against scipy, statsmodels and published worked examples."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from worker.engine import intervals

SMALL = [(k, n) for n in range(1, 6) for k in range(n + 1)] + [(0, 9), (0, 40), (40, 40), (7, 23)]


@pytest.mark.parametrize(("k", "n"), SMALL)
def test_wilson_matches_statsmodels_and_scipy_and_never_collapses(k: int, n: int) -> None:
    ours = intervals.proportion(k, n, level=0.95)
    low, high = proportion_confint(k, n, alpha=0.05, method="wilson")
    ref = sps.binomtest(k, n).proportion_ci(method="wilson")
    assert ours.value == pytest.approx(k / n)
    assert ours.low == pytest.approx(low, abs=1e-12) == pytest.approx(ref.low, abs=1e-12)
    assert ours.high == pytest.approx(high, abs=1e-12)
    assert ours.high > ours.low
    assert (ours.n, ours.method, ours.level) == (n, "wilson", 0.95)


@pytest.mark.parametrize(("k", "n"), SMALL)
def test_clopper_pearson_matches_statsmodels_beta_interval(k: int, n: int) -> None:
    ours = intervals.proportion(k, n, level=0.9, method="clopper_pearson")
    low, high = proportion_confint(k, n, alpha=0.1, method="beta")
    assert ours.low == pytest.approx(low, abs=1e-10)
    assert ours.high == pytest.approx(high, abs=1e-10)
    assert ours.high > ours.low


def test_zero_of_nine_is_not_the_point_zero() -> None:
    # The accuracy[emergency_medicine]: 0/9 gave [0, 0] with the bootstrap.
    exact = intervals.proportion(0, 9, method="clopper_pearson")
    assert exact.low == 0.0 and exact.high == pytest.approx(0.3363, abs=1e-4)


def test_no_trials_give_no_value_and_bad_counts_are_refused() -> None:
    empty = intervals.proportion(0, 0)
    assert (empty.value, empty.low, empty.high, empty.n) == (None, None, None, 0)
    with pytest.raises(ValueError, match="successes"):
        intervals.proportion(3, 2)
    with pytest.raises(ValueError, match="unknown proportion interval"):
        intervals.proportion(1, 2, method="wald")  # type: ignore[arg-type]


def _paired(n11: int, n12: int, n21: int, n22: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.array([1] * n11 + [1] * n12 + [0] * n21 + [0] * n22, dtype=bool)
    y = np.array([1] * n11 + [0] * n12 + [1] * n21 + [0] * n22, dtype=bool)
    return x, y


def test_newcombe_paired_matches_fagerland_worked_example() -> None:
    # Fagerland, Lydersen & Laake, "Statistical Analysis of Contingency Tables" ch. 8 (Cavo
    # et al. 2012): estimate -0.0621, 95% CI -0.1186 to -0.0046.
    x, y = _paired(59, 6, 16, 80)
    ours = intervals.paired_difference(x, y)
    assert ours.value == pytest.approx(-0.0621, abs=5e-5)
    assert ours.low == pytest.approx(-0.1186, abs=5e-5)
    assert ours.high == pytest.approx(-0.0046, abs=5e-5)
    assert ours.n == 161 and ours.method == "newcombe_paired"


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("agree", [True, False])
def test_newcombe_paired_never_collapses_when_every_pair_agrees(n: int, agree: bool) -> None:
    x = np.ones(n, dtype=bool) if agree else np.zeros(n, dtype=bool)
    ours = intervals.paired_difference(x, x.copy())
    assert ours.value == 0.0
    assert ours.low is not None and ours.high is not None
    assert ours.low < 0 < ours.high
    assert ours.low >= -1 and ours.high <= 1


@pytest.mark.parametrize(("k1", "n1", "k2", "n2"), [(7, 34, 1, 34), (0, 16, 15, 72), (0, 3, 3, 3)])
def test_independent_difference_matches_statsmodels_newcomb(
    k1: int, n1: int, k2: int, n2: int
) -> None:
    ours = intervals.independent_difference(k1, n1, k2, n2)
    low, high = confint_proportions_2indep(k1, n1, k2, n2, method="newcomb", compare="diff")
    assert ours.low == pytest.approx(low, abs=1e-9)
    assert ours.high == pytest.approx(high, abs=1e-9)


def test_paired_ratio_matches_fagerland_mover_wilson_example() -> None:
    # Same book and table: ratio 0.8667, 95% CI 0.7592 to 0.9866.
    x, y = _paired(59, 6, 16, 80)
    ours = intervals.paired_ratio(x, y)
    assert ours.value == pytest.approx(0.8667, abs=5e-5)
    assert ours.low == pytest.approx(0.7592, abs=5e-5)
    assert ours.high == pytest.approx(0.9866, abs=5e-5)


def test_paired_ratio_is_undefined_without_denominator_successes() -> None:
    assert intervals.paired_ratio([1, 0], [0, 0]).value is None


def test_clustered_proportion_uses_clusters_and_does_not_collapse() -> None:
    # 12 vignettes x 3 variants, no flip at all: the bootstrap gave [0, 0].
    ours = intervals.clustered_proportion(np.zeros(12), np.full(12, 3.0))
    ref = intervals.proportion(0, 12)
    assert (ours.value, ours.low, ours.high, ours.n) == (0.0, ref.low, ref.high, 12)
    assert ours.high > 0


def test_clustered_difference_is_the_hybrid_of_the_cluster_intervals() -> None:
    ours = intervals.clustered_difference([1, 0, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0], [1, 1, 1, 1])
    low, high = confint_proportions_2indep(1, 4, 0, 4, method="newcomb", compare="diff")
    assert ours.value == pytest.approx(0.25)
    assert ours.low == pytest.approx(low) and ours.high == pytest.approx(high)


def test_maximum_over_groups_uses_bonferroni_limits() -> None:
    level = intervals.bonferroni_level(0.95, 3)
    assert level == pytest.approx(1 - 0.05 / 3)
    groups = [intervals.proportion(k, 20, level=level) for k in (3, 9, 6)]
    top = intervals.extreme(groups, kind="max", level=0.95, method="max_bonferroni")
    assert top.value == pytest.approx(9 / 20)
    assert top.low == pytest.approx(max(g.low for g in groups))  # type: ignore[type-var]
    assert top.high == pytest.approx(max(g.high for g in groups))  # type: ignore[type-var]
    # Simultaneous limits are wider than the 95% limits of the selected group alone.
    alone = intervals.proportion(9, 20)
    assert top.low < alone.low  # type: ignore[operator]


def test_absolute_value_of_an_interval_through_zero_starts_at_zero() -> None:
    d = intervals.paired_difference([1, 1, 0, 0], [1, 0, 1, 0])
    gap = intervals.absolute(d)
    assert gap.value == 0.0 and gap.low == 0.0
    assert gap.high == pytest.approx(max(-d.low, d.high))  # type: ignore[operator]


def test_affine_maps_accuracy_to_medhalt_score() -> None:
    acc = intervals.proportion(3, 10)
    score = intervals.affine(acc, scale=1.25, shift=-0.25, method="wilson_affine")
    assert score.value == pytest.approx(1.25 * 0.3 - 0.25)
    assert score.low == pytest.approx(1.25 * acc.low - 0.25)  # type: ignore[operator]
