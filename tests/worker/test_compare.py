"""Paired version comparison: Newcombe's paired interval, McNemar, Holm, the generalisation map."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep

from worker.engine.compare import (
    Outcome,
    compare_versions,
    generalisation_map,
    newcombe_paired_interval,
)


@pytest.mark.parametrize(
    "table", [(5, 4, 3, 3), (4, 3, 3, 3), (6, 5, 5, 5), (1, 1, 1, 1), (3, 2, 4, 3)]
)
def test_paired_interval_equals_newcombe_independent_when_phi_is_zero(table):
    # With a*d - b*c in [0, n/2] Newcombe's phi is 0 and method 10 reduces to the hybrid score
    # interval of two proportions, which statsmodels implements independently.
    a, b, c, d = table
    n = sum(table)
    assert 0 <= a * d - b * c <= n / 2
    got = newcombe_paired_interval(a, b, c, d)
    low, high = confint_proportions_2indep(a + b, n, a + c, n, method="newcomb", compare="diff")
    assert got.low == pytest.approx(low, abs=1e-12)
    assert got.high == pytest.approx(high, abs=1e-12)


@pytest.mark.parametrize(
    "table", [(0, 0, 0, 1), (1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 0, 40), (40, 0, 0, 0), (3, 0, 0, 2)]
)
def test_paired_interval_never_has_zero_width(table):
    got = newcombe_paired_interval(*table)
    assert got.low is not None and got.high is not None
    assert got.high - got.low > 0.05
    assert -1 <= got.low <= got.estimate <= got.high <= 1


def test_paired_interval_is_empty_without_data():
    got = newcombe_paired_interval(0, 0, 0, 0)
    assert (got.estimate, got.low, got.high, got.n) == (None, None, None, 0)


def test_paired_interval_covers_close_to_nominal_with_correlated_pairs():
    # Simulated coverage of the correlated case (phi != 0): method 10's coverage is close to
    # 95 % (Newcombe 1998 reports a mean of about 0.95 over his parameter space).
    rng = np.random.default_rng(7)
    probs = np.array([0.55, 0.10, 0.05, 0.30])  # both, first only, second only, neither
    true_diff = probs[1] - probs[2]
    hits = 0
    reps = 2000
    for counts in rng.multinomial(60, probs, size=reps):
        ci = newcombe_paired_interval(*map(int, counts))
        hits += ci.low <= true_diff <= ci.high
    assert 0.93 <= hits / reps <= 0.975


def _outcomes(spec):
    """spec: {specialty: [(a_correct, b_correct), ...]} -> two version outcome maps."""
    a, b = {}, {}
    for specialty, pairs in spec.items():
        for i, (x, y) in enumerate(pairs):
            key = f"{specialty}-{i}"
            labels = {"specialty": specialty, "language": "en"}
            a[key] = Outcome(x, labels)
            b[key] = Outcome(y, labels)
    return a, b


def test_comparison_finds_the_improved_specialty_and_nothing_else():
    # Cardiology: 20 items go wrong -> right, none the other way. Dermatology: 4 each way.
    cardiology = [(False, True)] * 20 + [(True, True)] * 15 + [(False, False)] * 5
    dermatology = [(False, True)] * 4 + [(True, False)] * 4 + [(True, True)] * 32
    a, b = _outcomes({"cardiology": cardiology, "dermatology": dermatology})
    result = compare_versions(a, b)
    rows = {(r.dimension, r.group): r for r in result.rows}
    cardio = rows[("specialty", "cardiology")]
    derm = rows[("specialty", "dermatology")]
    assert cardio.decision == "improved"
    assert derm.decision == "no_significant_change"
    assert cardio.difference.estimate == pytest.approx(0.5)
    assert cardio.difference.low > 0
    assert derm.difference.low < 0 < derm.difference.high
    # McNemar p-values from statsmodels' exact test on the same tables.
    for row, table in ((cardio, [[15, 0], [20, 5]]), (derm, [[32, 4], [4, 0]])):
        assert row.p_value == pytest.approx(sm_mcnemar(table, exact=True).pvalue, rel=1e-9)
    # Holm across every row, as statsmodels computes it.
    raw = [r.p_value for r in result.rows]
    expected = multipletests(raw, method="holm")[1]
    assert [r.p_holm for r in result.rows] == pytest.approx(list(expected), rel=1e-12)
    assert len(result.newly_wrong) == 4 and len(result.newly_right) == 24
    assert "cardiology" in result.summary and "4 items newly wrong" in result.summary


def test_small_groups_are_insufficient_data_not_unchanged():
    a, b = _outcomes({"nephrology": [(False, True)] * 6})
    row = next(r for r in compare_versions(a, b).rows if r.group == "nephrology")
    assert row.decision == "insufficient_data"
    assert "under the minimum of 30" in row.reason


def test_comparison_uses_only_shared_items_and_counts_the_rest():
    a, b = _outcomes({"cardiology": [(True, True)] * 3})
    a["extra"] = Outcome(True, {})
    result = compare_versions(a, b)
    assert (result.only_in_a, result.only_in_b) == (1, 0)
    assert next(r for r in result.rows if r.dimension == "overall").n == 3


def test_generalisation_map_lists_weakest_sufficient_cells_first():
    outcomes = {}
    for specialty, language, k, n in [
        ("cardio", "en", 30, 40),
        ("cardio", "es", 10, 40),
        ("derm", "en", 1, 5),
    ]:
        for i in range(n):
            outcomes[f"{specialty}-{language}-{i}"] = Outcome(
                i < k, {"specialty": specialty, "language": language}
            )
    cells = generalisation_map(outcomes)
    assert [(c.specialty, c.language) for c in cells] == [
        ("cardio", "es"),
        ("cardio", "en"),
        ("derm", "en"),
    ]
    first = cells[0]
    low, high = sps.binomtest(10, 40).proportion_ci(method="wilson")
    assert (first.low, first.high) == (pytest.approx(low), pytest.approx(high))
    assert cells[-1].sufficient is False


def test_generalisation_map_reports_drift_on_shared_items():
    now = {f"k{i}": Outcome(i < 30, {"specialty": "cardio", "language": "en"}) for i in range(40)}
    before = {
        f"k{i}": Outcome(i < 10, {"specialty": "cardio", "language": "en"}) for i in range(40)
    }
    (cell,) = generalisation_map(now, previous=before)
    assert cell.drift is not None
    assert cell.drift.estimate == pytest.approx(0.5)
    assert cell.drift.low > 0
