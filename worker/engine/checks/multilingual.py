"""Multilingual: parallel items in several languages, accuracy parity and answer consistency."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from worker.engine.checks.base import (
    answer_baseline,
    bootstrap_params,
    metric_value,
    pair_scores,
    param,
    result_with_baseline,
    scoring_mode,
    unique_items,
)
from worker.engine.checks.verdicts import parse_thresholds
from worker.engine.choice import chosen, normalization, split_priors, with_priors
from worker.engine.metrics import compute_metric
from worker.engine.types import CheckResult, Item, ItemScore, MetricValue

PIVOT_LANGUAGE = "en"


class MultilingualCheck:
    """Accuracy per language, gap and worst-language ratio to the pivot, consistency."""

    name = "multilingual"
    metric_names = (
        "accuracy",
        "gap_to_pivot",
        "gap_to_pivot_max",
        "worst_language_ratio",
        "consistency",
        "prior_accuracy",
        "gain_over_prior",
    )
    # Which way each metric is better (+1 higher, -1 lower).
    directions = {
        "accuracy": 1,
        "gap_to_pivot": -1,
        "gap_to_pivot_max": -1,
        "worst_language_ratio": 1,
        "consistency": 1,
        "gain_over_prior": 1,
    }

    def prepare(self, items: list[Item], config: dict[str, Any]) -> list[Item]:
        """The "mcq" items whose parallel_id appears in two languages or more, with priors.

        Items pair across languages only through an explicit `parallel_id`: equal ids in
        files that are not translations of each other (MMedBench) would pair unrelated
        questions. A dataset without it is refused.
        """
        parse_thresholds(config, self.name, self.metric_names)
        normalization(config, self.name)
        mcq = unique_items(item for item in items if item.task == "mcq")
        missing = [item for item in mcq if not item.parallel_id]
        if missing:
            raise ValueError(
                f"the multilingual check pairs items across languages only through an explicit "
                f"parallel_id, and {len(missing)} of {len(mcq)} items have none (first: "
                f'{missing[0].id!r} in {missing[0].language!r}); add "parallel_id" to each '
                f"item, the same value for the translations of one question, or leave this "
                f"dataset out of the multilingual check"
            )
        languages = Counter(item.parallel_id for item in mcq)
        return with_priors([item for item in mcq if languages[item.parallel_id] >= 2])

    def mode(self, config: dict[str, Any]) -> str:
        return scoring_mode(config, self.name)

    def compute(
        self, items: list[Item], scores: list[ItemScore], config: dict[str, Any], *, seed: int
    ) -> CheckResult:
        thresholds = parse_thresholds(config, self.name, self.metric_names)
        pivot = str(param(config, self.name, "pivot_language", PIVOT_LANGUAGE))
        scored, counts = pair_scores(items, scores, lambda i: i.task == "mcq")
        pairs, priors = split_priors(scored)
        counts["n_items"] = len(pairs)
        boot = bootstrap_params(config, self.name, seed)
        out = compute_metric(
            "multilingual",
            ids=[item.parallel_id or item.id for item, _ in pairs],
            languages=[item.language for item, _ in pairs],
            predictions=[chosen(s) for _, s in pairs],
            references=[list(item.gold) for item, _ in pairs],
            pivot=pivot,
            **boot,
        )
        worst = out["worst_language_ratio"]
        metrics: list[MetricValue] = [
            *(
                metric_value("accuracy", interval, unit="proportion", group=lang)
                for lang, interval in out["accuracy_by_language"].items()
            ),
            *(
                metric_value("gap_to_pivot", interval, unit="proportion", group=lang)
                for lang, interval in out["gap_to_pivot"].items()
            ),
            metric_value("gap_to_pivot_max", out["gap_to_pivot_max"], unit="proportion"),
            metric_value("worst_language_ratio", worst, unit="ratio"),
            metric_value("consistency", out["consistency"], unit="proportion"),
            *(
                metric_value("consistency", interval, unit="proportion", group=pair)
                for pair, interval in out["consistency_by_pair"].items()
            ),
        ]
        baseline = answer_baseline(pairs, priors, boot, group=lambda item: item.language)
        languages = sorted(out["accuracy_by_language"])
        unavailable = _unavailable(self.metric_names, bool(pairs), pivot, languages)
        details = {
            **counts,
            "mode": self.mode(config),
            "pivot_language": pivot,
            "pairing": "parallel_id; metrics on the items present in every language",
            "normalization": normalization(config, self.name),
            **baseline.details,
            "languages": languages,
            "worst_language": worst["language"],
            "gap_to_pivot_max_language": (out["gap_to_pivot_max"] or {}).get("language"),
            "consistency_rule": "same option letter(s); an unparseable answer is never consistent",
            "metric_output": out,
        }
        return result_with_baseline(
            self.name, metrics, baseline, thresholds, details, unavailable, config=config
        )


def _unavailable(
    metric_names: Iterable[str], scored: bool, pivot: str, languages: list[str]
) -> dict[str, str]:
    """Metrics that cannot be computed from these items, with the reason."""
    unavailable: dict[str, str] = {}
    if not scored:
        unavailable = {n: "no items of task mcq" for n in metric_names}
    elif pivot not in languages:
        reason = f"no items in the pivot language {pivot!r}"
        unavailable.update(
            gap_to_pivot=reason, gap_to_pivot_max=reason, worst_language_ratio=reason
        )
    elif len(languages) < 2:
        reason = "items in one language only"
        unavailable.update(gap_to_pivot_max=reason, worst_language_ratio=reason, consistency=reason)
    return unavailable
