"""Payer summary: intended use in payer operations, results by insurance type and other
groups, human oversight, monitoring, and the cost per 1,000 evaluated items.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from apps.reports.profiles import common as c
from apps.reports.profiles import figures
from apps.reports.profiles.base import FieldSpec, Profile, SectionSpec

if TYPE_CHECKING:
    from apps.reports.document import CardContext

ALL_CHECKS = c.VALIDITY_CHECKS + c.FAIRNESS_CHECKS


def _payer_use(ctx: CardContext) -> str | None:
    text = c.doc(ctx, "payer_intended_use")
    if text:
        return text
    if ctx.model.application_area == "payer_operations":
        return c.text(ctx.model.intended_use)
    return None


def _insurance_rows(ctx: CardContext) -> list[dict[str, Any]]:
    return [
        r
        for rf in ctx.runs_with("bias")
        for r in c.results_of(rf)
        if r["check"] == "bias"
        and (r["group"] or "").startswith("insurance")
        and r["metric"] in ("accuracy", "accuracy_gap", "flip_rate", "excess_flip_rate")
    ]


def _by_insurance(ctx: CardContext) -> str | None:
    rows = _insurance_rows(ctx)
    if not rows:
        return None
    return c.bullets(f"{r['group']}: {c.describe(r)} ({r['suite']})" for r in rows)


def _by_group(ctx: CardContext) -> str | None:
    lines = [
        f"{r['check']} — {r['group']}: {c.describe(r)}"
        for r in c.results(ctx)
        if r["group"]
        and r["metric"] in ("accuracy", "accuracy_gap")
        and not str(r["group"]).startswith("insurance")
    ]
    return c.bullets(lines)


def _overall(ctx: CardContext) -> str | None:
    lines = [line for rf in ctx.runs for line in c.headline(rf, ALL_CHECKS)]
    return c.bullets(lines)


def _extras_results(ctx: CardContext) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    tables = []
    rows = _insurance_rows(ctx)
    if rows:
        tables.append(
            {
                "id": "results_by_insurance",
                "title": "Results by insurance type",
                "columns": ["Metric", "Group", "Value", "95% CI", "n", "Verdict"],
                "rows": [
                    [
                        r["metric"],
                        r["group"],
                        c.fmt(r["value"]),
                        c.fmt_ci(r["ci_low"], r["ci_high"]),
                        str(r["n"]),
                        r["verdict"],
                    ]
                    for r in rows
                ],
            }
        )
    table = c.metrics_table(ctx, ALL_CHECKS, table_id="all_results", title="All results")
    if table:
        tables.append(table)
    charts = [
        figures.group_chart(
            ctx,
            "bias",
            "accuracy",
            chart_id="accuracy_by_insurance",
            title="Accuracy by insurance type",
            prefix="insurance",
        ),
        figures.standard_chart(ctx, "accuracy_by_specialty"),
    ]
    return tables, [ch for ch in charts if ch]


def _monitoring(ctx: CardContext) -> str | None:
    found = c.monitoring(ctx, ALL_CHECKS)
    return c.join(found, c.drift(ctx)) if found else None


H_BIAS = (
    "Evaluations → run a suite with the bias check whose vignettes vary insurance "
    "(attribute 'insurance') on this model version"
)

PROFILE = Profile(
    key="payer",
    title="Payer summary",
    reference="CareAlign payer summary (intended use, subgroup results, oversight, "
    "monitoring, cost)",
    sections=(
        SectionSpec(
            "use",
            "Intended use in payer operations",
            "Payer: use",
            (
                FieldSpec(
                    "payer_intended_use",
                    "Intended use in payer operations",
                    "Use",
                    "documentation",
                    c.h_doc("payer_intended_use")
                    + ", or "
                    + c.h_model("application_area = payer_operations + intended_use"),
                    _payer_use,
                ),
                FieldSpec(
                    "decision_role",
                    "Decision-making role",
                    "Use",
                    "registry",
                    c.h_model("decision_role"),
                    lambda x: x.model.get_decision_role_display(),
                ),
                FieldSpec(
                    "out_of_scope",
                    "Out-of-scope uses",
                    "Use",
                    "registry",
                    c.h_model("out_of_scope_uses"),
                    lambda x: c.text(x.model.out_of_scope_uses),
                ),
                FieldSpec(
                    "risk_class",
                    "Risk class",
                    "Use",
                    "registry",
                    c.h_model("risk_class"),
                    lambda x: x.model.get_risk_class_display(),
                ),
            ),
        ),
        SectionSpec(
            "results",
            "Results by insurance type and other groups",
            "Payer: results",
            (
                FieldSpec(
                    "overall_results",
                    "Overall results",
                    "Results",
                    "evaluation",
                    "Evaluations → run a suite on this model version",
                    _overall,
                ),
                FieldSpec(
                    "results_by_insurance",
                    "Results by insurance type",
                    "Results",
                    "evaluation",
                    H_BIAS,
                    _by_insurance,
                ),
                FieldSpec(
                    "results_by_group",
                    "Results by other groups",
                    "Results",
                    "evaluation",
                    "Evaluations → run the knowledge, bias or multilingual "
                    "checks on this model version",
                    _by_group,
                ),
            ),
            _extras_results,
        ),
        SectionSpec(
            "oversight",
            "Human oversight",
            "Payer: oversight",
            (
                FieldSpec(
                    "human_oversight",
                    "Human oversight",
                    "Oversight",
                    "documentation",
                    c.h_doc("human_oversight_measures"),
                    c.oversight,
                ),
            ),
        ),
        SectionSpec(
            "monitoring",
            "Monitoring",
            "Payer: monitoring",
            (
                FieldSpec(
                    "monitoring",
                    "Monitoring process and frequency",
                    "Monitoring",
                    "schedule",
                    "Evaluations → schedules: re-evaluate this model on a schedule",
                    _monitoring,
                ),
            ),
        ),
        SectionSpec(
            "cost",
            "Cost",
            "Payer: cost",
            (
                FieldSpec(
                    "cost_per_1000",
                    "Cost per 1,000 evaluated items",
                    "Cost",
                    "evaluation",
                    "Evaluations → run a suite on this model version "
                    "(GPU-seconds come from the run manifests)",
                    c.cost_per_1000,
                ),
            ),
        ),
    ),
)
