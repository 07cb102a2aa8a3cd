"""The CHAI card's KeyMetrics sections: for each element, the checks that feed it, the five
fields the XSD asks for and the results table and charts, from the latest runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from apps.reports.constants import CHECK_TITLES, DATA_ORIGINS
from apps.reports.profiles import data, figures, metrics, prose
from apps.reports.profiles.base import FieldSpec

if TYPE_CHECKING:
    from apps.reports.context import CardContext

# KeyMetrics element -> the checks that feed it.
KEY_METRIC_CHECKS = {
    "UsefulnessUsabilityEfficacy": ("knowledge",),
    "FairnessEquity": ("bias", "multilingual"),
    "SafetyReliability": ("hallucination",),
}
KEY_METRIC_TITLES = {
    "UsefulnessUsabilityEfficacy": "Usefulness, usability and efficacy",
    "FairnessEquity": "Fairness and equity",
    "SafetyReliability": "Safety and reliability",
}
H_RUN = "Evaluations → run a suite with the {} check(s) on this model version"


def metric_goal(ctx: CardContext, checks: tuple[str, ...]) -> str | None:
    lines = []
    for run_facts in ctx.runs_with(*checks):
        thresholds = run_facts.run.suite.thresholds or {}
        for check in checks:
            for key, spec in sorted((thresholds.get(check) or {}).items()):
                for op, value in spec.items():
                    lines.append(f"{CHECK_TITLES.get(check, check)}: {key} {op} {value}")
        if lines:
            return f"Pass thresholds of suite {run_facts.suite_label}:\n" + prose.bullets(lines)  # type: ignore[operator]
    return None


def interpretation(ctx: CardContext, checks: tuple[str, ...]) -> str | None:
    blocks = []
    for run_facts in ctx.runs_with(*checks):
        lines = metrics.headline(run_facts, checks)
        verdicts = [run_facts.checks[ch].verdict for ch in checks if ch in run_facts.checks]
        overall = metrics.overall_verdict(verdicts)
        blocks.append(
            f"**{run_facts.label}** — overall verdict **{overall}**:\n"
            + (prose.bullets(lines) or "")
        )
    return "\n\n".join(blocks) or None


def test_type(ctx: CardContext, checks: tuple[str, ...]) -> str | None:
    runs = ctx.runs_with(*checks)
    if not runs:
        return None
    origins = sorted(
        {DATA_ORIGINS.get(run_facts.origin or "", "origin not classified") for run_facts in runs}
    )
    return "Retrospective automated benchmark evaluation; data: " + "; ".join(origins) + "."


def validation_process(ctx: CardContext, checks: tuple[str, ...]) -> str | None:
    lines = []
    for run_facts in ctx.runs_with(*checks):
        manifest = run_facts.run.manifest or {}
        modes = sorted(
            {
                str(run_facts.checks[ch].details.get("mode"))
                for ch in checks
                if ch in run_facts.checks
            }
        )
        lines.append(
            f"{run_facts.label}: scored by the CareAlign engine (mode {', '.join(modes)}), seed "
            f"{manifest.get('seed', 'n/a')}, 95% bootstrap confidence intervals, verdicts "
            "against the suite's pre-set thresholds; reproducibility manifest recorded (model "
            "revision, dataset SHA-256, library versions, device)."
        )
    return prose.bullets(lines)


def key_metric_fields(element: str) -> tuple[FieldSpec, ...]:
    checks = KEY_METRIC_CHECKS[element]
    names = "/".join(checks)
    base = f"KeyMetrics/{element}"
    hint = H_RUN.format(names)
    return (
        FieldSpec(
            "metric_goal",
            "Metric goal",
            f"{base}/MetricGoal",
            "evaluation",
            "Evaluations → suite → thresholds for " + names,
            lambda ctx: metric_goal(ctx, checks),
        ),
        FieldSpec(
            "interpretation",
            "Interpretation",
            f"{base}/Interpretation",
            "evaluation",
            hint,
            lambda ctx: interpretation(ctx, checks),
        ),
        FieldSpec(
            "test_type",
            "Test type",
            f"{base}/TestType",
            "evaluation",
            hint,
            lambda ctx: test_type(ctx, checks),
        ),
        FieldSpec(
            "testing_data_description",
            "Testing data description",
            f"{base}/TestingDataDescription",
            "evaluation",
            hint,
            lambda ctx: data.testing_data(ctx, checks),
        ),
        FieldSpec(
            "validation_process",
            "Validation process and justification",
            f"{base}/ValidationProcessAndJustification",
            "evaluation",
            hint,
            lambda ctx: validation_process(ctx, checks),
        ),
    )


def key_metric_extras(element: str, table_id: str) -> Any:
    checks = KEY_METRIC_CHECKS[element]

    def extras(ctx: CardContext) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        table = metrics.table(
            ctx, checks, table_id=table_id, title=KEY_METRIC_TITLES[element] + " — results"
        )
        charts = []
        if "knowledge" in checks:
            charts += [
                figures.standard_chart(ctx, "accuracy_by_specialty"),
                figures.history_chart(ctx),
            ]
        if "bias" in checks:
            charts.append(figures.standard_chart(ctx, "accuracy_gap_by_attribute"))
        if "multilingual" in checks:
            charts.append(figures.standard_chart(ctx, "accuracy_by_language"))
        return ([table] if table else []), [ch for ch in charts if ch]

    return extras
