"""EU AI Act (Regulation (EU) 2024/1689) Annex IV technical documentation, its 9 points,
and Art. 12 from the system's own operational logging (documentation); the platform's
audit trail is shown separately, as the provider's record-keeping.

Point 2(g) asks for test reports "dated and signed by the responsible persons": it is filled
from the sign-offs, so until a test report is signed the card can be drafted, not issued.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from apps.reports.profiles import accountability, data, figures, hints, lifecycle, metrics, prose
from apps.reports.profiles.base import FieldSpec, Profile, SectionSpec
from apps.reports.profiles.citations import cited

if TYPE_CHECKING:
    from apps.reports.context import CardContext

ALL_CHECKS = metrics.VALIDITY_CHECKS + metrics.FAIRNESS_CHECKS


def _field(
    id: str, label: str, ref: str, source: str, hint: str, value: Any, req: bool = True
) -> FieldSpec:
    return FieldSpec(id, label, f"Annex IV {ref}", source, hint, value, req)


def _documented(id: str, label: str, ref: str, key: str, required: bool = True) -> FieldSpec:
    return _field(
        id,
        label,
        ref,
        "documentation",
        hints.documentation(key),
        lambda ctx: prose.documented(ctx, key),
        required,
    )


def _general(ctx: CardContext) -> str | None:
    purpose = prose.text(ctx.model.intended_use)
    if not purpose:
        return None
    previous = [v.version_label for v in ctx.versions if v.pk != ctx.version.pk]
    relation = (
        f"Previous versions: {', '.join(previous)}." if previous else "This is the first version."
    )
    return (
        f"Intended purpose: {purpose}\n\nProvider: {ctx.organization.name}. System version: "
        f"{ctx.version.version_label} ({prose.source_of(ctx.version, ctx.model.name)}). {relation}"
    )


def _software_versions(ctx: CardContext) -> str | None:
    if not ctx.runs:
        return None
    versions = (ctx.runs[0].run.manifest or {}).get("versions") or {}
    listed = ", ".join(f"{k} {v}" for k, v in sorted(versions.items()) if v)
    weights = ctx.version.weights_digest
    return prose.join(
        f"Model weights: {prose.source_of(ctx.version, ctx.model.name)}"
        + (f", weights sha256 `{weights}`" if weights and ctx.version.source_kind == "hub" else "")
        + ".",
        f"Software used to evaluate this version: {listed or 'not recorded'}.",
        prose.documented(ctx, "update_process"),
    )


def _architecture(ctx: CardContext) -> str | None:
    text = prose.documented(ctx, "system_architecture")
    return prose.join(text, lifecycle.computational_resources(ctx)) if text else None


def _testing(ctx: CardContext) -> str | None:
    if not ctx.runs:
        return None
    lines = [
        f"{run_facts.label}: " + "; ".join(metrics.headline(run_facts, ALL_CHECKS))
        for run_facts in ctx.runs
    ]
    return prose.join(
        "Validation and testing by automated evaluation suites (procedures, data and metrics "
        "below); each run's reproducibility manifest is kept.",
        prose.bullets(lines),
        data.testing_data(ctx, ALL_CHECKS),
    )


def _group_accuracy(ctx: CardContext) -> str | None:
    lines = []
    for run_facts in ctx.runs:
        for r in metrics.results_of(run_facts):
            if r["metric"] == "accuracy" and r["group"]:
                lines.append(f"{r['check']} — {r['group']}: {metrics.describe(r)}")
    overall = [
        metrics.describe(r)
        for run_facts in ctx.runs
        for r in metrics.results_of(run_facts)
        if r["check"] == "knowledge" and r["metric"] == "accuracy" and not r["group"]
    ]
    if not overall:
        return None
    return prose.join(f"Overall expected accuracy: {overall[0]}.", prose.bullets(lines))


def _monitoring_functioning(ctx: CardContext) -> str | None:
    risks = prose.documented(ctx, "known_risks_and_limitations")
    accuracy = _group_accuracy(ctx)
    if not (risks and accuracy):
        return None
    return prose.join(f"Capabilities and limitations: {risks}", accuracy)


def _lifecycle(ctx: CardContext) -> str | None:
    previous = [
        f"{p['profile_title']} v{p['version']} issued {p['issued_at'][:10]} ({p['status']})"
        for p in ctx.previous_issued
    ]
    return prose.join(
        lifecycle.version_history(ctx), prose.bullets(previous), cited(ctx, "version_comparison")
    )


def _post_market(ctx: CardContext) -> str | None:
    plan = prose.documented(ctx, "post_market_monitoring_plan")
    monitoring = lifecycle.monitoring(ctx, ALL_CHECKS)
    if not (plan and monitoring):
        return None
    return prose.join(plan, monitoring, lifecycle.drift(ctx))


def _extras_testing(ctx: CardContext) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    table = metrics.table(ctx, ALL_CHECKS, table_id="test_results", title="Test results")
    charts = [
        figures.standard_chart(ctx, "accuracy_by_specialty"),
        figures.standard_chart(ctx, "accuracy_gap_by_attribute"),
        figures.standard_chart(ctx, "accuracy_by_language"),
    ]
    return ([table] if table else []), [ch for ch in charts if ch]


H_SIGN = (
    "Sign-offs → the responsible persons sign the evaluation runs' test reports (sign-off module)"
)

PROFILE = Profile(
    key="eu_ai_act",
    title="EU AI Act Annex IV technical documentation",
    reference="Regulation (EU) 2024/1689, Art. 11(1) and Annex IV; Art. 12",
    sections=(
        SectionSpec(
            "general_description",
            "1. General description of the AI system",
            "Annex IV point 1",
            (
                _field(
                    "intended_purpose",
                    "Intended purpose, provider, version and relation to previous versions",
                    "1(a)",
                    "registry",
                    hints.model("intended_use"),
                    _general,
                ),
                _documented(
                    "interactions",
                    "Interaction with hardware, software and other AI systems",
                    "1(b)",
                    "system_interactions",
                ),
                _field(
                    "software_versions",
                    "Versions of relevant software and update requirements",
                    "1(c)",
                    "evaluation",
                    "Evaluations → run a suite on this version (manifest); "
                    + hints.documentation("update_process"),
                    _software_versions,
                ),
                _documented(
                    "forms_on_market",
                    "Forms in which the system is placed on the market",
                    "1(d)",
                    "forms_placed_on_market",
                ),
                _documented(
                    "hardware",
                    "Hardware on which the system is intended to run",
                    "1(e)",
                    "hardware_requirements",
                ),
                _documented(
                    "markings",
                    "Photographs or illustrations of external features and markings",
                    "1(f)",
                    "product_markings",
                    required=False,
                ),
                _documented(
                    "user_interface",
                    "User interface provided to the deployer",
                    "1(g)",
                    "user_interface",
                ),
                _documented(
                    "instructions_for_use",
                    "Instructions for use for the deployer",
                    "1(h)",
                    "how_to_use",
                ),
            ),
        ),
        SectionSpec(
            "development",
            "2. Elements of the AI system and its development process",
            "Annex IV point 2",
            (
                _field(
                    "methods",
                    "Methods and steps of development, incl. pre-trained systems and "
                    "third-party tools",
                    "2(a)",
                    "registry",
                    hints.version("base_model / alignment_techniques"),
                    lifecycle.development_methods,
                ),
                _documented(
                    "design_specifications",
                    "Design specifications, key design choices, rationale and assumptions",
                    "2(b)",
                    "design_specifications",
                ),
                _field(
                    "architecture",
                    "System architecture and computational resources",
                    "2(c)",
                    "documentation",
                    hints.documentation("system_architecture"),
                    _architecture,
                ),
                _field(
                    "data_requirements",
                    "Data requirements: datasheets of training data",
                    "2(d)",
                    "registry",
                    "Registry → model version → training datasets, or "
                    + hints.documentation("training_data_description"),
                    data.datasheets,
                ),
                _field(
                    "human_oversight",
                    "Assessment of human-oversight measures (Art. 14)",
                    "2(e)",
                    "documentation",
                    hints.documentation("human_oversight_measures"),
                    lifecycle.oversight,
                ),
                _documented(
                    "predetermined_changes",
                    "Pre-determined changes and continuous compliance",
                    "2(f)",
                    "predetermined_changes",
                ),
                _field(
                    "validation_testing",
                    "Validation and testing procedures, data and metrics, "
                    "incl. potentially discriminatory impacts",
                    "2(g)",
                    "evaluation",
                    "Evaluations → run a suite on this model version",
                    _testing,
                ),
                _field(
                    "signed_test_reports",
                    "Test logs and test reports dated and signed by the responsible persons",
                    "2(g)",
                    "signoff",
                    H_SIGN,
                    accountability.signed_test_reports,
                ),
                _documented(
                    "cybersecurity", "Cybersecurity measures", "2(h)", "cybersecurity_measures"
                ),
            ),
            _extras_testing,
        ),
        SectionSpec(
            "monitoring_functioning",
            "3. Monitoring, functioning and control",
            "Annex IV point 3",
            (
                _field(
                    "capabilities_limitations",
                    "Capabilities and limitations, degrees of "
                    "accuracy for specific persons or groups and overall",
                    "3",
                    "evaluation",
                    hints.documentation("known_risks_and_limitations")
                    + "; Evaluations → run a suite",
                    _monitoring_functioning,
                ),
                _documented(
                    "unintended_outcomes",
                    "Foreseeable unintended outcomes and sources of risk",
                    "3",
                    "known_biases_or_ethical_considerations",
                ),
                _field(
                    "oversight_measures",
                    "Human-oversight measures",
                    "3",
                    "documentation",
                    hints.documentation("human_oversight_measures"),
                    lifecycle.oversight,
                ),
                _documented(
                    "input_specifications",
                    "Specifications on input data",
                    "3",
                    "output_and_input_data_types",
                ),
            ),
        ),
        SectionSpec(
            "metrics_appropriateness",
            "4. Appropriateness of the performance metrics",
            "Annex IV point 4",
            (
                _documented(
                    "metrics_appropriateness",
                    "Appropriateness of the performance metrics",
                    "4",
                    "metrics_appropriateness",
                ),
            ),
        ),
        SectionSpec(
            "risk_management",
            "5. Risk management system (Art. 9)",
            "Annex IV point 5",
            (
                _documented(
                    "risk_management", "Risk management system", "5", "risk_management_system"
                ),
            ),
        ),
        SectionSpec(
            "lifecycle_changes",
            "6. Relevant changes through the lifecycle",
            "Annex IV point 6",
            (
                _field(
                    "lifecycle_changes",
                    "Changes made by the provider through the lifecycle",
                    "6",
                    "registry",
                    "Registry → model versions",
                    _lifecycle,
                ),
            ),
        ),
        SectionSpec(
            "standards",
            "7. Harmonised standards applied",
            "Annex IV point 7",
            (
                _documented(
                    "harmonised_standards",
                    "Harmonised standards or other solutions applied",
                    "7",
                    "harmonised_standards",
                ),
            ),
        ),
        SectionSpec(
            "declaration",
            "8. EU declaration of conformity",
            "Annex IV point 8",
            (
                _documented(
                    "declaration_of_conformity",
                    "Copy of the EU declaration of conformity (Art. 47)",
                    "8",
                    "declaration_of_conformity",
                ),
            ),
        ),
        SectionSpec(
            "post_market",
            "9. Post-market monitoring (Art. 72)",
            "Annex IV point 9",
            (
                _field(
                    "post_market_plan",
                    "Post-market performance evaluation system and plan",
                    "9",
                    "schedule",
                    hints.documentation("post_market_monitoring_plan")
                    + "; Evaluations → schedules",
                    _post_market,
                ),
            ),
        ),
        SectionSpec(
            "record_keeping",
            "Record-keeping (Art. 12)",
            "Art. 12",
            (
                FieldSpec(
                    "logging",
                    "Automatic recording of events (logs) by the AI system over its lifetime",
                    "Art. 12(1)-(2)",
                    "documentation",
                    hints.documentation("operational_logging"),
                    accountability.operational_logging,
                ),
                FieldSpec(
                    "provider_records",
                    "Provider's record-keeping of this documentation (CareAlign audit trail; "
                    "not the system's Art. 12 logs)",
                    "Art. 18, Art. 11(1)",
                    "audit",
                    "Automatic: the audit trail",
                    accountability.logging_arrangements,
                    required=False,
                ),
            ),
        ),
    ),
)
