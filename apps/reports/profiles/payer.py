"""Payer summary: intended use in payer operations, results by insurance type and other
groups, human oversight, monitoring, and the cost per 1,000 evaluated items.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from apps.reports.constants import CHECK_TITLES, GAP_PREFIX
from apps.reports.profiles import data, figures, hints, lifecycle, metrics, prose
from apps.reports.profiles.base import FieldSpec, Profile, SectionSpec
from apps.reports.profiles.citations import cited

if TYPE_CHECKING:
    from apps.reports.context import CardContext

ALL_CHECKS = metrics.VALIDITY_CHECKS + metrics.FAIRNESS_CHECKS


def _payer_use(ctx: CardContext) -> str | None:
    text = prose.documented(ctx, "payer_intended_use")
    if text:
        return text
    if ctx.model.application_area == "payer_operations":
        return prose.text(ctx.model.intended_use)
    return None


def _insurance_rows(ctx: CardContext) -> list[dict[str, Any]]:
    return [
        r
        for run_facts in ctx.runs_with("bias")
        for r in metrics.results_of(run_facts)
        if r["check"] == "bias"
        and (r["group"] or "").startswith("insurance")
        and r["metric"] in ("accuracy", "accuracy_gap", "flip_rate", "excess_flip_rate")
    ]


def insurance_label(group: str | None) -> str:
    """'insurance=Medicaid' -> 'Medicaid'; the unperturbed vignette and the attribute named."""
    value = (group or "").partition("=")[2]
    if not value:
        return "all insurance variants vs. the base vignette"
    if value == "base":
        return "base vignette (insurance not stated)"
    return value


def _by_insurance(ctx: CardContext) -> str | None:
    rows = _insurance_rows(ctx)
    if not rows:
        return None
    lines = [f"{insurance_label(r['group'])}: {metrics.describe(r)} ({r['suite']})" for r in rows]
    values = {str(r["group"]).partition("=")[2].lower() for r in rows}
    if "commercial" not in values:
        lines.append(
            "Commercial insurance: not evaluated (no vignette of these runs varies insurance "
            "to commercial)."
        )
    return prose.bullets(lines)


def _by_group(ctx: CardContext) -> str | None:
    lines = [
        f"{r['check']} — {r['group']}: {metrics.describe(r)}"
        for r in metrics.results(ctx)
        if r["group"]
        and r["metric"] in ("accuracy", "accuracy_gap")
        and not str(r["group"]).startswith("insurance")
    ]
    return prose.bullets(lines)


def _overall(ctx: CardContext) -> str | None:
    lines = [line for run_facts in ctx.runs for line in metrics.headline(run_facts, ALL_CHECKS)]
    return prose.bullets(lines)


def _extras_results(ctx: CardContext) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    tables = []
    rows = _insurance_rows(ctx)
    if rows:
        tables.append(
            {
                "id": "results_by_insurance",
                "title": "Results by insurance type",
                "caption": "Each value with its 95% confidence interval and the number of "
                "items (n); the base vignette states no insurance.",
                "columns": ["Metric", "Insurance", "Value", "95% CI", "n", "Verdict"],
                "rows": [
                    [
                        r["metric"],
                        insurance_label(r["group"]),
                        metrics.number(r["value"]),
                        metrics.interval(r["ci_low"], r["ci_high"]),
                        str(r["n"]),
                        r["verdict"],
                    ]
                    for r in rows
                ],
            }
        )
    table = metrics.table(ctx, ALL_CHECKS, table_id="all_results", title="All results")
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
    found = lifecycle.monitoring(ctx, ALL_CHECKS)
    plan = prose.documented(ctx, "post_market_monitoring_plan")
    return prose.join(plan, found, lifecycle.drift(ctx)) if found else None


def _decision(ctx: CardContext) -> str | None:
    """One headline per check of each latest run: its verdict and the reason for it."""
    blocks = []
    for run_facts in ctx.runs:
        lines = []
        for name in sorted(run_facts.checks):
            check = run_facts.checks[name]
            verdict = (check.verdict or "not evaluated").replace("_", " ")
            reasons = [
                str(v.get("reason") or _reason(run_facts, name, v)) for v in check.verdicts or []
            ]
            reason = "; ".join(r for r in reasons if r) or "no thresholds set"
            lines.append(f"{CHECK_TITLES.get(name, name)}: **{verdict.upper()}** — {reason}")
        overall = metrics.overall_verdict([run_facts.checks[n].verdict for n in run_facts.checks])
        blocks.append(
            f"**{run_facts.label}: overall {overall.upper()}**\n" + (prose.bullets(lines) or "")
        )
    return "\n\n".join(blocks) or None


def _reason(run_facts: Any, check: str, verdict: dict[str, Any]) -> str:
    metric, group = str(verdict.get("metric", "")), None
    if "[" in metric:
        metric, group = metric[:-1].split("[", 1)
    found = metrics.metric(run_facts, check, metric, group)
    return metrics.describe(found) if found else f"{metric} {verdict.get('verdict', '')}"


def _population(ctx: CardContext) -> str | None:
    population, users = (
        prose.text(ctx.model.target_population),
        prose.text(ctx.model.intended_users),
    )
    if not population or not users:
        return None
    return f"Population: {population}\n\nUsers: {users}"


_ORIGINS = (
    ("same_source", "Internal (test data from the training source)", None),
    ("external", "External", "external_validation_not_performed"),
    ("local", "Local (the deploying organisation's data)", "local_validation_not_performed"),
)


def _validation(ctx: CardContext) -> str | None:
    lines = []
    for origin, title, statement in _ORIGINS:
        runs = [run_facts for run_facts in ctx.runs if run_facts.origin == origin]
        if runs:
            done = ", ".join(f"{run_facts.suite_label} on {run_facts.date}" for run_facts in runs)
            lines.append(f"{title}: done — {done}.")
        elif statement and prose.documented(ctx, statement):
            lines.append(f"{title}: {GAP_PREFIX}{prose.documented(ctx, statement)}")
        else:
            lines.append(f"{title}: none recorded.")
    unclassified = data.unclassified_suites(ctx)
    if unclassified:
        lines.append(f"Not classified by data origin: {', '.join(unclassified)}.")
    return prose.bullets(lines) if ctx.runs else None


def _regulatory(ctx: CardContext) -> str | None:
    approval, payment = (
        prose.documented(ctx, "regulatory_approval"),
        prose.documented(ctx, "reimbursement_status"),
    )
    if not approval or not payment:
        return None
    return f"Regulatory status: {approval}\n\nReimbursement status: {payment}"


def _phi(ctx: CardContext) -> str | None:
    handling = prose.documented(ctx, "phi_handling")
    if not handling:
        return None
    datasets = {dv.pk: dv for run_facts in ctx.runs for dv in run_facts.datasets}
    lines = [
        f"{dv.dataset.name} v{dv.version}: {dv.get_phi_status_display()}"
        + (f" ({dv.deidentification_method})" if dv.deidentification_method else "")
        for dv in datasets.values()
    ]
    listed = prose.bullets(lines)
    return prose.join(handling, f"Evaluation data:\n{listed}" if listed else None)


def _limitations(ctx: CardContext) -> str | None:
    return prose.join(
        prose.documented(ctx, "known_risks_and_limitations"),
        prose.text(ctx.model.out_of_scope_uses),
    )


H_BIAS = (
    "Evaluations → run a suite with the bias check whose vignettes vary insurance "
    "(attribute 'insurance') on this model version"
)


def _field(id: str, label: str, source: str, hint: str, value: Any, required: bool = True) -> Any:
    return FieldSpec(id, label, "Payer", source, hint, value, required)


H_RUN = "Evaluations → run a suite on this model version"
H_VALIDATION = (
    "Evaluations → classify suites by data origin in "
    + hints.documentation("evaluation_data_origin")
    + "; or state why none exists in "
    + hints.documentation("external_validation_not_performed")
)

PROFILE = Profile(
    key="payer",
    title="Payer summary",
    reference="CareAlign payer summary (decision, use, population, validation, regulatory and "
    "reimbursement status, PHI, subgroup results, monitoring, cost)",
    sections=(
        SectionSpec(
            "decision",
            "Decision summary",
            "Payer: decision",
            (
                _field(
                    "decision",
                    "Headline decision per check, with its reason",
                    "evaluation",
                    H_RUN,
                    _decision,
                ),
                _field(
                    "what_changed",
                    "What changed since the last version",
                    "evaluation",
                    "Reports → comparison reports: compare this version with the previous one",
                    lambda ctx: cited(ctx, "version_comparison"),
                    required=False,
                ),
            ),
        ),
        SectionSpec(
            "use",
            "Intended use, population and users",
            "Payer: use",
            (
                _field(
                    "payer_intended_use",
                    "Intended use in payer operations",
                    "documentation",
                    hints.documentation("payer_intended_use")
                    + ", or "
                    + hints.model("application_area = payer_operations + intended_use"),
                    _payer_use,
                ),
                _field(
                    "population_and_users",
                    "Intended population and users",
                    "registry",
                    hints.model("target_population, intended_users"),
                    _population,
                ),
                _field(
                    "decision_role",
                    "Decision-making role",
                    "registry",
                    hints.model("decision_role"),
                    lambda ctx: ctx.model.get_decision_role_display(),
                ),
                _field(
                    "limitations",
                    "Known limitations and out-of-scope uses",
                    "documentation",
                    hints.documentation("known_risks_and_limitations"),
                    _limitations,
                ),
                _field(
                    "risk_class",
                    "Risk class",
                    "registry",
                    hints.model("risk_class"),
                    lambda ctx: ctx.model.get_risk_class_display(),
                ),
            ),
        ),
        SectionSpec(
            "status",
            "Validation, regulatory and reimbursement status, PHI",
            "Payer: status",
            (
                _field(
                    "validation_status",
                    "Validation status (internal, external, local) with dates",
                    "evaluation",
                    H_VALIDATION,
                    _validation,
                ),
                _field(
                    "regulatory_status",
                    "Regulatory and reimbursement status",
                    "documentation",
                    hints.documentation("regulatory_approval")
                    + " and "
                    + hints.documentation("reimbursement_status"),
                    _regulatory,
                ),
                _field(
                    "phi_handling",
                    "Handling of protected health information",
                    "documentation",
                    hints.documentation("phi_handling"),
                    _phi,
                ),
            ),
        ),
        SectionSpec(
            "results",
            "Results by insurance type and other groups",
            "Payer: results",
            (
                _field("overall_results", "Overall results", "evaluation", H_RUN, _overall),
                _field(
                    "results_by_insurance",
                    "Results by insurance type",
                    "evaluation",
                    H_BIAS,
                    _by_insurance,
                ),
                _field(
                    "results_by_group",
                    "Results by other groups",
                    "evaluation",
                    "Evaluations → run the knowledge, bias or multilingual checks on this "
                    "model version",
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
                _field(
                    "human_oversight",
                    "Human oversight",
                    "documentation",
                    hints.documentation("human_oversight_measures"),
                    lifecycle.oversight,
                ),
            ),
        ),
        SectionSpec(
            "monitoring",
            "Monitoring plan",
            "Payer: monitoring",
            (
                _field(
                    "monitoring",
                    "Monitoring plan, process and schedule",
                    "schedule",
                    "Evaluations → schedules: re-evaluate this model on a schedule; and "
                    + hints.documentation("post_market_monitoring_plan"),
                    _monitoring,
                ),
            ),
        ),
        SectionSpec(
            "cost",
            "Cost",
            "Payer: cost",
            (
                _field(
                    "cost_per_1000",
                    "Cost per 1,000 uses",
                    "evaluation",
                    H_RUN
                    + " (GPU- and CPU-seconds come from the run manifests); prices: "
                    + hints.documentation("gpu_hour_cost_usd")
                    + ", "
                    + hints.documentation("cpu_hour_cost_usd"),
                    lifecycle.cost_per_1000,
                ),
            ),
        ),
    ),
)
