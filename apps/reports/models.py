from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from apps.accounts.models import ApiToken, Organization
from apps.registry.models import AIModel, ModelVersion


class CardProfile(models.TextChoices):
    CHAI = "chai", "CHAI Applied Model Card v0.2"
    HTI1 = "hti1", "ONC HTI-1 predictive DSI source attributes"
    EU_AI_ACT = "eu_ai_act", "EU AI Act Annex IV technical documentation"
    PAYER = "payer", "Payer summary"


class ModelDocumentation(models.Model):
    """What a model card needs that the registry does not hold: contact, funding, standards...

    One record per model, edited by compliance officers; every edit bumps `revision` and is
    audited with its before and after, so each issued card can be traced to the text it used.
    """

    model = models.OneToOneField(AIModel, on_delete=models.CASCADE, related_name="documentation")
    values = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    revision = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    TENANT_FIELD = "model__organization"

    class Meta:
        verbose_name_plural = "model documentation"

    def __str__(self) -> str:
        return f"Documentation of {self.model} (rev. {self.revision})"


class ModelCard(models.Model):
    """One card of a model version in one profile: a draft until issued, then frozen.

    Issued cards are immutable (service layer and a database trigger): their rendered files
    are stored under their SHA-256 and only the move to `superseded` may touch the row.
    """

    class Status(models.TextChoices):
        RENDERING = "rendering", "Rendering"
        DRAFT = "draft", "Draft"
        ISSUING = "issuing", "Issuing"
        ISSUED = "issued", "Issued"
        SUPERSEDED = "superseded", "Superseded"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="model_cards"
    )
    model = models.ForeignKey(AIModel, on_delete=models.PROTECT, related_name="cards")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="cards")
    profile = models.CharField(max_length=16, choices=CardProfile.choices)
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RENDERING)
    progress = models.FloatField(default=0.0)  # 0-100
    # Bumped on every render request; a task renders only the generation it was queued for.
    generation = models.PositiveIntegerField(default=1)
    document = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    completeness = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    json_sha256 = models.CharField(max_length=64, blank=True)
    xml_sha256 = models.CharField(max_length=64, blank=True)
    md_sha256 = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by_token = models.ForeignKey(
        ApiToken, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    rendered_at = models.DateTimeField(null=True, blank=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    superseded_by = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="supersedes"
    )
    superseded_at = models.DateTimeField(null=True, blank=True)

    TENANT_FIELD = "organization"
    FROZEN = (Status.ISSUED, Status.SUPERSEDED)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The list's default order within one organisation (a page without a sort).
            models.Index(fields=["organization", "-created_at"], name="modelcard_org_created"),
            models.Index(fields=["pdf_sha256"], name="modelcard_pdf_sha256"),
            models.Index(fields=["json_sha256"], name="modelcard_json_sha256"),
            models.Index(fields=["xml_sha256"], name="modelcard_xml_sha256"),
            models.Index(fields=["md_sha256"], name="modelcard_md_sha256"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["model", "profile", "version"], name="modelcard_version_unique"
            ),
            models.UniqueConstraint(
                fields=["model", "profile"],
                condition=models.Q(status="issued"),
                name="modelcard_one_current_per_profile",
            ),
            models.CheckConstraint(
                condition=models.Q(progress__gte=0) & models.Q(progress__lte=100),
                name="modelcard_progress_percent",
            ),
            models.CheckConstraint(
                condition=~models.Q(status__in=["issued", "superseded"])
                | (
                    models.Q(issued_at__isnull=False, document__isnull=False)
                    & ~models.Q(pdf_sha256="")
                    & ~models.Q(json_sha256="")
                    & ~models.Q(md_sha256="")
                ),
                name="modelcard_issued_has_files",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="superseded") | models.Q(superseded_by__isnull=False),
                name="modelcard_superseded_has_successor",
            ),
            # A card never supersedes itself; that it is a card of the same model is checked
            # by a trigger (migration 0003): a constraint cannot look at another row.
            models.CheckConstraint(
                condition=~models.Q(superseded_by=models.F("id")),
                name="modelcard_not_superseded_by_itself",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model} {self.get_profile_display()} card v{self.version} ({self.status})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Python-side guard; the database trigger (migration 0002) is the one that holds
        # against raw SQL. Issued rows change only through the services' conditional updates.
        if not self._state.adding and self._is_frozen_in_db():
            raise ValueError(f"Model card {self.pk} is issued and cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        if self._is_frozen_in_db():
            raise ValueError(f"Model card {self.pk} is issued and cannot be deleted.")
        return super().delete(*args, **kwargs)

    def _is_frozen_in_db(self) -> bool:
        return ModelCard.objects.filter(pk=self.pk, status__in=self.FROZEN).exists()

    def sha256_of(self, fmt: str) -> str:
        return str(getattr(self, f"{fmt}_sha256"))


class ComparisonReport(models.Model):
    """An alignment-evidence report, frozen at creation: a paired comparison of model versions
    on one suite version, or a reasoning-mode study (direct vs chain-of-thought answering).

    Rendered and signed like an issued card (PDF/A-3b with PAdES, JSON), stored under the
    files' SHA-256 (apps/common/filestore.py) and verified by digest or upload like a card.
    Cards of `model_version` cite the latest report of each kind with its digest.
    """

    class Kind(models.TextChoices):
        VERSION_COMPARISON = "version_comparison", "Paired version comparison"
        REASONING_STUDY = "reasoning_study", "Reasoning-mode study"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="comparison_reports"
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    model = models.ForeignKey(AIModel, on_delete=models.PROTECT, related_name="comparison_reports")
    # The version the report is evidence for: the candidate of a comparison, the studied one.
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="comparison_reports"
    )
    baseline_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    suite = models.ForeignKey(
        "evaluations.EvaluationSuite", on_delete=models.PROTECT, related_name="comparison_reports"
    )
    summary = models.TextField()
    document = models.JSONField(encoder=DjangoJSONEncoder)
    pdf_sha256 = models.CharField(max_length=64)
    json_sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by_token = models.ForeignKey(
        ApiToken, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    TENANT_FIELD = "organization"
    FORMATS = ("pdf", "json")

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="cmpreport_org_created"),
            models.Index(fields=["pdf_sha256"], name="cmpreport_pdf_sha256"),
            models.Index(fields=["json_sha256"], name="cmpreport_json_sha256"),
            models.Index(fields=["model_version", "kind", "-created_at"], name="cmpreport_cited"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(pdf_sha256="") & ~models.Q(json_sha256=""),
                name="cmpreport_has_files",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.pk} ({self.model_version})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Frozen at creation: its files are signed and their digests may be cited by cards.
        if not self._state.adding:
            raise ValueError(f"Comparison report {self.pk} is frozen and cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError(f"Comparison report {self.pk} is frozen and cannot be deleted.")

    def sha256_of(self, fmt: str) -> str:
        return str(getattr(self, f"{fmt}_sha256", ""))
