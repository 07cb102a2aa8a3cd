"""CHAI Applied Model Card v0.2: the sections and elements of the published XSD.

Each field's `reference` is its element path in the XSD; `formats/chai_xml.py` writes the
XML from those paths, so the card and the XML cannot disagree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from apps.reports.constants import CHECK_TITLES, DATA_ORIGINS
from apps.reports.profiles import common as c
from apps.reports.profiles import figures
from apps.reports.profiles.base import FieldSpec, Profile, SectionSpec
from apps.reports.profiles.citations import cited

if TYPE_CHECKING:
    from apps.reports.document import CardContext

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


def _f(
    id: str, label: str, path: str, source: str, hint: str, value: Any, required: bool = True
) -> FieldSpec:
    return FieldSpec(id, label, path, source, hint, value, required)


def _doc(id: str, label: str, path: str, key: str, required: bool = True) -> FieldSpec:
    return _f(id, label, path, "documentation", c.h_doc(key), lambda x: c.doc(x, key), required)


def metric_goal(ctx: CardContext, checks: tuple[str, ...]) -> str | None:
    lines = []
    for rf in ctx.runs_with(*checks):
        thresholds = rf.run.suite.thresholds or {}
        for check in checks:
            for key, spec in sorted((thresholds.get(check) or {}).items()):
                for op, value in spec.items():
                    lines.append(f"{CHECK_TITLES.get(check, check)}: {key} {op} {value}")
        if lines:
            return f"Pass thresholds of suite {rf.suite_label}:\n" + c.bullets(lines)  # type: ignore[operator]
    return None


def interpretation(ctx: CardContext, checks: tuple[str, ...]) -> str | None:
    blocks = []
    for rf in ctx.runs_with(*checks):
        lines = c.headline(rf, checks)
        verdicts = [rf.checks[ch].verdict for ch in checks if ch in rf.checks]
        overall = c.overall_verdict(verdicts)
        blocks.append(
            f"**{rf.label}** — overall verdict **{overall}**:\n" + (c.bullets(lines) or "")
        )
    return "\n\n".join(blocks) or None


def test_type(ctx: CardContext, checks: tuple[str, ...]) -> str | None:
    runs = ctx.runs_with(*checks)
    if not runs:
        return None
    origins = sorted({DATA_ORIGINS.get(rf.origin or "", "origin not classified") for rf in runs})
    return "Retrospective automated benchmark evaluation; data: " + "; ".join(origins) + "."


def validation_process(ctx: CardContext, checks: tuple[str, ...]) -> str | None:
    lines = []
    for rf in ctx.runs_with(*checks):
        manifest = rf.run.manifest or {}
        modes = sorted({str(rf.checks[ch].details.get("mode")) for ch in checks if ch in rf.checks})
        lines.append(
            f"{rf.label}: scored by the CareAlign engine (mode {', '.join(modes)}), seed "
            f"{manifest.get('seed', 'n/a')}, 95% bootstrap confidence intervals, verdicts "
            "against the suite's pre-set thresholds; reproducibility manifest recorded (model "
            "revision, dataset SHA-256, library versions, device)."
        )
    return c.bullets(lines)


def _metric_fields(element: str) -> tuple[FieldSpec, ...]:
    checks = KEY_METRIC_CHECKS[element]
    names = "/".join(checks)
    base = f"KeyMetrics/{element}"
    hint = H_RUN.format(names)
    return (
        _f(
            "metric_goal",
            "Metric goal",
            f"{base}/MetricGoal",
            "evaluation",
            "Evaluations → suite → thresholds for " + names,
            lambda x: metric_goal(x, checks),
        ),
        _f(
            "interpretation",
            "Interpretation",
            f"{base}/Interpretation",
            "evaluation",
            hint,
            lambda x: interpretation(x, checks),
        ),
        _f(
            "test_type",
            "Test type",
            f"{base}/TestType",
            "evaluation",
            hint,
            lambda x: test_type(x, checks),
        ),
        _f(
            "testing_data_description",
            "Testing data description",
            f"{base}/TestingDataDescription",
            "evaluation",
            hint,
            lambda x: c.testing_data(x, checks),
        ),
        _f(
            "validation_process",
            "Validation process and justification",
            f"{base}/ValidationProcessAndJustification",
            "evaluation",
            hint,
            lambda x: validation_process(x, checks),
        ),
    )


def _metric_extras(element: str, table_id: str) -> Any:
    checks = KEY_METRIC_CHECKS[element]

    def extras(ctx: CardContext) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        table = c.metrics_table(
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


def _ongoing(ctx: CardContext) -> str | None:
    monitoring = c.monitoring(ctx, c.VALIDITY_CHECKS + c.FAIRNESS_CHECKS)
    if monitoring is None:
        return None
    return c.join(monitoring, c.drift(ctx), c.doc(ctx, "update_process"), cited(ctx))


def _bias_mitigation(ctx: CardContext) -> str | None:
    """The documented approaches, and the comparison report that measured the last step."""
    text = c.doc(ctx, "bias_mitigation_approaches")
    return c.join(text, cited(ctx, "version_comparison")) if text else None


def _release_version(ctx: CardContext) -> str:
    return f"{ctx.version.version_label} ({c.source_of(ctx.version, ctx.model.name)})"


def _stakeholders(ctx: CardContext) -> str | None:
    return c.join(c.stakeholders_consulted(ctx), c.doc(ctx, "stakeholders_consulted"))


def _security(ctx: CardContext) -> str | None:
    # The EU card's cybersecurity text answers the same question: reuse it.
    return c.doc(ctx, "security") or c.doc(ctx, "cybersecurity_measures")


PROFILE = Profile(
    key="chai",
    title="CHAI Applied Model Card v0.2",
    reference="Coalition for Health AI, Applied Model Card schema v0.2 (draft)",
    extra_formats=("xml",),
    sections=(
        SectionSpec(
            "basic_info",
            "Basic information",
            "BasicInfo",
            (
                _f(
                    "model_name",
                    "Model name",
                    "BasicInfo/ModelName",
                    "registry",
                    c.h_model("name"),
                    lambda x: x.model.name,
                ),
                _f(
                    "model_developer",
                    "Model developer",
                    "BasicInfo/ModelDeveloper",
                    "registry",
                    "Accounts → organisation → name",
                    lambda x: x.organization.name,
                ),
                _doc(
                    "developer_contact",
                    "Developer contact",
                    "BasicInfo/DeveloperContact",
                    "developer_contact",
                ),
            ),
        ),
        SectionSpec(
            "release_info",
            "Release information",
            "ReleaseInfo",
            (
                _f(
                    "release_stage",
                    "Release stage",
                    "ReleaseInfo/ReleaseStage",
                    "registry",
                    c.h_version("lifecycle_stage"),
                    lambda x: x.version.get_lifecycle_stage_display(),
                ),
                _f(
                    "release_date",
                    "Release date",
                    "ReleaseInfo/ReleaseDate",
                    "registry",
                    "Registry → model version (registration date)",
                    lambda x: x.version.created_at.date().isoformat(),
                ),
                _f(
                    "release_version",
                    "Release version",
                    "ReleaseInfo/ReleaseVersion",
                    "registry",
                    c.h_version("version_label"),
                    _release_version,
                ),
                _doc(
                    "global_availability",
                    "Global availability",
                    "ReleaseInfo/GlobalAvailability",
                    "global_availability",
                ),
                _doc(
                    "ehr_compatibility",
                    "EHR compatibility",
                    "ReleaseInfo/EHRCompatibility",
                    "ehr_compatibility",
                    required=False,
                ),
                _doc(
                    "regulatory_approval",
                    "Regulatory approval",
                    "ReleaseInfo/RegulatoryApproval",
                    "regulatory_approval",
                    required=False,
                ),
            ),
        ),
        SectionSpec(
            "model_summary",
            "Model summary",
            "ModelSummary",
            (
                _doc("summary", "Summary", "ModelSummary/Summary", "summary"),
                _doc("keywords", "Keywords", "ModelSummary/Keywords", "keywords", required=False),
            ),
        ),
        SectionSpec(
            "uses_and_directions",
            "Uses and directions",
            "UsesAndDirections",
            (
                _f(
                    "intended_use",
                    "Intended use and workflow",
                    "UsesAndDirections/IntendedUseAndWorkflow",
                    "registry",
                    c.h_model("intended_use"),
                    lambda x: c.text(x.model.intended_use),
                ),
                _f(
                    "primary_intended_users",
                    "Primary intended users",
                    "UsesAndDirections/PrimaryIntendedUsers",
                    "registry",
                    c.h_model("intended_users"),
                    lambda x: c.text(x.model.intended_users),
                ),
                _doc("how_to_use", "How to use", "UsesAndDirections/HowToUse", "how_to_use"),
                _f(
                    "targeted_patient_population",
                    "Targeted patient population",
                    "UsesAndDirections/TargetedPatientPopulation",
                    "registry",
                    c.h_model("target_population"),
                    lambda x: c.text(x.model.target_population),
                ),
                _f(
                    "cautioned_out_of_scope",
                    "Cautioned out-of-scope settings",
                    "UsesAndDirections/CautionedOutOfScopeSettings",
                    "registry",
                    c.h_model("out_of_scope_uses"),
                    lambda x: c.text(x.model.out_of_scope_uses),
                ),
            ),
        ),
        SectionSpec(
            "warnings",
            "Warnings",
            "Warnings",
            (
                _doc(
                    "known_risks",
                    "Known risks and limitations",
                    "Warnings/KnownRisksAndLimitations",
                    "known_risks_and_limitations",
                ),
                _doc(
                    "known_biases",
                    "Known biases or ethical considerations",
                    "Warnings/KnownBiasesOrEthicalConsiderations",
                    "known_biases_or_ethical_considerations",
                ),
                _f(
                    "clinical_risk_level",
                    "Clinical risk level",
                    "Warnings/ClinicalRiskLevel",
                    "registry",
                    c.h_model("risk_class"),
                    lambda x: x.model.get_risk_class_display(),
                ),
            ),
        ),
        SectionSpec(
            "ai_system_facts",
            "Trust ingredients — AI system facts",
            "TrustIngredients/AISystemFacts",
            (
                _doc(
                    "outcomes_and_outputs",
                    "Outcomes and outputs",
                    "TrustIngredients/AISystemFacts/OutcomesAndOutputs",
                    "outcomes_and_outputs",
                ),
                _doc(
                    "model_type",
                    "Model type",
                    "TrustIngredients/AISystemFacts/ModelType",
                    "model_type",
                ),
                _f(
                    "foundation_models",
                    "Foundation models",
                    "TrustIngredients/AISystemFacts/FoundationModels",
                    "registry",
                    c.h_version("base_model"),
                    lambda x: c.text(x.version.base_model),
                    required=False,
                ),
                _doc(
                    "input_data_source",
                    "Input data source",
                    "TrustIngredients/AISystemFacts/InputDataSource",
                    "input_data_source",
                ),
                _doc(
                    "output_and_input_data_types",
                    "Output and input data types",
                    "TrustIngredients/AISystemFacts/OutputAndInputDataTypes",
                    "output_and_input_data_types",
                ),
                _f(
                    "development_data_characterization",
                    "Development data characterization",
                    "TrustIngredients/AISystemFacts/DevelopmentDataCharacterization",
                    "registry",
                    "Registry → model version → training datasets, or "
                    + c.h_doc("training_data_description"),
                    lambda x: c.join(c.datasheets(x), c.training_demographics(x)),
                ),
                _f(
                    "bias_mitigation",
                    "Bias mitigation approaches",
                    "TrustIngredients/AISystemFacts/BiasMitigationApproaches",
                    "documentation",
                    c.h_doc("bias_mitigation_approaches"),
                    _bias_mitigation,
                ),
                _f(
                    "ongoing_maintenance",
                    "Ongoing maintenance",
                    "TrustIngredients/AISystemFacts/OngoingMaintenance",
                    "schedule",
                    "Evaluations → schedules: re-evaluate this model on a schedule",
                    _ongoing,
                ),
                _f(
                    "security",
                    "Security",
                    "TrustIngredients/AISystemFacts/Security",
                    "documentation",
                    c.h_doc("security") + " or " + c.h_doc("cybersecurity_measures"),
                    _security,
                    required=False,
                ),
                _doc(
                    "transparency",
                    "Transparency",
                    "TrustIngredients/AISystemFacts/Transparency",
                    "transparency",
                    required=False,
                ),
            ),
        ),
        SectionSpec(
            "transparency_information",
            "Trust ingredients — transparency information",
            "TrustIngredients/TransparencyInformation",
            (
                _doc(
                    "funding_source",
                    "Funding source",
                    "TrustIngredients/TransparencyInformation/FundingSource",
                    "funding_source",
                ),
                _doc(
                    "third_party_information",
                    "Third-party information",
                    "TrustIngredients/TransparencyInformation/ThirdPartyInformation",
                    "third_party_information",
                    required=False,
                ),
                _f(
                    "stakeholders_consulted",
                    "Stakeholders consulted",
                    "TrustIngredients/TransparencyInformation/StakeholdersConsulted",
                    "signoff",
                    "Sign-offs → stakeholders sign off this model version, or "
                    + c.h_doc("stakeholders_consulted"),
                    lambda x: c.join(
                        c.stakeholders_consulted(x), c.doc(x, "stakeholders_consulted")
                    ),
                ),
            ),
        ),
        *(
            SectionSpec(
                f"key_metrics_{sid}",
                f"Key metrics — {KEY_METRIC_TITLES[element].lower()}",
                f"KeyMetrics/{element}",
                _metric_fields(element),
                _metric_extras(element, f"{sid}_results"),
            )
            for sid, element in (
                ("usefulness", "UsefulnessUsabilityEfficacy"),
                ("fairness", "FairnessEquity"),
                ("safety", "SafetyReliability"),
            )
        ),
        SectionSpec(
            "resources",
            "Resources",
            "Resources",
            (
                _doc(
                    "evaluation_references",
                    "Evaluation references",
                    "Resources/EvaluationReferences",
                    "outcome_evaluation_references",
                    required=False,
                ),
                _doc(
                    "clinical_trial",
                    "Clinical trial",
                    "Resources/ClinicalTrial",
                    "clinical_trial",
                    required=False,
                ),
                _doc(
                    "peer_reviewed_publications",
                    "Peer-reviewed publications",
                    "Resources/PeerReviewedPublications",
                    "peer_reviewed_publications",
                ),
                _doc(
                    "reimbursement_status",
                    "Reimbursement status",
                    "Resources/ReimbursementStatus",
                    "reimbursement_status",
                    required=False,
                ),
                _doc(
                    "patient_consent_or_disclosure",
                    "Patient consent or disclosure",
                    "Resources/PatientConsentOrDisclosure",
                    "patient_consent_or_disclosure",
                ),
            ),
        ),
        SectionSpec(
            "bibliography",
            "Bibliography",
            "Bibliography",
            (_doc("bibliography", "Bibliography (BibTeX)", "Bibliography", "bibliography"),),
        ),
    ),
)
