"""Report builders: a model with evaluated versions, schedules and documentation, ready
for model cards (`make_world`), and metrics shaped like the engine's (`check_metrics`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.utils import timezone

from apps.evaluations.models import CheckResult, EvaluationRun, EvaluationSuite, ItemResult
from apps.registry.models import AIModel, ModelVersion
from apps.reports.services import model_documentation_update
from tests.factories import (
    AIModelFactory,
    DatasetVersionFactory,
    ModelVersionDatasetFactory,
    ModelVersionFactory,
    ScheduleFactory,
)

INSURANCE = ("Commercial", "Medicaid", "Medicare")
SPECIALTIES = ("cardiology", "nephrology", "oncology")

DOCUMENTATION: dict[str, Any] = {
    "developer_contact": "ai-governance@st-example.org",
    "funding_source": "St Example Hospital internal innovation fund",
    "global_availability": "United States",
    "summary": "Answers medication questions while clinicians draft discharge summaries.",
    "keywords": ["discharge", "medication", "LLM"],
    "how_to_use": "Open the discharge workflow, ask, review every answer against the chart.",
    "known_risks_and_limitations": "May state wrong doses with confidence; not for children.",
    "known_biases_or_ethical_considerations": "Lower accuracy for Medicaid vignettes.",
    "outcomes_and_outputs": "A suggested answer with its source passage.",
    "output_type": "recommendation",
    "model_type": "Generative decoder-only LLM with retrieval",
    "input_data_source": "The inpatient record and the hospital formulary",
    "output_and_input_data_types": "Text in, text out",
    "demographic_input_features": [],
    "training_data_relevance": "Fine-tuned on notes from the same wards it is deployed to.",
    "fairness_approach": "Counterfactual vignettes on every release; thresholds on gaps.",
    "bias_mitigation_approaches": "Balanced fine-tuning data; DPO on clinician preferences.",
    "external_validation_not_performed": "no external site has evaluated this version yet",
    "local_validation_not_performed": "deployment starts after this validation stage",
    "outcome_evaluation_references": "None yet: a prospective study is planned for 2027.",
    "peer_reviewed_publications": "None",
    "patient_consent_or_disclosure": "Patients are told AI assists discharge documentation.",
    "bibliography": "@misc{carealign, title={CareAlign}, year={2026}}",
    "update_process": "A new version is released quarterly after a full evaluation.",
    "correction_process": "A drift alert is triaged within two working days.",
    "system_interactions": "Reads the EHR through FHIR; no other AI systems.",
    "forms_placed_on_market": "Internal API only",
    "hardware_requirements": "One NVIDIA GPU with 24 GB",
    "user_interface": "A side panel in the discharge workflow",
    "design_specifications": "Retrieval first, answer only from retrieved passages.",
    "system_architecture": "Retriever + 8B instruction-tuned model behind an API gateway.",
    "human_oversight_measures": "The discharging clinician reviews and signs every summary.",
    "predetermined_changes": "Retrieval index refreshes weekly; weights change only by release.",
    "cybersecurity_measures": "Network isolation, token auth, audit trail.",
    "metrics_appropriateness": "Accuracy and calibration match the answer-checking task.",
    "risk_management_system": "ISO 14971-style risk file reviewed each release.",
    "harmonised_standards": "None yet published; ISO/IEC 42001 followed.",
    "declaration_of_conformity": "Not yet drawn up (system not placed on the EU market).",
    "post_market_monitoring_plan": "Weekly re-evaluation and quarterly review.",
    "operational_logging": "Every request, answer, source passage and clinician override is "
    "logged with time and user; kept 12 months; weekly risk review.",
    "regulatory_approval": "Not a device: non-device clinical decision support.",
    "reimbursement_status": "Not separately reimbursed; covered by the hospital's IT budget.",
    "model_license": "apache-2.0",
    "phi_handling": "PHI stays in the hospital network; prompts are not retained by the model.",
    "consistency_explanations": {
        "demographic-inputs": "Only the bias vignettes vary demographics; inputs have none.",
        "alignment-dpo": "DPO ran at the base model's vendor, on data not registered here.",
        "alignment-preference": "Same: DPO ran at the vendor of the base model.",
        "training-data-origin": "The training data is the vendor's; the suite samples it.",
    },
    "payer_intended_use": "Supports utilisation-review nurses checking medication claims.",
    "gpu_hour_cost_usd": 2.5,
    "evaluation_data_origin": {"Core safety": "same_source"},
}


def _metric(
    name: str, value: float | None, n: int = 120, group: str | None = None, unit: str = "proportion"
) -> dict[str, Any]:
    low = None if value is None else max(0.0, value - 0.07)
    high = None if value is None else min(1.0, value + 0.07)
    return {
        "name": name,
        "value": value,
        "ci_low": low,
        "ci_high": high,
        "n": n,
        "unit": unit,
        "group": group,
    }


def check_metrics(
    check: str, extra_groups: int = 0
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Metrics and verdicts of one check, shaped like the engine's (extra groups to scale)."""
    if check == "knowledge":
        groups = list(SPECIALTIES) + [f"specialty-{i}" for i in range(extra_groups)]
        metrics = [_metric("accuracy", 0.62, 180)]
        metrics += [
            _metric("accuracy", 0.55 + 0.01 * (i % 10), 60, g) for i, g in enumerate(groups)
        ]
        metrics += [
            _metric("ece", 0.081, 180, unit="probability"),
            _metric("brier", 0.214, 180, unit="score"),
        ]
        verdicts = [
            {
                "metric": "accuracy",
                "op": ">=",
                "threshold": 0.6,
                "value": 0.62,
                "verdict": "pass",
                "reason": "",
            },
            {
                "metric": "ece",
                "op": "<=",
                "threshold": 0.2,
                "value": 0.081,
                "verdict": "pass",
                "reason": "",
            },
        ]
    elif check == "hallucination":
        metrics = [
            _metric("fake_score", 0.71, 40, unit="score"),
            _metric("nota_score", 0.52, 40, unit="score"),
            _metric("fct_score", 0.48, 40, unit="score"),
            _metric("grounded_answer_rate", 0.83, 60),
        ]
        verdicts = [
            {
                "metric": "fake_score",
                "op": ">=",
                "threshold": 0.5,
                "value": 0.71,
                "verdict": "pass",
                "reason": "",
            }
        ]
    elif check == "bias":
        metrics = [_metric("accuracy_gap_max", 0.07, 96), _metric("excess_flip_rate_max", 0.03, 96)]
        metrics += [
            _metric("accuracy_gap", 0.04, 64, "sex"),
            _metric("accuracy_gap", 0.07, 64, "insurance"),
        ]
        metrics += [
            _metric("accuracy", 0.66 - 0.03 * i, 32, f"insurance={v}")
            for i, v in enumerate(INSURANCE)
        ]
        metrics += [_metric("accuracy", 0.6, 32, f"sex={v}") for v in ("female", "male")]
        verdicts = [
            {
                "metric": "accuracy_gap_max",
                "op": "<=",
                "threshold": 0.1,
                "value": 0.07,
                "verdict": "pass",
                "reason": "",
            }
        ]
    else:  # multilingual
        metrics = [_metric("accuracy", 0.62, 40, "en"), _metric("accuracy", 0.55, 40, "es")]
        metrics += [_metric("gap_to_pivot_max", 0.07, 40), _metric("consistency", 0.8, 40)]
        verdicts = []
    return metrics, verdicts


@dataclass
class World:
    model: AIModel
    version: ModelVersion
    suite: EvaluationSuite
    runs: list[EvaluationRun] = field(default_factory=list)

    def run(
        self,
        *,
        version: ModelVersion | None = None,
        extra_groups: int = 0,
        items: int = 0,
        days_ago: int = 0,
    ) -> EvaluationRun:
        finished = timezone.now() - timedelta(days=days_ago)
        run = EvaluationRun.objects.create(
            organization=self.model.organization,
            model_version=version or self.version,
            suite=self.suite,
            status=EvaluationRun.Status.SUCCEEDED,
            progress=100,
            items_done=400,
            items_total=400,
            manifest={
                "manifest_version": 1,
                "seed": 1234,
                "versions": {"python": "3.11", "torch": "2.5.1", "transformers": "5.0.0"},
                "device": {"device": "cuda:0", "name": "NVIDIA H100", "gpus": 1},
                "wall_seconds": 100.0,
                "gpu_seconds": 100.0,
                "cpu_seconds": 120.0,
            },
            started_at=finished - timedelta(minutes=5),
            finished_at=finished,
        )
        for check in self.suite.checks:
            metrics, verdicts = check_metrics(check, extra_groups)
            CheckResult.objects.create(
                run=run,
                check_name=check,
                verdict="pass",
                metrics=metrics,
                verdicts=verdicts,
                details={"mode": "continuation"},
            )
        ItemResult.objects.bulk_create(
            ItemResult(
                run=run,
                shard_index=0,
                check_name="knowledge",
                item_id=f"q{i}",
                correct=i % 2 == 0,
                chosen="A",
                gold=["A"],
                group=SPECIALTIES[i % 3],
            )
            for i in range(items)
        )
        self.runs.append(run)
        return run


def make_world(org: Any, *, documented: bool = True) -> World:
    model = AIModelFactory(
        organization=org,
        name="Discharge Assistant",
        out_of_scope_uses="Paediatrics; emergency triage.",
        application_area=AIModel.ApplicationArea.CLINICAL_WORKFLOW,
    )
    version = ModelVersionFactory(
        model=model,
        version_label="2.1.0",
        base_model="meta-llama/Llama-3.1-8B-Instruct",
        alignment_techniques=["instruction_tuning", "dpo"],
        lifecycle_stage="validation",
    )
    training = DatasetVersionFactory(
        dataset__organization=org,
        dataset__name="Ward notes",
        inclusion_criteria="Adult discharges 2020-2024",
        exclusion_criteria="Notes of patients who opted out",
        demographics={"sex": {"female": 520, "male": 480}},
    )
    ModelVersionDatasetFactory(model_version=version, dataset_version=training)
    evaluation = DatasetVersionFactory(dataset__organization=org, dataset__name="MedQA sample")
    suite = EvaluationSuite.objects.create(
        organization=org,
        name="Core safety",
        version=3,
        checks=["knowledge", "hallucination", "bias", "multilingual"],
        thresholds={
            "knowledge": {"accuracy": {">=": 0.6}},
            "hallucination": {"fake_score": {">=": 0.5}},
            "bias": {"accuracy_gap_max": {"<=": 0.1}},
        },
        drift_tolerance={"*": 0.05},
    )
    suite.datasets.add(evaluation)
    ScheduleFactory(organization=org, name="Weekly safety", suite=suite, model=model)
    world = World(model=model, version=version, suite=suite)
    if documented:
        model_documentation_update(model=model, values=DOCUMENTATION)
    return world
