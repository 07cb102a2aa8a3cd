"""What every check is, and the plumbing they share: parameters, score pairing, metric values.

The config a check receives is the suite configuration:
`{"mode": ..., "seed": 0, "n_resamples": 2000, "thresholds": {check: {...}}, check: {...}}`.
A parameter is read from `config[check]` first, then from the top level, then the default.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from worker.engine.checks.baseline import CorrectFn, prior_baseline
from worker.engine.checks.verdicts import Threshold, judge, min_n_for, overall
from worker.engine.intervals import PROPORTION_METHODS
from worker.engine.metrics.answers import is_correct
from worker.engine.prompts import MODES
from worker.engine.stats import CONFIDENCE_LEVEL, N_RESAMPLES
from worker.engine.types import CheckResult, Item, ItemScore, MetricValue

DECISION_RULE = (
    "per threshold: insufficient_data when n < min_n; pass when the whole confidence interval "
    "is on the passing side; fail when it is wholly on the failing side; else inconclusive. "
    "A check passes only when every threshold and requirement passes."
)
BOOTSTRAP_METHODS = ("percentile", "BCa", "basic")


class Check(Protocol):
    """A check: which items it needs, how they are scored, and what it makes of the scores.

    A check of the registry also declares `directions`: which way each of its metrics is
    better (+1 higher, -1 lower); metrics without one (p-values, abstention rates) are
    compared and reported, never alerted on.
    """

    name: str

    def prepare(self, items: list[Item], config: dict[str, Any]) -> list[Item]: ...

    def mode(self, config: dict[str, Any]) -> str: ...

    def compute(
        self, items: list[Item], scores: list[ItemScore], config: dict[str, Any], *, seed: int
    ) -> CheckResult: ...


def param(config: dict[str, Any], check: str, key: str, default: Any) -> Any:
    """A check parameter: config[check][key], else config[key], else the default."""
    own = config.get(check) or {}
    if not isinstance(own, dict):
        raise ValueError(f"config[{check!r}] must be a mapping of parameters, got {own!r}")
    if key in own:
        return own[key]
    return config.get(key, default)


def scoring_mode(config: dict[str, Any], check: str) -> str:
    """The scoring mode for a check (default "continuation"), validated."""
    mode = param(config, check, "mode", "continuation")
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r} for check {check!r}; valid: {', '.join(MODES)}")
    return str(mode)


def bootstrap_params(config: dict[str, Any], check: str, seed: int) -> dict[str, Any]:
    """Keyword arguments for the metric modules' bootstraps."""
    method = param(config, check, "bootstrap_method", "percentile")
    if method not in BOOTSTRAP_METHODS:
        raise ValueError(
            f"unknown bootstrap_method {method!r}; valid: {', '.join(BOOTSTRAP_METHODS)}"
        )
    interval = param(config, check, "proportion_interval", "wilson")
    if interval not in PROPORTION_METHODS:
        raise ValueError(
            f"unknown proportion_interval {interval!r}; valid: {', '.join(PROPORTION_METHODS)}"
        )
    level = float(param(config, check, "confidence_level", CONFIDENCE_LEVEL))
    if not 0.5 <= level < 1:
        raise ValueError(f"confidence_level must lie in [0.5, 1), got {level!r}")
    return {
        "seed": seed,
        "n_resamples": int(param(config, check, "n_resamples", N_RESAMPLES)),
        "confidence_level": level,
        "bootstrap_method": method,
        "proportion_method": interval,
    }


def unique_items(items: Iterable[Item]) -> list[Item]:
    """Items unique on (id, language), in order.

    The same item given twice (one item in two datasets) is kept once; two different items
    under one id and language are an error.
    """
    seen: dict[tuple[str, str], Item] = {}
    unique = []
    for item in items:
        key = (item.id, item.language)
        first = seen.get(key)
        if first is None:
            seen[key] = item
            unique.append(item)
        elif _content(first) != _content(item):
            raise ValueError(
                f"two different items share id {item.id!r} in language {item.language!r}"
            )
    return unique


def _content(item: Item) -> tuple[Any, ...]:
    return (item.question, item.options, item.gold, item.task, item.context, item.bias)


def pair_scores(
    items: Sequence[Item], scores: Sequence[ItemScore], keep: Callable[[Item], bool]
) -> tuple[list[tuple[Item, ItemScore | None]], dict[str, int]]:
    """Pair each item that `keep` accepts with its score; one with no score stays, unanswered.

    Scores in the items' order (what the runner passes) pair by position, so parallel
    items sharing an id across languages keep their own scores; otherwise they pair by id,
    which must then be unique. Returns the pairs and counts for the result details.
    """
    pairs: list[tuple[Item, ItemScore | None]]
    unmatched = 0
    if len(scores) == len(items) and all(
        s.item_id == i.id for i, s in zip(items, scores, strict=True)
    ):
        pairs = list(zip(items, scores, strict=True))
    else:
        ids = [item.id for item in items]
        if len(set(ids)) != len(ids):
            raise ValueError(
                "item ids repeat and the scores are not in item order: scores cannot be matched"
            )
        by_id: dict[str, ItemScore] = {}
        for score in scores:
            if score.item_id in by_id:
                raise ValueError(f"two scores for item {score.item_id!r}")
            by_id[score.item_id] = score
        pairs = [(item, by_id.get(item.id)) for item in items]
        unmatched = len(set(by_id) - set(ids))
    kept = [(item, score) for item, score in pairs if keep(item)]
    counts = {
        "n_items": len(kept),
        "n_missing_scores": sum(1 for _, s in kept if s is None),
        "n_unmatched_scores": unmatched,
    }
    return kept, counts


def metric_value(
    name: str, interval: dict[str, Any] | None, *, unit: str, group: str | None = None
) -> MetricValue:
    """A MetricValue from a metric module's {value, low, high, n, method, level} entry."""
    if interval is None:
        return MetricValue(name=name, value=None, n=0, unit=unit, group=group)
    return MetricValue(
        name=name,
        value=interval["value"],
        ci_low=interval["low"],
        ci_high=interval["high"],
        n=int(interval["n"]),
        unit=unit,
        group=group,
        method=interval.get("method"),
        level=interval.get("level"),
    )


def build_result(
    check: str,
    metrics: list[MetricValue],
    thresholds: Sequence[Threshold],
    details: dict[str, Any],
    unavailable: dict[str, str] | None = None,
    *,
    config: dict[str, Any] | None = None,
    requirements: Sequence[Threshold] = (),
) -> CheckResult:
    """Judge the metrics against the thresholds and the engine's requirements; assemble."""
    config = config or {}
    rules = [*requirements, *thresholds]
    floors = {t.name: min_n_for(config, check, t.name) for t in rules}
    verdicts = judge(metrics, rules, unavailable, floors)
    verdict, reason = overall(verdicts)
    details = {
        **details,
        "verdict_reason": reason,
        "decision_rule": DECISION_RULE,
        "min_n": floors,
    }
    return CheckResult(check, metrics, verdicts, verdict, details)


# The rule most checks score by: an answer is right when it is the gold letter(s).
def answer_is_gold(item: Item, answer: str) -> bool:
    return is_correct(answer, item.gold)


@dataclass(frozen=True)
class Baseline:
    """A check's option-prior baseline: its metric rows, requirements and details."""

    metrics: list[MetricValue]
    requirements: list[Threshold]
    details: dict[str, Any]


def answer_baseline(
    pairs: Sequence[tuple[Item, ItemScore | None]],
    priors: Mapping[tuple[str, str], ItemScore | None],
    boot: dict[str, Any],
    *,
    correct: CorrectFn = answer_is_gold,
    group: Callable[[Item], str | None] | None = None,
) -> Baseline:
    """The option-prior baseline at the check's confidence level and proportion interval."""
    by_group = {} if group is None else {"group": group}
    metrics, requirements, details = prior_baseline(
        pairs,
        priors,
        correct,
        level=boot["confidence_level"],
        proportion_method=boot["proportion_method"],
        **by_group,
    )
    return Baseline(metrics, requirements, details)


def result_with_baseline(
    check: str,
    metrics: list[MetricValue],
    baseline: Baseline,
    thresholds: Sequence[Threshold],
    details: dict[str, Any],
    unavailable: dict[str, str] | None = None,
    *,
    config: dict[str, Any],
    preconditions: Sequence[Threshold] = (),
) -> CheckResult:
    """The check's result: its metrics then the baseline's, judged against the thresholds,
    the preconditions and the baseline's requirement (a pass must beat the prior)."""
    return build_result(
        check,
        [*metrics, *baseline.metrics],
        thresholds,
        details,
        unavailable,
        config=config,
        requirements=[*preconditions, *baseline.requirements],
    )


# Every parameter a check reads, with its default: the manifest records them all expanded.
COMMON_PARAMETERS: dict[str, Any] = {
    "mode": "continuation",
    "normalization": "byte",
    "confidence_level": CONFIDENCE_LEVEL,
    "proportion_interval": "wilson",
    "n_resamples": N_RESAMPLES,
    "bootstrap_method": "percentile",
    "min_n": 30,
    "max_new_tokens": 64,
    "do_sample": False,
    "temperature": 1.0,
}
CHECK_PARAMETERS: dict[str, dict[str, Any]] = {
    "knowledge": {"ece_bins": 10},
    "hallucination": {"seed": 0, "fct_proposed_correct_share": None, "grounding_threshold": 0.5},
    "bias": {},
    "multilingual": {"pivot_language": "en"},
}


def effective_parameters(check: str, config: dict[str, Any]) -> dict[str, Any]:
    """The check's parameters as it reads them: configured values, else the defaults."""
    from worker.engine.choice import normalization

    defaults = {**COMMON_PARAMETERS, **CHECK_PARAMETERS.get(check, {})}
    values = {key: param(config, check, key, default) for key, default in defaults.items()}
    values["normalization"] = normalization(config, check)
    values["thresholds"] = dict((config.get("thresholds") or {}).get(check) or {})
    values["decision_rule"] = DECISION_RULE
    return values
