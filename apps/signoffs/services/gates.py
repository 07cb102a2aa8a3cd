"""Stage transitions of model versions, gated on sign-offs and evaluation, and stage settings."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Organization, Role
from apps.audit.services import audit_record
from apps.registry.models import AIModel, ModelVersion
from apps.registry.services import model_version_update
from apps.signoffs.constants import ACTION_STAGE_REFUSED, Stage
from apps.signoffs.models import StageRequirement
from apps.signoffs.selectors.gates import Gate, stage_gate


class GateClosed(ValidationError):
    """The stage gate refused a transition; `gate.missing` says exactly what is missing."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        super().__init__({"to_stage": [f"missing: {item}" for item in gate.missing]})


def stage_requirement_set(
    *, organization: Organization, stage: str, roles: list[str]
) -> StageRequirement:
    """Set which roles must sign a stage of this organisation's model versions."""
    if stage not in Stage.values:
        raise ValidationError({"stage": [f"Unknown stage {stage!r}."]})
    unknown = sorted(set(roles) - set(Role.values))
    if unknown:
        raise ValidationError({"roles": [f"Unknown role(s): {', '.join(unknown)}."]})
    with transaction.atomic():
        row, _ = StageRequirement.objects.select_for_update().get_or_create(
            organization=organization, stage=stage, defaults={"roles": sorted(set(roles))}
        )
        if row.roles != sorted(set(roles)):
            row.roles = sorted(set(roles))
            row.updated_at = timezone.now()
            row.save()
    return row


def model_version_stage_advance(*, model_version: ModelVersion, to_stage: str) -> ModelVersion:
    """Move a version to its next stage if the gate is open; retiring is never blocked.

    A refusal is audited and raised with every missing item named.
    """
    with transaction.atomic():
        # One transition at a time per model: two concurrent advances cannot both pass.
        AIModel.objects.select_for_update().filter(pk=model_version.model_id).first()
        version = ModelVersion.objects.select_related("model").get(pk=model_version.pk)
        if to_stage not in Stage.values:
            raise ValidationError({"to_stage": [f"Unknown stage {to_stage!r}."]})
        if to_stage == version.lifecycle_stage:
            raise ValidationError({"to_stage": [f"The version is already in {to_stage}."]})
        refused: Gate | None = None
        if to_stage != Stage.RETIRED:
            gate = stage_gate(model_version=version)
            if gate.next_stage != to_stage:
                raise ValidationError(
                    {
                        "to_stage": [
                            f"From {version.lifecycle_stage} a version moves only to "
                            f"{gate.next_stage or 'nothing (it is retired)'}"
                            + (" or retired." if gate.next_stage else ".")
                        ]
                    }
                )
            if not gate.open:
                refused = gate
        if refused is None:
            return model_version_update(version=version, lifecycle_stage=to_stage)
    with transaction.atomic():
        audit_record(
            action=ACTION_STAGE_REFUSED,
            organization=version.model.organization_id,
            obj=version,
            changes={"from": version.lifecycle_stage, "to": to_stage, "missing": refused.missing},
        )
    raise GateClosed(refused)
