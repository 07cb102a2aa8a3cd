from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.accounts.models import Organization
from apps.evaluations.models import EvaluationRun
from apps.registry.models import DatasetVersion, ModelVersion
from apps.reports.models import ModelCard
from apps.signoffs.constants import CANONICAL_VERSION, Meaning, Stage, TargetType

TARGET_FIELDS = {
    TargetType.DATASET_VERSION: "dataset_version",
    TargetType.MODEL_VERSION: "model_version",
    TargetType.EVALUATION_RUN: "evaluation_run",
    TargetType.MODEL_CARD: "model_card",
}


class StageRequirement(models.Model):
    """Which roles must sign a lifecycle stage of this organisation's model versions."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="stage_requirements"
    )
    stage = models.CharField(max_length=16, choices=Stage.choices)
    roles = models.JSONField(default=list)
    updated_at = models.DateTimeField(default=timezone.now)

    TENANT_FIELD = "organization"

    class Meta:
        ordering = ["organization_id", "stage"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "stage"], name="stagerequirement_org_stage_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stage}: {', '.join(self.roles) or 'no sign-off'}"


def _one_target() -> models.Q:
    """Exactly the foreign key named by target_type is set."""
    condition = models.Q()
    for kind, field in TARGET_FIELDS.items():
        others = {f"{other}__isnull": True for other in TARGET_FIELDS.values() if other != field}
        condition |= models.Q(target_type=kind, **{f"{field}__isnull": False}, **others)
    return condition


class SignOff(models.Model):
    """An electronic signature (21 CFR Part 11) of a record at a lifecycle stage.

    Bound to the SHA-256 of the record's canonical JSON at signing; it is current while the
    record still hashes to it. Never changed or deleted (database triggers); a withdrawal is a
    new record (SignOffWithdrawal).
    """

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    target_type = models.CharField(max_length=16, choices=TargetType.choices)
    dataset_version = models.ForeignKey(
        DatasetVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="signoffs"
    )
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="signoffs"
    )
    evaluation_run = models.ForeignKey(
        EvaluationRun, on_delete=models.PROTECT, null=True, blank=True, related_name="signoffs"
    )
    model_card = models.ForeignKey(
        ModelCard, on_delete=models.PROTECT, null=True, blank=True, related_name="signoffs"
    )
    stage = models.CharField(max_length=16, choices=Stage.choices)
    meaning = models.CharField(max_length=16, choices=Meaning.choices)
    comment = models.TextField(blank=True)
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signer_name = models.CharField(max_length=300)  # printed name at signing (11.50(a)(1))
    signer_role = models.CharField(max_length=32)
    signed_at = models.DateTimeField()
    record_digest = models.CharField(max_length=64)
    canonical_version = models.CharField(max_length=40, default=CANONICAL_VERSION)

    TENANT_FIELD = "organization"

    class Meta:
        ordering = ["organization_id", "-signed_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=_one_target(), name="signoff_one_target"),
        ]
        indexes = [
            models.Index(fields=["organization", "model_version", "stage"], name="signoff_org_mv"),
            models.Index(fields=["signer", "signed_at"], name="signoff_signer_time"),
        ]

    def __str__(self) -> str:
        return f"{self.signer_name} — {self.meaning} — {self.target_type} {self.target_id}"

    @property
    def target_id(self) -> object:
        return getattr(self, f"{TARGET_FIELDS[TargetType(self.target_type)]}_id")

    @property
    def target(self) -> models.Model:
        return getattr(self, TARGET_FIELDS[TargetType(self.target_type)])  # type: ignore[no-any-return]


class SignOffWithdrawal(models.Model):
    """The signer's withdrawal of a signature: a new record, the signature itself stays."""

    signoff = models.OneToOneField(SignOff, on_delete=models.PROTECT, related_name="withdrawal")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    withdrawn_by_name = models.CharField(max_length=300)
    withdrawn_at = models.DateTimeField()
    reason = models.TextField(blank=True)

    TENANT_FIELD = "organization"

    class Meta:
        ordering = ["organization_id", "-withdrawn_at"]

    def __str__(self) -> str:
        return f"withdrawal of sign-off {self.signoff_id}"


class PreferenceStudy(models.Model):
    """Clinicians judge pairs of two model versions' answers, blind, for RLHF/DPO feedback."""

    class Source(models.TextChoices):
        RUNS = "runs", "Two evaluation runs"
        UPLOAD = "upload", "Uploaded JSONL"

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="preference_studies"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    source = models.CharField(max_length=8, choices=Source.choices)
    label_a = models.CharField(max_length=200)
    label_b = models.CharField(max_length=200)
    model_version_a = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    model_version_b = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    run_a = models.ForeignKey(
        EvaluationRun, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    run_b = models.ForeignKey(
        EvaluationRun, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    source_sha256 = models.CharField(max_length=64, blank=True)  # of the uploaded file
    seed = models.PositiveIntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    TENANT_FIELD = "organization"

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "preference studies"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="preferencestudy_org_name_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PreferencePair(models.Model):
    """One prompt with the two answers; `a_on_left` is the recorded, seeded blind order."""

    study = models.ForeignKey(PreferenceStudy, on_delete=models.CASCADE, related_name="pairs")
    position = models.PositiveIntegerField()
    item_key = models.CharField(max_length=300, blank=True)
    prompt = models.TextField()
    answer_a = models.TextField()
    answer_b = models.TextField()
    a_on_left = models.BooleanField()

    TENANT_FIELD = "study__organization"

    class Meta:
        ordering = ["study_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "position"], name="preferencepair_position_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.study} #{self.position}"


class PreferenceJudgment(models.Model):
    """A reviewer's preference between the two answers of a pair, with 1–5 ratings of each."""

    class Preference(models.TextChoices):
        A = "a", "A"
        B = "b", "B"
        TIE = "tie", "Tie"

    pair = models.ForeignKey(PreferencePair, on_delete=models.PROTECT, related_name="judgments")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reviewer_name = models.CharField(max_length=300)
    reviewer_role = models.CharField(max_length=32)
    preference = models.CharField(max_length=4, choices=Preference.choices)
    ratings_a = models.JSONField(default=dict)  # criterion -> 1..5
    ratings_b = models.JSONField(default=dict)
    rationale = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    TENANT_FIELD = "pair__study__organization"

    class Meta:
        ordering = ["pair_id", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["pair", "reviewer"], name="preferencejudgment_once_per_reviewer"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reviewer_name}: {self.preference} on {self.pair}"


class PreferenceExport(models.Model):
    """A study's judgments exported as a preference dataset version (prompt/chosen/rejected)."""

    study = models.ForeignKey(PreferenceStudy, on_delete=models.PROTECT, related_name="exports")
    dataset_version = models.OneToOneField(
        DatasetVersion, on_delete=models.PROTECT, related_name="preference_export"
    )
    rows = models.PositiveIntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    TENANT_FIELD = "study__organization"

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.study} → {self.dataset_version}"
