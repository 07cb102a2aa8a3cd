"""Medical knowledge: multiple-choice accuracy (overall and per specialty) and calibration."""

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
from worker.engine.metrics.answers import is_correct
from worker.engine.stats import ECE_BINS
from worker.engine.types import CheckResult, Item, ItemScore, MetricValue


class KnowledgeCheck:
    """Accuracy with bootstrap CIs, per specialty, ECE and Brier score on "mcq" items."""

    name = "knowledge"
    metric_names = ("accuracy", "ece", "brier")
    # Which way each metric is better (+1 higher, -1 lower), for drift comparisons.
    directions = {"accuracy": 1, "ece": -1, "brier": -1}

    def prepare(self, items: list[Item], config: dict[str, Any]) -> list[Item]:
        parse_thresholds(config, self.name, self.metric_names)
        return unique_items(item for item in items if item.task == "mcq")

    def mode(self, config: dict[str, Any]) -> str:
        return scoring_mode(config, self.name)

    def compute(
        self, items: list[Item], scores: list[ItemScore], config: dict[str, Any], *, seed: int
    ) -> CheckResult:
        thresholds = parse_thresholds(config, self.name, self.metric_names)
        pairs, counts = pair_scores(items, scores, lambda i: i.task == "mcq")
        n_bins = int(param(config, self.name, "ece_bins", ECE_BINS))
        # Calibrate the scores the scorer chose by, so the top probability is the chosen option.
        normalized = bool(param(config, self.name, "length_normalized", False))
        out = compute_metric(
            "medqa_accuracy",
            predictions=[chosen(s) for _, s in pairs],
            references=[list(item.gold) for item, _ in pairs],
            option_letters=[[o.letter for o in s.options] if s else [] for _, s in pairs],
            option_scores=[
                [o.logprob_per_token if normalized else o.logprob for o in s.options] if s else []
                for _, s in pairs
            ],
            groups=[item.specialty or "" for item, _ in pairs],
            n_bins=n_bins,
            **bootstrap_params(config, self.name, seed),
        )
        metrics: list[MetricValue] = [
            metric_value("accuracy", out["accuracy"], unit="proportion"),
            *(
                metric_value("accuracy", interval, unit="proportion", group=specialty)
                for specialty, interval in out["accuracy_by_group"].items()
            ),
            metric_value("ece", out["ece"], unit="probability"),
            metric_value("brier", out["brier"], unit="score"),
        ]
        unavailable = {n: "no items of task mcq" for n in self.metric_names} if not pairs else {}
        for name in ("ece", "brier"):
            if pairs and not out[name]["n"]:
                unavailable[name] = (
                    "metric undefined: n=0 (no single-answer items with option scores)"
                )
        disagreements = sum(
            1 for item, s in pairs if s is not None and s.correct != is_correct(s.chosen, item.gold)
        )
        details = {
            **counts,
            "mode": self.mode(config),
            "ece_bins": n_bins,
            "calibration": "softmax over the per-option log-likelihoods"
            + (" per token (length_normalized)" if normalized else " (sums over tokens)"),
            "n_correct_disagreements": disagreements,
            "languages": dict(Counter(item.language for item, _ in pairs)),
            "metric_output": out,
        }
        return build_result(self.name, metrics, thresholds, details, unavailable)
