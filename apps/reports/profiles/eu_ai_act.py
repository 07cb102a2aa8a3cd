"""EU AI Act (Regulation (EU) 2024/1689) Annex IV technical documentation, its 9 points,
and Art. 12 from the system's own operational logging (documentation); the platform's
audit trail is shown separately, as the provider's record-keeping.

Point 2(g) asks for test reports "dated and signed by the responsible persons": it is filled
from the sign-offs, so until a test report is signed the card can be drafted, not issued.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from apps.reports.profiles import common as c
from apps.reports.profiles import figures
from apps.reports.profiles.base import FieldSpec, Profile, SectionSpec
from apps.reports.profiles.citations import cited

if TYPE_CHECKING:
    from apps.reports.document import CardContext

ALL_CHECKS = c.VALIDITY_CHECKS + c.FAIRNESS_CHECKS


def _p(
    id: str, label: str, ref: str, source: str, hint: str, value: Any, req: bool = True
) -> FieldSpec:
    return FieldSpec(id, label, f"Annex IV {ref}", source, hint, value, req)


def _d(id: str, label: str, ref: str, key: str, required: bool = True) -> FieldSpec:
    return _p(id, label, ref, "documentation", c.h_doc(key), lambda x: c.doc(x, key), required)


def _general(ctx: CardContext) -> str | None:
    purpose = c.text(ctx.model.intended_use)
    if not purpose:
        return None
    previous = [v.version_label for v in ctx.versions if v.pk != ctx.version.pk]
    relation = (
        f"Previous versions: {', '.join(previous)}." if previous else "This is the first version."
    )
    return (
        f"Intended purpose: {purpose}\n\nProvider: {ctx.organization.name}. System version: "
        f"{ctx.version.version_label} ({c.source_of(ctx.version, ctx.model.name)}). {relation}"
    )


def _software_versions(ctx: CardContext) -> str | None:
    if not ctx.runs:
        return None
    versions = (ctx.runs[0].run.manifest or {}).get("versions") or {}
    listed = ", ".join(f"{k} {v}" for k, v in sorted(versions.items()) if v)
    weights = ctx.version.weights_digest
    return c.join(
        f"Model weights: {c.source_of(ctx.version, ctx.model.name)}"
        + (f", weights sha256 `{weights}`" if weights and ctx.version.source_kind == "hub" else "")
        + ".",
        f"Software used to evaluate this version: {listed or 'not recorded'}.",
        c.doc(ctx, "update_process"),
    )


def _architecture(ctx: CardContext) -> str | None:
    text = c.doc(ctx, "system_architecture")
    return c.join(text, c.computational_resources(ctx)) if text else None


def _testing(ctx: CardContext) -> str | None:
    if not ctx.runs:
        return None
    lines = [f"{rf.label}: " + "; ".join(c.headline(rf, ALL_CHECKS)) for rf in ctx.runs]
    return c.join(
        "Validation and testing by automated evaluation suites (procedures, data and metrics "
        "below); each run's reproducibility manifest is kept.",
        c.bullets(lines),
        c.testing_data(ctx, ALL_CHECKS),
    )


def _group_accuracy(ctx: CardContext) -> str | None:
    lines = []
    for rf in ctx.runs:
        for r in c.results_of(rf):
            if r["metric"] == "accuracy" and r["group"]:
                lines.append(f"{r['check']} — {r['group']}: {c.describe(r)}")
    overall = [
        c.describe(r)
        for rf in ctx.runs
        for r in c.results_of(rf)
        if r["check"] == "knowledge" and r["metric"] == "accuracy" and not r["group"]
    ]
    if not overall:
        return None
    return c.join(f"Overall expected accuracy: {overall[0]}.", c.bullets(lines))


def _monitoring_functioning(ctx: CardContext) -> str | None:
    risks = c.doc(ctx, "known_risks_and_limitations")
    accuracy = _group_accuracy(ctx)
    if not (risks and accuracy):
        return None
    return c.join(f"Capabilities and limitations: {risks}", accuracy)


def _lifecycle(ctx: CardContext) -> str | None:
    previous = [
        f"{p['profile_title']} v{p['version']} issued {p['issued_at'][:10]} ({p['status']})"
        for p in ctx.previous_issued
    ]
    return c.join(c.version_history(ctx), c.bullets(previous), cited(ctx, "version_comparison"))


def _post_market(ctx: CardContext) -> str | None:
    plan = c.doc(ctx, "post_market_monitoring_plan")
    monitoring = c.monitoring(ctx, ALL_CHECKS)
    if not (plan and monitoring):
        return None
    return c.join(plan, monitoring, c.drift(ctx))


def _extras_testing(ctx: CardContext) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    table = c.metrics_table(ctx, ALL_CHECKS, table_id="test_results", title="Test results")
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
                _p(
                    "intended_purpose",
                    "Intended purpose, provider, version and relation to previous versions",
                    "1(a)",
                    "registry",
                    c.h_model("intended_use"),
                    _general,
                ),
                _d(
                    "interactions",
                    "Interaction with hardware, software and other AI systems",
                    "1(b)",
                    "system_interactions",
                ),
                _p(
                    "software_versions",
                    "Versions of relevant software and update requirements",
                    "1(c)",
                    "evaluation",
                    "Evaluations → run a suite on this version (manifest); "
                    + c.h_doc("update_process"),
                    _software_versions,
                ),
                _d(
                    "forms_on_market",
                    "Forms in which the system is placed on the market",
                    "1(d)",
                    "forms_placed_on_market",
                ),
                _d(
                    "hardware",
                    "Hardware on which the system is intended to run",
                    "1(e)",
                    "hardware_requirements",
                ),
                _d(
                    "markings",
                    "Photographs or illustrations of external features and markings",
                    "1(f)",
                    "product_markings",
                    required=False,
                ),
                _d(
                    "user_interface",
                    "User interface provided to the deployer",
                    "1(g)",
                    "user_interface",
                ),
                _d(
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
                _p(
                    "methods",
                    "Methods and steps of development, incl. pre-trained systems and "
                    "third-party tools",
                    "2(a)",
                    "registry",
                    c.h_version("base_model / alignment_techniques"),
                    c.development_methods,
                ),
                _d(
                    "design_specifications",
                    "Design specifications, key design choices, rationale and assumptions",
                    "2(b)",
                    "design_specifications",
                ),
                _p(
                    "architecture",
                    "System architecture and computational resources",
                    "2(c)",
                    "documentation",
                    c.h_doc("system_architecture"),
                    _architecture,
                ),
                _p(
                    "data_requirements",
                    "Data requirements: datasheets of training data",
                    "2(d)",
                    "registry",
                    "Registry → model version → training datasets, or "
                    + c.h_doc("training_data_description"),
                    c.datasheets,
                ),
                _p(
                    "human_oversight",
                    "Assessment of human-oversight measures (Art. 14)",
                    "2(e)",
                    "documentation",
                    c.h_doc("human_oversight_measures"),
                    c.oversight,
                ),
                _d(
                    "predetermined_changes",
                    "Pre-determined changes and continuous compliance",
                    "2(f)",
                    "predetermined_changes",
                ),
                _p(
                    "validation_testing",
                    "Validation and testing procedures, data and metrics, "
                    "incl. potentially discriminatory impacts",
                    "2(g)",
                    "evaluation",
                    "Evaluations → run a suite on this model version",
                    _testing,
                ),
                _p(
                    "signed_test_reports",
                    "Test logs and test reports dated and signed by the responsible persons",
                    "2(g)",
                    "signoff",
                    H_SIGN,
                    c.signed_test_reports,
                ),
                _d("cybersecurity", "Cybersecurity measures", "2(h)", "cybersecurity_measures"),
            ),
            _extras_testing,
        ),
        SectionSpec(
            "monitoring_functioning",
            "3. Monitoring, functioning and control",
            "Annex IV point 3",
            (
                _p(
                    "capabilities_limitations",
                    "Capabilities and limitations, degrees of "
                    "accuracy for specific persons or groups and overall",
                    "3",
                    "evaluation",
                    c.h_doc("known_risks_and_limitations") + "; Evaluations → run a suite",
                    _monitoring_functioning,
                ),
                _d(
                    "unintended_outcomes",
                    "Foreseeable unintended outcomes and sources of risk",
                    "3",
                    "known_biases_or_ethical_considerations",
                ),
                _p(
                    "oversight_measures",
                    "Human-oversight measures",
                    "3",
                    "documentation",
                    c.h_doc("human_oversight_measures"),
                    c.oversight,
                ),
                _d(
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
                _d(
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
            (_d("risk_management", "Risk management system", "5", "risk_management_system"),),
        ),
        SectionSpec(
            "lifecycle_changes",
            "6. Relevant changes through the lifecycle",
            "Annex IV point 6",
            (
                _p(
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
                _d(
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
                _d(
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
                _p(
                    "post_market_plan",
                    "Post-market performance evaluation system and plan",
                    "9",
                    "schedule",
                    c.h_doc("post_market_monitoring_plan") + "; Evaluations → schedules",
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
                    c.h_doc("operational_logging"),
                    c.operational_logging,
                ),
                FieldSpec(
                    "provider_records",
                    "Provider's record-keeping of this documentation (CareAlign audit trail; "
                    "not the system's Art. 12 logs)",
                    "Art. 18, Art. 11(1)",
                    "audit",
                    "Automatic: the audit trail",
                    c.logging_arrangements,
                    required=False,
                ),
            ),
        ),
    ),
)
