"""Drafting a card: marking it for rendering, then building and rendering it (free, repeatable)."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from apps.registry.models import AIModel, ModelVersion
from apps.reports import selectors
from apps.reports.document import document_build
from apps.reports.models import CardProfile, ModelCard
from apps.reports.services.base import Status, _audit
from apps.reports.services.files import _store_all, render_files

logger = logging.getLogger(__name__)


@transaction.atomic
def model_card_request(
    *, model_version: ModelVersion, profile: str, user: Any = None, token: Any = None
) -> ModelCard:
    """Mark the draft card of this version and profile for rendering (creating it if needed);
    the caller has the render sent (`worker.tasks.send_model_card_render`)."""
    if profile not in CardProfile.values:
        raise ValidationError({"profile": [f"Unknown profile; use one of {CardProfile.values}."]})
    # Version numbers per (model, profile) are allocated under the model's row lock.
    AIModel.objects.select_for_update().filter(pk=model_version.model_id).first()
    card = (
        ModelCard.objects.filter(
            model_version=model_version,
            profile=profile,
            status__in=[Status.DRAFT, Status.FAILED, Status.RENDERING],
        )
        .order_by("-version")
        .first()
    )
    if card is not None:
        ModelCard.objects.filter(pk=card.pk).update(
            status=Status.RENDERING, progress=0, generation=F("generation") + 1, error=""
        )
        card.refresh_from_db()
    else:
        last = ModelCard.objects.filter(model_id=model_version.model_id, profile=profile).aggregate(
            n=Max("version")
        )["n"]
        card = ModelCard.objects.create(
            organization_id=model_version.model.organization_id,
            model_id=model_version.model_id,
            model_version=model_version,
            profile=profile,
            version=(last or 0) + 1,
            created_by=user if getattr(user, "pk", None) else None,
            created_by_token=token,
        )
    return card


def _set_progress(
    card_id: Any, generation: int, percent: float, status: str = Status.RENDERING
) -> None:
    ModelCard.objects.filter(pk=card_id, generation=generation, status=status).update(
        progress=percent
    )


def model_card_render(*, card_id: str, generation: int) -> ModelCard | None:
    """Build and render a draft; a redelivered or outdated task does nothing."""
    claimed = ModelCard.objects.filter(
        pk=card_id, generation=generation, status=Status.RENDERING, progress=0
    ).update(progress=1)
    if not claimed:
        return None
    card = ModelCard.objects.get(pk=card_id)
    try:
        ctx = selectors.card_context_load(
            model_version_id=card.model_version_id, exclude_card=card.pk
        )
        document = document_build(card=card, ctx=ctx, status="draft")
        _set_progress(card.pk, generation, 20)
        files = render_files(document, lambda p: _set_progress(card.pk, generation, p))
        hashes = _store_all(files)
    except Exception as exc:
        logger.exception("Rendering model card %s failed", card_id)
        ModelCard.objects.filter(pk=card_id, generation=generation, status=Status.RENDERING).update(
            status=Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:4000]
        )
        return ModelCard.objects.get(pk=card_id)
    with transaction.atomic():
        done = ModelCard.objects.filter(
            pk=card_id, generation=generation, status=Status.RENDERING
        ).update(
            status=Status.DRAFT,
            progress=100,
            document=document,
            completeness=document["completeness"],
            rendered_at=timezone.now(),
            error="",
            **hashes,
        )
        if done:
            _audit(
                action="card_render",
                organization=card.organization_id,
                obj=card,
                changes={
                    "status": ["rendering", "draft"],
                    **{k: [None, v] for k, v in hashes.items() if v},
                },
            )
    return ModelCard.objects.get(pk=card_id)
