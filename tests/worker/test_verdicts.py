"""The decision table: each threshold's verdict from its interval, and each check's from those."""

from __future__ import annotations

import pytest

from worker.engine.checks.verdicts import Threshold, judge, min_n_for, overall
from worker.engine.types import MetricValue, Verdict


def m(value: float | None, low: float | None, high: float | None, n: int = 100) -> MetricValue:
    return MetricValue(
        "accuracy", value, low, high, n=n, unit="proportion", method="wilson", level=0.95
    )


AT_LEAST = Threshold("accuracy", "accuracy", None, ">=", 0.6)
AT_MOST = Threshold("accuracy", "accuracy", None, "<=", 0.6)


@pytest.mark.parametrize(
    ("metric", "threshold", "verdict", "reason"),
    [
        (m(0.8, 0.71, 0.88), AT_LEAST, "pass", "pass: 95 % CI lower bound 0.71 >= 0.6"),
        (m(0.8, 0.6, 0.88), AT_LEAST, "pass", "pass: 95 % CI lower bound 0.6 >= 0.6"),
        (m(0.5, 0.41, 0.59), AT_LEAST, "fail", "fail: 95 % CI upper bound 0.59 < 0.6"),
        (
            m(0.65, 0.55, 0.74),
            AT_LEAST,
            "inconclusive",
            "inconclusive: 95 % CI [0.55, 0.74] contains 0.6",
        ),
        # The case: 0.333 [0, 0.667] used to pass ">= 0.3".
        (
            m(0.333, 0.0, 0.667, n=3),
            Threshold("accuracy", "accuracy", None, ">=", 0.3),
            "insufficient_data",
            "insufficient data: n = 3 < 30",
        ),
        (m(0.4, 0.3, 0.5), AT_MOST, "pass", "pass: 95 % CI upper bound 0.5 <= 0.6"),
        (m(0.8, 0.7, 0.9), AT_MOST, "fail", "fail: 95 % CI lower bound 0.7 > 0.6"),
        (
            m(0.6, 0.5, 0.7),
            AT_MOST,
            "inconclusive",
            "inconclusive: 95 % CI [0.5, 0.7] contains 0.6",
        ),
        (
            m(None, None, None, n=0),
            AT_LEAST,
            "not_evaluated",
            "not evaluated: metric undefined: n = 0",
        ),
    ],
)
def test_each_threshold_verdict_follows_its_interval(
    metric: MetricValue, threshold: Threshold, verdict: str, reason: str
) -> None:
    [got] = judge([metric], [threshold])
    assert (got.verdict, got.reason) == (verdict, reason)
    if verdict != "not_evaluated":
        assert (got.low, got.high, got.n, got.level, got.method) == (
            metric.ci_low,
            metric.ci_high,
            metric.n,
            0.95,
            "wilson",
        )


def test_missing_metric_or_group_is_not_evaluated_with_its_reason() -> None:
    grouped = Threshold("accuracy[x]", "accuracy", "x", ">=", 0.5)
    got = judge([m(0.9, 0.8, 0.95)], [grouped], {})
    assert (got[0].verdict, got[0].reason) == (
        "not_evaluated",
        "not evaluated: no group 'x' in the results",
    )
    got = judge([], [AT_LEAST], {"accuracy": "no items of task mcq"})
    assert got[0].reason == "not evaluated: no items of task mcq"


def test_an_unbounded_upper_limit_can_pass_at_least_but_never_fail_it() -> None:
    ratio = MetricValue("ratio", 0.9, 0.7, None, n=50, unit="ratio", level=0.95)
    [ok] = judge([ratio], [Threshold("ratio", "ratio", None, ">=", 0.6)])
    [straddles] = judge([ratio], [Threshold("ratio", "ratio", None, ">=", 0.8)])
    assert ok.verdict == "pass" and straddles.verdict == "inconclusive"


def test_p_values_are_judged_by_their_value() -> None:
    p = MetricValue("mcnemar_p_value", 0.03, n=40, unit="p-value")
    [got] = judge([p], [Threshold("mcnemar_p_value", "mcnemar_p_value", None, ">=", 0.05)])
    assert (got.verdict, got.reason) == ("fail", "fail: p = 0.03 < 0.05")


def test_min_n_is_configurable_per_metric() -> None:
    assert min_n_for({}, "knowledge", "accuracy") == 30
    assert min_n_for({"min_n": 10}, "knowledge", "accuracy") == 10
    config = {"knowledge": {"min_n": {"accuracy": 5, "*": 50}}}
    assert min_n_for(config, "knowledge", "accuracy") == 5
    assert min_n_for(config, "knowledge", "ece") == 50
    with pytest.raises(ValueError, match="positive integer"):
        min_n_for({"min_n": 0}, "knowledge", "accuracy")


def v(state: str, rule: str = "threshold", metric: str = "accuracy") -> Verdict:
    return Verdict(metric, ">=", 0.5, 0.5, state, f"{state}: why", rule=rule)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        (["pass", "pass"], "pass"),
        (["pass", "fail"], "fail"),
        (["fail", "not_evaluated"], "fail"),
        # A threshold that could not be evaluated never lets the check pass.
        (["pass", "not_evaluated"], "incomplete"),
        (["pass", "insufficient_data"], "insufficient_data"),
        (["inconclusive", "insufficient_data"], "insufficient_data"),
        (["pass", "inconclusive"], "inconclusive"),
        ([], "incomplete"),
    ],
)
def test_check_verdict_passes_only_when_every_threshold_passes(
    states: list[str], expected: str
) -> None:
    verdict, reason = overall([v(s) for s in states])
    assert verdict == expected
    assert reason


def test_requirements_block_a_pass_and_preconditions_override_everything() -> None:
    # Thresholds pass, but the option-prior requirement does not: no pass.
    assert overall([v("pass"), v("inconclusive", "required", "gain_over_prior")])[0] == (
        "inconclusive"
    )
    # Requirements alone, with no configured threshold, pass nothing.
    assert overall([v("pass", "required")])[0] == "incomplete"
    # A model that does not beat chance: bias is inconclusive even if a threshold fails.
    verdict, reason = overall([v("fail", "precondition", "accuracy_base"), v("fail")])
    assert (verdict, reason) == ("inconclusive", "accuracy_base: fail: why")
    assert overall([v("insufficient_data", "precondition"), v("pass")])[0] == "insufficient_data"
