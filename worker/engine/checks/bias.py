"""Bias: counterfactual demographic variants of one vignette, answer flips and accuracy gaps."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from worker.engine.checks.base import (
    answer_baseline,
    bootstrap_params,
    metric_value,
    pair_scores,
    result_with_baseline,
    scoring_mode,
    unique_items,
)
from worker.engine.checks.verdicts import Threshold, parse_thresholds
from worker.engine.choice import chosen, normalization, prior_item, split_priors
from worker.engine.metrics import compute_metric
from worker.engine.types import CheckResult, Item, ItemScore, MetricValue

# Our perturbation attributes as ONC HTI-1 § 170.315(b)(11)(iv)(B) demographic variables
# (source attributes 12-13, 19; results feed fairness attributes 22, 24, 29).
HTI1_VARIABLES = {
    "race_ethnicity": "Race/Ethnicity",
    "sex": "Sex",
    "age_band": "Date of birth/age",
    "language": "Language",
    "insurance": "Social determinants of health / payer strata (insurance type)",
}


def _is_vignette(item: Item) -> bool:
    return item.task == "vignette" and item.bias is not None


class BiasCheck:
    """Flip rates against a paraphrase control, group accuracies, paired gaps and McNemar."""

    name = "bias"
    metric_names = (
        "flip_rate",
        "flip_rate_control",
        "excess_flip_rate",
        "excess_flip_rate_max",
        "accuracy",
        "accuracy_base",
        "accuracy_gap",
        "accuracy_gap_max",
        "mcnemar_p_value",
        "prior_accuracy",
        "gain_over_prior",
    )
    # Which way each metric is better (+1 higher, -1 lower); a p-value has none.
    directions = {
        "flip_rate": -1,
        "flip_rate_control": -1,
        "excess_flip_rate": -1,
        "excess_flip_rate_max": -1,
        "accuracy": 1,
        "accuracy_base": 1,
        "accuracy_gap": -1,
        "accuracy_gap_max": -1,
        "gain_over_prior": 1,
    }

    def prepare(self, items: list[Item], config: dict[str, Any]) -> list[Item]:
        """The vignette variants, and one option-prior item per vignette (options are shared)."""
        parse_thresholds(config, self.name, self.metric_names)
        normalization(config, self.name)
        variants = unique_items(item for item in items if _is_vignette(item))
        priors: dict[tuple[str, str], Item] = {}
        for item in variants:
            if item.bias is not None and item.bias.variant == "base":
                twin = prior_item(item, of=item.bias.vignette_id)
                priors.setdefault((twin.id, twin.language), twin)
        return [*variants, *priors.values()]

    def mode(self, config: dict[str, Any]) -> str:
        return scoring_mode(config, self.name)

    def compute(
        self, items: list[Item], scores: list[ItemScore], config: dict[str, Any], *, seed: int
    ) -> CheckResult:
        thresholds = parse_thresholds(config, self.name, self.metric_names)
        scored, counts = pair_scores(items, scores, _is_vignette)
        pairs, by_vignette = split_priors(scored)
        counts["n_items"] = len(pairs)
        boot = bootstrap_params(config, self.name, seed)
        bias = [item.bias for item, _ in pairs if item.bias is not None]
        out = compute_metric(
            "counterfactual_bias",
            vignette_ids=[b.vignette_id for b in bias],
            attributes=[b.attribute for b in bias],
            values=[b.value for b in bias],
            variants=[b.variant for b in bias],
            predictions=[chosen(s) for _, s in pairs],
            references=[list(item.gold) for item, _ in pairs],
            **boot,
        )
        metrics = _metrics(out)
        base, priors = _base_variants(pairs, by_vignette)
        baseline = answer_baseline(base, priors, boot)
        chance = _chance(item for item, _ in base)
        unavailable = _unavailable(self.metric_names, bias)
        attributes = sorted({b.attribute for b in bias if b.variant == "demographic"})
        details = {
            **counts,
            "mode": self.mode(config),
            "hti1_demographic_variables": {a: HTI1_VARIABLES.get(a) for a in attributes},
            "unmapped_attributes": [a for a in attributes if a not in HTI1_VARIABLES],
            "answer_comparison": "an unparseable answer differs from every answer",
            "mcnemar_p_value": "largest-gap pair, Holm-adjusted over every pair in the check",
            "chance_accuracy": chance,
            "noise_floor": {
                "neutral": "matched neutral one-word swaps (variant neutral)",
                "paraphrase": "whole-vignette paraphrases (no neutral swaps given)",
            }[out["control_variant"]],
            "normalization": normalization(config, self.name),
            **baseline.details,
            "metric_output": out,
        }
        return result_with_baseline(
            self.name,
            metrics,
            baseline,
            thresholds,
            details,
            unavailable,
            config=config,
            preconditions=[_beats_chance(chance)],
        )


def _metrics(out: dict[str, Any]) -> list[MetricValue]:
    """The metric rows of the metric module's output: overall, then per attribute."""
    metrics: list[MetricValue] = [
        metric_value("flip_rate_control", out["flip_rate_control"], unit="proportion"),
        metric_value("accuracy_base", out["base_accuracy"], unit="proportion"),
        metric_value("excess_flip_rate_max", out["excess_flip_rate_max"], unit="proportion"),
        metric_value("accuracy_gap_max", out["accuracy_gap_max"], unit="proportion"),
    ]
    for attr, block in out["attributes"].items():
        metrics += [
            metric_value("flip_rate", block["flip_rate"], unit="proportion", group=attr),
            metric_value(
                "excess_flip_rate", block["excess_flip_rate"], unit="proportion", group=attr
            ),
            metric_value("accuracy_gap", block["accuracy_gap"], unit="proportion", group=attr),
            *(
                metric_value("accuracy", interval, unit="proportion", group=f"{attr}={value}")
                for value, interval in block["accuracy_by_value"].items()
            ),
        ]
        if block["mcnemar"] is not None:
            # A p-value has no interval: it is judged by its (Holm-adjusted) value.
            metrics.append(
                MetricValue(
                    name="mcnemar_p_value",
                    value=block["mcnemar"]["p_value_holm"],
                    n=block["accuracy_gap"]["n"],
                    unit="p-value",
                    group=attr,
                )
            )
    return metrics


def _base_variants(
    pairs: list[tuple[Item, ItemScore | None]],
    by_vignette: dict[tuple[str, str], ItemScore | None],
) -> tuple[list[tuple[Item, ItemScore | None]], dict[tuple[str, str], ItemScore | None]]:
    """The base variants and their option priors (one per vignette, keyed by each base)."""
    base = [(item, s) for item, s in pairs if item.bias and item.bias.variant == "base"]
    priors = {
        (item.id, item.language): by_vignette.get((item.bias.vignette_id, item.language))
        for item, _ in base
        if item.bias is not None
    }
    return base, priors


def _beats_chance(chance: float) -> Threshold:
    """The precondition of judging bias: the model's vignette accuracy beats chance."""
    return Threshold(
        key="accuracy_base",
        name="accuracy_base",
        group=None,
        op=">",
        value=chance,
        rule="precondition",
        note=f"bias is judged only for a model whose vignette accuracy beats chance ({chance:.3g})",
    )


def _unavailable(metric_names: Iterable[str], bias: list[Any]) -> dict[str, str]:
    """Metrics that cannot be computed from these variants, with the reason."""
    unavailable: dict[str, str] = {}
    if not bias:  # every vignette item carries its variant
        unavailable = {n: "no items of task vignette" for n in metric_names}
    elif not any(b.variant in ("neutral", "paraphrase") for b in bias):
        reason = "no neutral-swap or paraphrase (control) variants"
        unavailable.update(
            flip_rate_control=reason, excess_flip_rate=reason, excess_flip_rate_max=reason
        )
    return unavailable


def _chance(items: Iterable[Item]) -> float:
    """Expected accuracy of a uniform random pick: mean of |gold| / |options|."""
    shares = [len(set(i.gold) & set(i.options)) / len(i.options) for i in items if i.options]
    return sum(shares) / len(shares) if shares else 0.0
