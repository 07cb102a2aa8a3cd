"""Payer summary: intended use in payer operations, results by insurance type and other
groups, human oversight, monitoring, and the cost per 1,000 evaluated items.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from apps.reports.constants import CHECK_TITLES, GAP_PREFIX
from apps.reports.profiles import common as c
from apps.reports.profiles import figures
from apps.reports.profiles.base import FieldSpec, Profile, SectionSpec
from apps.reports.profiles.citations import cited

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
    lines = [f"{insurance_label(r['group'])}: {c.describe(r)} ({r['suite']})" for r in rows]
    values = {str(r["group"]).partition("=")[2].lower() for r in rows}
    if "commercial" not in values:
        lines.append(
            "Commercial insurance: not evaluated (no vignette of these runs varies insurance "
            "to commercial)."
        )
    return c.bullets(lines)


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
                "caption": "Each value with its 95% confidence interval and the number of "
                "items (n); the base vignette states no insurance.",
                "columns": ["Metric", "Insurance", "Value", "95% CI", "n", "Verdict"],
                "rows": [
                    [
                        r["metric"],
                        insurance_label(r["group"]),
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
    plan = c.doc(ctx, "post_market_monitoring_plan")
    return c.join(plan, found, c.drift(ctx)) if found else None


def _decision(ctx: CardContext) -> str | None:
    """One headline per check of each latest run: its verdict and the reason for it."""
    blocks = []
    for rf in ctx.runs:
        lines = []
        for name in sorted(rf.checks):
            check = rf.checks[name]
            verdict = (check.verdict or "not evaluated").replace("_", " ")
            reasons = [str(v.get("reason") or _reason(rf, name, v)) for v in check.verdicts or []]
            reason = "; ".join(r for r in reasons if r) or "no thresholds set"
            lines.append(f"{CHECK_TITLES.get(name, name)}: **{verdict.upper()}** — {reason}")
        overall = c.overall_verdict([rf.checks[n].verdict for n in rf.checks])
        blocks.append(f"**{rf.label}: overall {overall.upper()}**\n" + (c.bullets(lines) or ""))
    return "\n\n".join(blocks) or None


def _reason(rf: Any, check: str, verdict: dict[str, Any]) -> str:
    metric, group = str(verdict.get("metric", "")), None
    if "[" in metric:
        metric, group = metric[:-1].split("[", 1)
    found = c.metric(rf, check, metric, group)
    return c.describe(found) if found else f"{metric} {verdict.get('verdict', '')}"


def _population(ctx: CardContext) -> str | None:
    population, users = c.text(ctx.model.target_population), c.text(ctx.model.intended_users)
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
        runs = [rf for rf in ctx.runs if rf.origin == origin]
        if runs:
            done = ", ".join(f"{rf.suite_label} on {rf.date}" for rf in runs)
            lines.append(f"{title}: done — {done}.")
        elif statement and c.doc(ctx, statement):
            lines.append(f"{title}: {GAP_PREFIX}{c.doc(ctx, statement)}")
        else:
            lines.append(f"{title}: none recorded.")
    unclassified = c.unclassified_suites(ctx)
    if unclassified:
        lines.append(f"Not classified by data origin: {', '.join(unclassified)}.")
    return c.bullets(lines) if ctx.runs else None


def _regulatory(ctx: CardContext) -> str | None:
    approval, payment = c.doc(ctx, "regulatory_approval"), c.doc(ctx, "reimbursement_status")
    if not approval or not payment:
        return None
    return f"Regulatory status: {approval}\n\nReimbursement status: {payment}"


def _phi(ctx: CardContext) -> str | None:
    handling = c.doc(ctx, "phi_handling")
    if not handling:
        return None
    datasets = {dv.pk: dv for rf in ctx.runs for dv in rf.datasets}
    lines = [
        f"{dv.dataset.name} v{dv.version}: {dv.get_phi_status_display()}"
        + (f" ({dv.deidentification_method})" if dv.deidentification_method else "")
        for dv in datasets.values()
    ]
    listed = c.bullets(lines)
    return c.join(handling, f"Evaluation data:\n{listed}" if listed else None)


def _limitations(ctx: CardContext) -> str | None:
    return c.join(c.doc(ctx, "known_risks_and_limitations"), c.text(ctx.model.out_of_scope_uses))


H_BIAS = (
    "Evaluations → run a suite with the bias check whose vignettes vary insurance "
    "(attribute 'insurance') on this model version"
)


def _f(id: str, label: str, source: str, hint: str, value: Any, required: bool = True) -> Any:
    return FieldSpec(id, label, "Payer", source, hint, value, required)


H_RUN = "Evaluations → run a suite on this model version"
H_VALIDATION = (
    "Evaluations → classify suites by data origin in "
    + c.h_doc("evaluation_data_origin")
    + "; or state why none exists in "
    + c.h_doc("external_validation_not_performed")
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
                _f(
                    "decision",
                    "Headline decision per check, with its reason",
                    "evaluation",
                    H_RUN,
                    _decision,
                ),
                _f(
                    "what_changed",
                    "What changed since the last version",
                    "evaluation",
                    "Reports → comparison reports: compare this version with the previous one",
                    lambda x: cited(x, "version_comparison"),
                    required=False,
                ),
            ),
        ),
        SectionSpec(
            "use",
            "Intended use, population and users",
            "Payer: use",
            (
                _f(
                    "payer_intended_use",
                    "Intended use in payer operations",
                    "documentation",
                    c.h_doc("payer_intended_use")
                    + ", or "
                    + c.h_model("application_area = payer_operations + intended_use"),
                    _payer_use,
                ),
                _f(
                    "population_and_users",
                    "Intended population and users",
                    "registry",
                    c.h_model("target_population, intended_users"),
                    _population,
                ),
                _f(
                    "decision_role",
                    "Decision-making role",
                    "registry",
                    c.h_model("decision_role"),
                    lambda x: x.model.get_decision_role_display(),
                ),
                _f(
                    "limitations",
                    "Known limitations and out-of-scope uses",
                    "documentation",
                    c.h_doc("known_risks_and_limitations"),
                    _limitations,
                ),
                _f(
                    "risk_class",
                    "Risk class",
                    "registry",
                    c.h_model("risk_class"),
                    lambda x: x.model.get_risk_class_display(),
                ),
            ),
        ),
        SectionSpec(
            "status",
            "Validation, regulatory and reimbursement status, PHI",
            "Payer: status",
            (
                _f(
                    "validation_status",
                    "Validation status (internal, external, local) with dates",
                    "evaluation",
                    H_VALIDATION,
                    _validation,
                ),
                _f(
                    "regulatory_status",
                    "Regulatory and reimbursement status",
                    "documentation",
                    c.h_doc("regulatory_approval") + " and " + c.h_doc("reimbursement_status"),
                    _regulatory,
                ),
                _f(
                    "phi_handling",
                    "Handling of protected health information",
                    "documentation",
                    c.h_doc("phi_handling"),
                    _phi,
                ),
            ),
        ),
        SectionSpec(
            "results",
            "Results by insurance type and other groups",
            "Payer: results",
            (
                _f("overall_results", "Overall results", "evaluation", H_RUN, _overall),
                _f(
                    "results_by_insurance",
                    "Results by insurance type",
                    "evaluation",
                    H_BIAS,
                    _by_insurance,
                ),
                _f(
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
                _f(
                    "human_oversight",
                    "Human oversight",
                    "documentation",
                    c.h_doc("human_oversight_measures"),
                    c.oversight,
                ),
            ),
        ),
        SectionSpec(
            "monitoring",
            "Monitoring plan",
            "Payer: monitoring",
            (
                _f(
                    "monitoring",
                    "Monitoring plan, process and schedule",
                    "schedule",
                    "Evaluations → schedules: re-evaluate this model on a schedule; and "
                    + c.h_doc("post_market_monitoring_plan"),
                    _monitoring,
                ),
            ),
        ),
        SectionSpec(
            "cost",
            "Cost",
            "Payer: cost",
            (
                _f(
                    "cost_per_1000",
                    "Cost per 1,000 uses",
                    "evaluation",
                    H_RUN
                    + " (GPU- and CPU-seconds come from the run manifests); prices: "
                    + c.h_doc("gpu_hour_cost_usd")
                    + ", "
                    + c.h_doc("cpu_hour_cost_usd"),
                    c.cost_per_1000,
                ),
            ),
        ),
    ),
)
