from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from apps.accounts.models import Membership, Organization
from apps.common.models import LongTextField, one_of
from apps.registry.constants import ALIGNMENT_TECHNIQUES, HEX40


def validate_alignment_techniques(value: object) -> None:
    """A list of techniques from the registry's vocabulary (API, admin, shell alike)."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError("Must be a list of technique names.")
    unknown = sorted(set(value) - set(ALIGNMENT_TECHNIQUES))
    if unknown:
        raise ValidationError(
            f"Unknown technique(s) {', '.join(unknown)}; choose from "
            f"{', '.join(ALIGNMENT_TECHNIQUES)}."
        )


class DecisionRole(models.TextChoices):
    INFORMS = "informs", "Informs clinical management"
    AUGMENTS = "augments", "Augments clinical management"
    REPLACES = "replaces", "Replaces clinical management"


class ApplicationArea(models.TextChoices):
    CLINICAL_WORKFLOW = "clinical_workflow", "Clinical workflow"
    PATIENT_CARE = "patient_care", "Patient care"
    MEDICAL_EDUCATION = "medical_education", "Medical education"
    PAYER_OPERATIONS = "payer_operations", "Payer operations"


class RiskClass(models.TextChoices):
    MINIMAL = "minimal", "Minimal"
    LOW = "low", "Low"
    MODERATE = "moderate", "Moderate"
    HIGH = "high", "High"


class AIModel(models.Model):
    """A model as a product: what it is for, who uses it, on whom, and how much risk it carries."""

    DecisionRole = DecisionRole
    ApplicationArea = ApplicationArea
    RiskClass = RiskClass

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="ai_models"
    )
    name = models.CharField(max_length=200)
    intended_use = LongTextField()
    intended_users = LongTextField(blank=True)
    target_population = LongTextField(blank=True)
    decision_role = models.CharField(max_length=16, choices=DecisionRole.choices)
    out_of_scope_uses = LongTextField(blank=True)
    application_area = models.CharField(max_length=32, choices=ApplicationArea.choices)
    risk_class = models.CharField(max_length=16, choices=RiskClass.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="owned_models",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    TENANT_FIELD = "organization"

    class Meta:
        ordering = ["name"]
        verbose_name = "AI model"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="aimodel_org_name_unique"
            ),
            one_of("decision_role", DecisionRole.values, "aimodel_decision_role_known"),
            one_of("application_area", ApplicationArea.values, "aimodel_application_area_known"),
            one_of("risk_class", RiskClass.values, "aimodel_risk_class_known"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if (
            self.owner_id is not None
            and not Membership.objects.filter(
                user_id=self.owner_id, organization_id=self.organization_id
            ).exists()
        ):
            raise ValidationError(
                {"owner": ["The owner must be a member of the model's organisation."]}
            )


class Dataset(models.Model):
    """A named body of data (training, preference or evaluation); its files are versions."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="datasets"
    )
    name = models.CharField(max_length=200)
    description = LongTextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    TENANT_FIELD = "organization"

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="dataset_org_name_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class DatasetFormat(models.TextChoices):
    JSONL = "jsonl", "CareAlign JSONL"
    CSV = "csv", "CareAlign CSV"
    JSON = "json", "CareAlign JSON"
    MEDQA = "medqa", "MedQA JSONL"
    MEDMCQA = "medmcqa", "MedMCQA"
    PUBMEDQA = "pubmedqa", "PubMedQA"
    MMEDBENCH = "mmedbench", "MMedBench JSONL"
    MEDHALT = "medhalt", "Med-HALT reasoning CSV"
    PREFERENCE = "preference", "Preference JSONL (prompt, chosen, rejected)"


class PhiStatus(models.TextChoices):
    NONE = "none", "No PHI"
    DEIDENTIFIED = "deidentified", "De-identified"
    CONTAINS_PHI = "contains_phi", "Contains PHI"


class DatasetVersion(models.Model):
    """One immutable file of a dataset, stored once under its SHA-256, with its datasheet."""

    Format = DatasetFormat
    PhiStatus = PhiStatus

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    file = models.FileField(max_length=300)
    original_filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField()
    format = models.CharField(max_length=16, choices=Format.choices)
    row_count = models.PositiveIntegerField()
    languages = models.JSONField(default=list)
    specialties = models.JSONField(default=list, blank=True)  # items may name none
    tasks = models.JSONField(default=dict)
    phi_status = models.CharField(max_length=16, choices=PhiStatus.choices)
    deidentification_method = models.CharField(max_length=200, blank=True)
    licence = models.CharField(max_length=200)
    provenance = LongTextField()
    inclusion_criteria = LongTextField(blank=True)
    exclusion_criteria = LongTextField(blank=True)
    # HTI-1 variable -> {category: count}; variables absent from the data are simply absent.
    demographics = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    TENANT_FIELD = "dataset__organization"

    class Meta:
        ordering = ["dataset_id", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["dataset", "version"], name="datasetversion_number_unique"
            ),
            models.UniqueConstraint(
                fields=["dataset", "sha256"], name="datasetversion_file_unique"
            ),
            models.CheckConstraint(
                condition=~models.Q(phi_status="deidentified")
                | ~models.Q(deidentification_method=""),
                name="datasetversion_deid_method_required",
            ),
            one_of("format", DatasetFormat.values, "datasetversion_format_known"),
            one_of("phi_status", PhiStatus.values, "datasetversion_phi_status_known"),
        ]

    def __str__(self) -> str:
        return f"{self.dataset} v{self.version}"


class SourceKind(models.TextChoices):
    HUB = "hub", "Hugging Face hub"
    LOCAL = "local", "Local path"


class LifecycleStage(models.TextChoices):
    DATA_CURATION = "data_curation", "Data curation"
    TRAINING = "training", "Training"
    VALIDATION = "validation", "Validation"
    DEPLOYMENT = "deployment", "Deployment"
    MONITORING = "monitoring", "Monitoring"
    RETIRED = "retired", "Retired"


class ModelVersion(models.Model):
    """A concrete, pinned build of a model: where its weights are and how it was made."""

    SourceKind = SourceKind
    LifecycleStage = LifecycleStage

    model = models.ForeignKey(AIModel, on_delete=models.PROTECT, related_name="versions")
    version_label = models.CharField(max_length=100)
    source_kind = models.CharField(max_length=8, choices=SourceKind.choices)
    hub_id = models.CharField(max_length=200, blank=True)
    revision = models.CharField(max_length=40, blank=True)
    local_path = models.CharField(max_length=500, blank=True)
    weights_digest = models.CharField(max_length=64, blank=True)
    base_model = models.CharField(max_length=200, blank=True)
    alignment_techniques = models.JSONField(
        default=list, blank=True, validators=[validate_alignment_techniques]
    )
    lifecycle_stage = models.CharField(
        max_length=16, choices=LifecycleStage.choices, default=LifecycleStage.DATA_CURATION
    )
    training_datasets = models.ManyToManyField(
        DatasetVersion, through="ModelVersionDataset", related_name="model_versions", blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    TENANT_FIELD = "model__organization"

    class Meta:
        ordering = ["model_id", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["model", "version_label"], name="modelversion_label_unique"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(source_kind="hub", revision__regex=HEX40, local_path="")
                    & ~models.Q(hub_id="")
                )
                | (
                    models.Q(source_kind="local", hub_id="", revision="") & ~models.Q(local_path="")
                ),
                name="modelversion_source_pinned",
            ),
            one_of("lifecycle_stage", LifecycleStage.values, "modelversion_lifecycle_known"),
        ]

    def __str__(self) -> str:
        return f"{self.model} {self.version_label}"

    @property
    def source(self) -> str:
        return f"{self.hub_id}@{self.revision}" if self.source_kind == "hub" else self.local_path


class TrainingRole(models.TextChoices):
    PRETRAINING = "pretraining", "Pretraining"
    FINE_TUNING = "fine_tuning", "Fine-tuning"
    PREFERENCE = "preference", "Preference (RLHF/DPO)"
    EVALUATION = "evaluation", "Evaluation"


class ModelVersionDataset(models.Model):
    """The role a dataset version played in making a model version."""

    Role = TrainingRole

    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="dataset_links"
    )
    dataset_version = models.ForeignKey(DatasetVersion, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=16, choices=Role.choices)

    TENANT_FIELD = "model_version__model__organization"

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "dataset_version", "role"],
                name="modelversiondataset_unique",
            ),
            one_of("role", TrainingRole.values, "modelversiondataset_role_known"),
        ]

    def __str__(self) -> str:
        return f"{self.model_version} ← {self.dataset_version} ({self.role})"

    def clean(self) -> None:
        if (
            self.model_version_id is not None
            and self.dataset_version_id is not None
            and self.dataset_version.dataset.organization_id
            != self.model_version.model.organization_id
        ):
            raise ValidationError(
                {"dataset_version": ["Datasets must belong to the model's organisation."]}
            )
