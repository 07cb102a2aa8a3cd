"""The option-prior baseline every check reports, and the requirement that a pass beats it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from worker.engine import intervals
from worker.engine.checks.verdicts import Threshold
from worker.engine.choice import chosen, prior_of
from worker.engine.stats import Interval
from worker.engine.types import Item, ItemScore, MetricValue

BASELINE_NOTE = "a pass must beat the option-prior baseline: the options without the question"

CorrectFn = Callable[[Item, str], bool]


def _row(name: str, interval: Interval, group: str | None, unit: str) -> MetricValue:
    return MetricValue(
        name=name,
        value=interval.value,
        ci_low=interval.low,
        ci_high=interval.high,
        n=interval.n,
        unit=unit,
        group=group,
        method=interval.method,
        level=interval.level,
    )


def _gain_requirement(group: str | None) -> Threshold:
    """A pass must beat the prior: gain_over_prior > 0 (in one group, or overall)."""
    return Threshold(
        key="gain_over_prior" + (f"[{group}]" if group is not None else ""),
        name="gain_over_prior",
        group=group,
        op=">",
        value=0.0,
        rule="required",
        note=BASELINE_NOTE,
    )


def prior_baseline(
    pairs: Sequence[tuple[Item, ItemScore | None]],
    priors: Mapping[tuple[str, str], ItemScore | None],
    correct: CorrectFn,
    *,
    level: float,
    proportion_method: intervals.ProportionMethod = "wilson",
    group: Callable[[Item], str | None] = lambda item: None,
) -> tuple[list[MetricValue], list[Threshold], dict[str, Any]]:
    """prior_accuracy and gain_over_prior (paired: with the question minus without) per group.

    Returns the metric rows, one requirement per group (gain_over_prior > 0 with its whole
    interval), and counts for the details.
    """
    outcomes: dict[str | None, tuple[list[bool], list[bool]]] = {}
    missing = 0
    for item, score in pairs:
        if score is None:
            continue
        prior = prior_of(item, priors)
        if prior is None:
            missing += 1
            continue
        with_question, alone = outcomes.setdefault(group(item), ([], []))
        with_question.append(correct(item, chosen(score)))
        alone.append(correct(item, chosen(prior)))
    metrics: list[MetricValue] = []
    requirements: list[Threshold] = []
    for key in sorted(outcomes, key=lambda g: "" if g is None else g):
        x, y = outcomes[key]
        alone_ci = intervals.proportion_of(y, level=level, method=proportion_method)
        gain = intervals.paired_difference(x, y, level=level)
        metrics += [
            _row("prior_accuracy", alone_ci, key, "proportion"),
            _row("gain_over_prior", gain, key, "difference"),
        ]
        requirements.append(_gain_requirement(key))
    if not outcomes:
        requirements.append(_gain_requirement(None))
    details = {
        "option_prior": (
            "the same options scored after a content-free context (no question, no passage); "
            "gain_over_prior = accuracy with the question minus accuracy from the options alone "
            "on the same items (Newcombe paired interval)"
        ),
        "n_without_prior": missing,
    }
    return metrics, requirements, details
