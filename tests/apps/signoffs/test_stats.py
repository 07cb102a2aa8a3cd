"""Preference statistics against published worked examples and outside implementations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from statsmodels.stats.inter_rater import cohens_kappa, fleiss_kappa
from statsmodels.stats.proportion import proportion_confint

from apps.signoffs import stats

# Wikipedia, "Bradley–Terry model", worked example: wins of four teams (row beat column).
BT_WINS = [[0, 2, 0, 1], [3, 0, 5, 0], [0, 3, 0, 1], [4, 0, 3, 0]]
BT_SCORES = [0.640, 1.043, 0.660, 2.270]  # as published, geometric mean 1
# Wikipedia, "Fleiss' kappa", worked example: 10 subjects, 14 raters, 5 categories.
FLEISS_TABLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def test_wilson_interval_matches_newcombes_worked_example():
    # Newcombe (1998), Stat Med 17:857, example 81/263: Wilson 0.2553 to 0.3662.
    low, high = stats.wilson_interval(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    assert (low, high) == pytest.approx(proportion_confint(81, 263, method="wilson"))


@pytest.mark.parametrize(("k", "n"), [(0, 1), (1, 1), (0, 10), (10, 10), (3, 7)])
def test_wilson_interval_edges_match_statsmodels_and_never_have_zero_width(k, n):
    low, high = stats.wilson_interval(k, n)
    assert (low, high) == pytest.approx(proportion_confint(k, n, method="wilson"), abs=1e-12)
    assert high - low > 0


def test_win_rate_excludes_ties_and_reports_them():
    result = stats.win_rate(wins_a=81, wins_b=182, ties=20)

    assert result["n"] == 283 and result["decisive"] == 263 and result["ties"] == 20
    assert result["a"]["rate"] == pytest.approx(81 / 263)
    assert (round(result["a"]["low"], 4), round(result["a"]["high"], 4)) == (0.2553, 0.3662)
    assert result["b"]["rate"] == pytest.approx(182 / 263)
    assert result["tie_rate"] == pytest.approx(20 / 283)
    assert result["a"]["rate_ties_half"] == pytest.approx((81 + 10) / 283)


def test_win_rate_with_no_judgments_or_only_ties_is_undefined_not_zero():
    empty = stats.win_rate(0, 0, 0)
    ties = stats.win_rate(0, 0, 4)

    assert empty["a"]["rate"] is None and empty["tie_rate"] is None
    assert ties["a"]["rate"] is None and ties["a"]["low"] is None
    assert ties["tie_rate"] == 1.0 and ties["a"]["rate_ties_half"] == 0.5


def test_bradley_terry_matches_the_published_worked_example():
    scores = stats.bradley_terry(BT_WINS)

    assert [round(s, 3) for s in scores] == BT_SCORES
    assert math.prod(scores) == pytest.approx(1.0)


def test_bradley_terry_of_two_versions_is_the_odds_of_winning():
    a, b = stats.bradley_terry([[0, 30], [10, 0]])

    assert a / b == pytest.approx(3.0)
    assert a * b == pytest.approx(1.0)


def test_bradley_terry_is_undefined_for_a_side_that_never_lost_or_never_won():
    assert stats.bradley_terry([[0, 5], [0, 0]]) == [None, None]
    assert stats.bradley_terry([[0, 0], [0, 0]]) == [None, None]


def test_cohens_kappa_matches_the_published_worked_example():
    # Wikipedia, "Cohen's kappa": 50 proposals, both yes 20, both no 15 -> kappa 0.4.
    first = ["yes"] * 25 + ["no"] * 25
    second = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15

    result = stats.cohen(first, second, ["yes", "no"])

    assert result["kappa"] == pytest.approx(0.4)
    assert result["observed_agreement"] == pytest.approx(0.7)
    reference = cohens_kappa(np.array([[20, 5], [10, 15]]))
    assert (result["low"], result["high"]) == pytest.approx(
        (reference.kappa_low, reference.kappa_upp)
    )
    assert result["low"] < 0.4 < result["high"]


def test_cohens_kappa_edges():
    assert stats.cohen([], [], ["a", "b"])["kappa"] is None
    same = stats.cohen(["a"] * 5, ["a"] * 5, ["a", "b", "tie"])
    assert same["kappa"] is None and "single category" in same["reason"]
    perfect = stats.cohen(["a", "b", "a", "b"], ["a", "b", "a", "b"], ["a", "b"])
    assert perfect["kappa"] == pytest.approx(1.0)


def test_fleiss_kappa_matches_the_published_worked_example():
    categories = ["1", "2", "3", "4", "5"]
    ratings = [
        [categories[c] for c, count in enumerate(row) for _ in range(count)] for row in FLEISS_TABLE
    ]

    result = stats.fleiss(ratings, categories, seed=7)

    assert round(result["kappa"], 3) == 0.210
    assert result["kappa"] == pytest.approx(fleiss_kappa(np.array(FLEISS_TABLE)))
    assert result["raters"] == 14 and result["n"] == 10
    assert result["low"] < result["kappa"] < result["high"]
    assert stats.fleiss(ratings, categories, seed=7)["low"] == result["low"]  # seeded


def test_fleiss_kappa_edges():
    assert stats.fleiss([], ["a", "b"])["kappa"] is None
    one_category = stats.fleiss([["a", "a", "a"]] * 4, ["a", "b", "tie"])
    assert one_category["kappa"] is None
    single = stats.fleiss([["a", "b", "a"]], ["a", "b", "tie"])
    assert single["low"] is None and single["high"] is None


def test_criterion_means_use_a_t_interval():
    from scipy import stats as scipy_stats

    result = stats.criterion_means({"safety": [4, 5, 3, 4], "empathy": [5], "accuracy": []})

    mean, low, high = (
        4.0,
        *scipy_stats.t.interval(0.95, 3, loc=4.0, scale=np.std([4, 5, 3, 4], ddof=1) / 2),
    )
    assert result["safety"]["mean"] == mean
    assert (result["safety"]["low"], result["safety"]["high"]) == pytest.approx((low, high))
    assert result["empathy"] == {"mean": 5.0, "low": None, "high": None, "n": 1}
    assert result["accuracy"]["mean"] is None
