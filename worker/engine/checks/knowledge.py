"""Medical knowledge: multiple-choice accuracy (overall and per specialty) and calibration."""

from __future__ import annotations

from collections import Counter
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
from worker.engine.choice import chosen, normalization, option_value, split_priors, with_priors
from worker.engine.metrics import compute_metric
from worker.engine.metrics.answers import is_correct
from worker.engine.stats import ECE_BINS
from worker.engine.types import CheckResult, Item, ItemScore, MetricValue


class KnowledgeCheck:
    """Accuracy (Wilson CIs) overall and per specialty, ECE and Brier, against the prior."""

    name = "knowledge"
    metric_names = ("accuracy", "ece", "brier", "prior_accuracy", "gain_over_prior")
    # Which way each metric is better (+1 higher, -1 lower), for drift comparisons; the
    # option-prior accuracy has none (it measures the options as much as the model).
    directions = {
        "accuracy": 1,
        "ece": -1,
        "brier": -1,
        "gain_over_prior": 1,
    }

    def prepare(self, items: list[Item], config: dict[str, Any]) -> list[Item]:
        """The "mcq" items, each followed by its option-prior twin."""
        parse_thresholds(config, self.name, self.metric_names)
        normalization(config, self.name)
        return with_priors(unique_items(item for item in items if item.task == "mcq"))

    def mode(self, config: dict[str, Any]) -> str:
        return scoring_mode(config, self.name)

    def compute(
        self, items: list[Item], scores: list[ItemScore], config: dict[str, Any], *, seed: int
    ) -> CheckResult:
        thresholds = parse_thresholds(config, self.name, self.metric_names)
        scored, counts = pair_scores(items, scores, lambda i: i.task == "mcq")
        pairs, priors = split_priors(scored)
        counts["n_items"] = len(pairs)
        n_bins = int(param(config, self.name, "ece_bins", ECE_BINS))
        mode = self.mode(config)
        # Calibrate the scores the answer was chosen by, so the top probability is the choice.
        rule = normalization(config, self.name) if mode == "continuation" else "none"
        boot = bootstrap_params(config, self.name, seed)
        out = compute_metric(
            "medqa_accuracy",
            predictions=[chosen(s) for _, s in pairs],
            references=[list(item.gold) for item, _ in pairs],
            option_letters=[[o.letter for o in s.options] if s else [] for _, s in pairs],
            option_scores=[
                [option_value(o, rule) for o in s.options] if s else [] for _, s in pairs
            ],
            groups=[item.specialty or "" for item, _ in pairs],
            n_bins=n_bins,
            **boot,
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
        baseline = answer_baseline(pairs, priors, boot)
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
            "mode": mode,
            "normalization": rule,
            "ece_bins": n_bins,
            "calibration": f"softmax over the option scores the answer is chosen by ({rule})",
            **baseline.details,
            "n_correct_disagreements": disagreements,
            "languages": dict(Counter(item.language for item, _ in pairs)),
            "metric_output": out,
        }
        return result_with_baseline(
            self.name, metrics, baseline, thresholds, details, unavailable, config=config
        )
