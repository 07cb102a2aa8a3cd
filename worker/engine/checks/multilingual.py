"""Multilingual: parallel items in several languages, accuracy parity and answer consistency."""

from __future__ import annotations

from collections import Counter
from typing import Any

from worker.engine.checks.base import (
    bootstrap_params,
    build_result,
    chosen,
    metric_value,
    pair_scores,
    param,
    scoring_mode,
    unique_items,
)
from worker.engine.checks.verdicts import parse_thresholds
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
    )
    # Which way each metric is better (+1 higher, -1 lower).
    directions = {
        "accuracy": 1,
        "gap_to_pivot": -1,
        "gap_to_pivot_max": -1,
        "worst_language_ratio": 1,
        "consistency": 1,
    }

    def prepare(self, items: list[Item], config: dict[str, Any]) -> list[Item]:
        """The "mcq" items whose id appears in two languages or more (parallel items)."""
        parse_thresholds(config, self.name, self.metric_names)
        mcq = unique_items(item for item in items if item.task == "mcq")
        languages = Counter(item.id for item in mcq)
        return [item for item in mcq if languages[item.id] >= 2]

    def mode(self, config: dict[str, Any]) -> str:
        return scoring_mode(config, self.name)

    def compute(
        self, items: list[Item], scores: list[ItemScore], config: dict[str, Any], *, seed: int
    ) -> CheckResult:
        thresholds = parse_thresholds(config, self.name, self.metric_names)
        pivot = str(param(config, self.name, "pivot_language", PIVOT_LANGUAGE))
        pairs, counts = pair_scores(items, scores, lambda i: i.task == "mcq")
        out = compute_metric(
            "multilingual",
            ids=[item.id for item, _ in pairs],
            languages=[item.language for item, _ in pairs],
            predictions=[chosen(s) for _, s in pairs],
            references=[list(item.gold) for item, _ in pairs],
            pivot=pivot,
            **bootstrap_params(config, self.name, seed),
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
            MetricValue(
                name="worst_language_ratio",
                value=worst["value"],
                n=len(out["accuracy_by_language"]),
                unit="ratio",
            ),
            metric_value("consistency", out["consistency"], unit="proportion"),
            *(
                metric_value("consistency", interval, unit="proportion", group=pair)
                for pair, interval in out["consistency_by_pair"].items()
            ),
        ]
        languages = sorted(out["accuracy_by_language"])
        unavailable: dict[str, str] = {}
        if not pairs:
            unavailable = {n: "no items of task mcq" for n in self.metric_names}
        elif pivot not in languages:
            reason = f"no items in the pivot language {pivot!r}"
            unavailable.update(
                gap_to_pivot=reason, gap_to_pivot_max=reason, worst_language_ratio=reason
            )
        elif len(languages) < 2:
            reason = "items in one language only"
            unavailable.update(
                gap_to_pivot_max=reason, worst_language_ratio=reason, consistency=reason
            )
        details = {
            **counts,
            "mode": self.mode(config),
            "pivot_language": pivot,
            "languages": languages,
            "worst_language": worst["language"],
            "gap_to_pivot_max_language": (out["gap_to_pivot_max"] or {}).get("language"),
            "consistency_rule": "same option letter(s); an unparseable answer is never consistent",
            "metric_output": out,
        }
        return build_result(self.name, metrics, thresholds, details, unavailable)
