"""CHAI Applied Model Card v0.2: the sections and elements of the published XSD.

Each field's `reference` is its element path in the XSD; `formats/chai_xml.py` writes the
XML from those paths, so the card and the XML cannot disagree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from apps.reports.profiles import accountability, data, hints, lifecycle, metrics, prose
from apps.reports.profiles.base import FieldSpec, Profile, SectionSpec
from apps.reports.profiles.chai_metrics import (
    KEY_METRIC_TITLES,
    key_metric_extras,
    key_metric_fields,
)
from apps.reports.profiles.citations import cited

if TYPE_CHECKING:
    from apps.reports.context import CardContext


def _field(
    id: str, label: str, path: str, source: str, hint: str, value: Any, required: bool = True
) -> FieldSpec:
    return FieldSpec(id, label, path, source, hint, value, required)


def _documented(id: str, label: str, path: str, key: str, required: bool = True) -> FieldSpec:
    return _field(
        id,
        label,
        path,
        "documentation",
        hints.documentation(key),
        lambda ctx: prose.documented(ctx, key),
        required,
    )


def _ongoing(ctx: CardContext) -> str | None:
    monitoring = lifecycle.monitoring(ctx, metrics.VALIDITY_CHECKS + metrics.FAIRNESS_CHECKS)
    if monitoring is None:
        return None
    return prose.join(
        monitoring, lifecycle.drift(ctx), prose.documented(ctx, "update_process"), cited(ctx)
    )


def _bias_mitigation(ctx: CardContext) -> str | None:
    """The documented approaches, and the comparison report that measured the last step."""
    text = prose.documented(ctx, "bias_mitigation_approaches")
    return prose.join(text, cited(ctx, "version_comparison")) if text else None


def _release_version(ctx: CardContext) -> str:
    return f"{ctx.version.version_label} ({prose.source_of(ctx.version, ctx.model.name)})"


def _stakeholders(ctx: CardContext) -> str | None:
    return prose.join(
        accountability.stakeholders_consulted(ctx), prose.documented(ctx, "stakeholders_consulted")
    )


def _security(ctx: CardContext) -> str | None:
    # The EU card's cybersecurity text answers the same question: reuse it.
    return prose.documented(ctx, "security") or prose.documented(ctx, "cybersecurity_measures")


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
                _field(
                    "model_name",
                    "Model name",
                    "BasicInfo/ModelName",
                    "registry",
                    hints.model("name"),
                    lambda ctx: ctx.model.name,
                ),
                _field(
                    "model_developer",
                    "Model developer",
                    "BasicInfo/ModelDeveloper",
                    "registry",
                    "Accounts → organisation → name",
                    lambda ctx: ctx.organization.name,
                ),
                _documented(
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
                _field(
                    "release_stage",
                    "Release stage",
                    "ReleaseInfo/ReleaseStage",
                    "registry",
                    hints.version("lifecycle_stage"),
                    lambda ctx: ctx.version.get_lifecycle_stage_display(),
                ),
                _field(
                    "release_date",
                    "Release date",
                    "ReleaseInfo/ReleaseDate",
                    "registry",
                    "Registry → model version (registration date)",
                    lambda ctx: ctx.version.created_at.date().isoformat(),
                ),
                _field(
                    "release_version",
                    "Release version",
                    "ReleaseInfo/ReleaseVersion",
                    "registry",
                    hints.version("version_label"),
                    _release_version,
                ),
                _documented(
                    "global_availability",
                    "Global availability",
                    "ReleaseInfo/GlobalAvailability",
                    "global_availability",
                ),
                _documented(
                    "ehr_compatibility",
                    "EHR compatibility",
                    "ReleaseInfo/EHRCompatibility",
                    "ehr_compatibility",
                    required=False,
                ),
                _documented(
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
                _documented("summary", "Summary", "ModelSummary/Summary", "summary"),
                _documented(
                    "keywords", "Keywords", "ModelSummary/Keywords", "keywords", required=False
                ),
            ),
        ),
        SectionSpec(
            "uses_and_directions",
            "Uses and directions",
            "UsesAndDirections",
            (
                _field(
                    "intended_use",
                    "Intended use and workflow",
                    "UsesAndDirections/IntendedUseAndWorkflow",
                    "registry",
                    hints.model("intended_use"),
                    lambda ctx: prose.text(ctx.model.intended_use),
                ),
                _field(
                    "primary_intended_users",
                    "Primary intended users",
                    "UsesAndDirections/PrimaryIntendedUsers",
                    "registry",
                    hints.model("intended_users"),
                    lambda ctx: prose.text(ctx.model.intended_users),
                ),
                _documented("how_to_use", "How to use", "UsesAndDirections/HowToUse", "how_to_use"),
                _field(
                    "targeted_patient_population",
                    "Targeted patient population",
                    "UsesAndDirections/TargetedPatientPopulation",
                    "registry",
                    hints.model("target_population"),
                    lambda ctx: prose.text(ctx.model.target_population),
                ),
                _field(
                    "cautioned_out_of_scope",
                    "Cautioned out-of-scope settings",
                    "UsesAndDirections/CautionedOutOfScopeSettings",
                    "registry",
                    hints.model("out_of_scope_uses"),
                    lambda ctx: prose.text(ctx.model.out_of_scope_uses),
                ),
            ),
        ),
        SectionSpec(
            "warnings",
            "Warnings",
            "Warnings",
            (
                _documented(
                    "known_risks",
                    "Known risks and limitations",
                    "Warnings/KnownRisksAndLimitations",
                    "known_risks_and_limitations",
                ),
                _documented(
                    "known_biases",
                    "Known biases or ethical considerations",
                    "Warnings/KnownBiasesOrEthicalConsiderations",
                    "known_biases_or_ethical_considerations",
                ),
                _field(
                    "clinical_risk_level",
                    "Clinical risk level",
                    "Warnings/ClinicalRiskLevel",
                    "registry",
                    hints.model("risk_class"),
                    lambda ctx: ctx.model.get_risk_class_display(),
                ),
            ),
        ),
        SectionSpec(
            "ai_system_facts",
            "Trust ingredients — AI system facts",
            "TrustIngredients/AISystemFacts",
            (
                _documented(
                    "outcomes_and_outputs",
                    "Outcomes and outputs",
                    "TrustIngredients/AISystemFacts/OutcomesAndOutputs",
                    "outcomes_and_outputs",
                ),
                _documented(
                    "model_type",
                    "Model type",
                    "TrustIngredients/AISystemFacts/ModelType",
                    "model_type",
                ),
                _field(
                    "foundation_models",
                    "Foundation models",
                    "TrustIngredients/AISystemFacts/FoundationModels",
                    "registry",
                    hints.version("base_model"),
                    lambda ctx: prose.text(ctx.version.base_model),
                    required=False,
                ),
                _documented(
                    "input_data_source",
                    "Input data source",
                    "TrustIngredients/AISystemFacts/InputDataSource",
                    "input_data_source",
                ),
                _documented(
                    "output_and_input_data_types",
                    "Output and input data types",
                    "TrustIngredients/AISystemFacts/OutputAndInputDataTypes",
                    "output_and_input_data_types",
                ),
                _field(
                    "development_data_characterization",
                    "Development data characterization",
                    "TrustIngredients/AISystemFacts/DevelopmentDataCharacterization",
                    "registry",
                    "Registry → model version → training datasets, or "
                    + hints.documentation("training_data_description"),
                    lambda ctx: prose.join(data.datasheets(ctx), data.training_demographics(ctx)),
                ),
                _field(
                    "bias_mitigation",
                    "Bias mitigation approaches",
                    "TrustIngredients/AISystemFacts/BiasMitigationApproaches",
                    "documentation",
                    hints.documentation("bias_mitigation_approaches"),
                    _bias_mitigation,
                ),
                _field(
                    "ongoing_maintenance",
                    "Ongoing maintenance",
                    "TrustIngredients/AISystemFacts/OngoingMaintenance",
                    "schedule",
                    "Evaluations → schedules: re-evaluate this model on a schedule",
                    _ongoing,
                ),
                _field(
                    "security",
                    "Security",
                    "TrustIngredients/AISystemFacts/Security",
                    "documentation",
                    hints.documentation("security")
                    + " or "
                    + hints.documentation("cybersecurity_measures"),
                    _security,
                    required=False,
                ),
                _documented(
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
                _documented(
                    "funding_source",
                    "Funding source",
                    "TrustIngredients/TransparencyInformation/FundingSource",
                    "funding_source",
                ),
                _documented(
                    "third_party_information",
                    "Third-party information",
                    "TrustIngredients/TransparencyInformation/ThirdPartyInformation",
                    "third_party_information",
                    required=False,
                ),
                _field(
                    "stakeholders_consulted",
                    "Stakeholders consulted",
                    "TrustIngredients/TransparencyInformation/StakeholdersConsulted",
                    "signoff",
                    "Sign-offs → stakeholders sign off this model version, or "
                    + hints.documentation("stakeholders_consulted"),
                    lambda ctx: prose.join(
                        accountability.stakeholders_consulted(ctx),
                        prose.documented(ctx, "stakeholders_consulted"),
                    ),
                ),
            ),
        ),
        *(
            SectionSpec(
                f"key_metrics_{sid}",
                f"Key metrics — {KEY_METRIC_TITLES[element].lower()}",
                f"KeyMetrics/{element}",
                key_metric_fields(element),
                key_metric_extras(element, f"{sid}_results"),
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
                _documented(
                    "evaluation_references",
                    "Evaluation references",
                    "Resources/EvaluationReferences",
                    "outcome_evaluation_references",
                    required=False,
                ),
                _documented(
                    "clinical_trial",
                    "Clinical trial",
                    "Resources/ClinicalTrial",
                    "clinical_trial",
                    required=False,
                ),
                _documented(
                    "peer_reviewed_publications",
                    "Peer-reviewed publications",
                    "Resources/PeerReviewedPublications",
                    "peer_reviewed_publications",
                ),
                _documented(
                    "reimbursement_status",
                    "Reimbursement status",
                    "Resources/ReimbursementStatus",
                    "reimbursement_status",
                    required=False,
                ),
                _documented(
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
            (_documented("bibliography", "Bibliography (BibTeX)", "Bibliography", "bibliography"),),
        ),
    ),
)
