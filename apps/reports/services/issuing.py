"""Issuing a card: validated against the reviewed draft, rendered and signed, then frozen;
the previous issued card of the same model and profile is superseded in the same transaction."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.common.tenancy import Actor
from apps.registry.models import AIModel
from apps.reports import selectors, signing
from apps.reports.document import document_build
from apps.reports.models import ModelCard
from apps.reports.services.base import CardIncomplete, CardStateError, Status, _audit
from apps.reports.services.drafting import _set_progress
from apps.reports.services.files import _store_all, render_files

logger = logging.getLogger(__name__)


def _blocking(completeness: dict[str, Any]) -> list[dict[str, Any]]:
    """Missing fields and unexplained contradictions, in the shape CardIncomplete lists."""
    unexplained = [
        {
            "section": "consistency",
            "field": x["id"],
            "label": f"Contradiction {x['id']}: {x['message']}",
            "fill_hint": x["fill_hint"],
        }
        for x in completeness.get("contradictions") or []
        if not x["explained"]
    ]
    return list(completeness["missing"]) + unexplained


def _reviewed(document: dict[str, Any]) -> dict[str, Any]:
    """What a reviewer saw in a draft; audit-sourced fields move with every event, so not them."""
    fields = {
        f"{s['title']} — {f['label']}": f["value"]
        for s in document.get("sections", [])
        for f in s["fields"]
        if f["source"] != "audit"
    }
    tables = {
        f"{s['title']} — {t['title']}": t["rows"]
        for s in document.get("sections", [])
        for t in s["tables"]
    }
    return {
        **fields,
        **tables,
        "Results": document.get("results"),
        "Model": document.get("model"),
        "Model version": document.get("model_version"),
        "Signatures": document.get("signatures"),
    }


def _changed_since_draft(draft: dict[str, Any], fresh: dict[str, Any]) -> list[str]:
    before, after = _reviewed(draft), _reviewed(fresh)
    return [key for key in after if before.get(key) != after[key]]


@transaction.atomic
def model_card_issue_request(
    *, card: ModelCard, user: Any, actor: Actor | None = None
) -> ModelCard:
    """Validate a draft for issue and mark it issuing; the caller has the issue sent
    (`worker.tasks.send_model_card_issue`), whose task (model_card_issue_finish) renders and
    signs the files. Refuses if incomplete or changed since it was reviewed."""
    AIModel.objects.select_for_update().filter(pk=card.model_id).first()
    card = ModelCard.objects.select_for_update().get(pk=card.pk)
    if card.status != Status.DRAFT:
        raise CardStateError(
            f"Only a rendered draft can be issued; this card is {card.get_status_display()}."
        )
    now = timezone.now()
    ctx = selectors.card_context_load(
        model_version_id=card.model_version_id, now=now, exclude_card=card.pk
    )
    printed = user.printed_name if getattr(user, "pk", None) else None
    document = document_build(card=card, ctx=ctx, status="issued", issued_by=printed)
    if not document["completeness"]["complete"]:
        raise CardIncomplete(_blocking(document["completeness"]))
    changed = _changed_since_draft(card.document or {}, document)
    if changed:
        raise CardStateError(
            "The data changed since this draft was rendered ("
            + "; ".join(changed[:10])
            + "): draft it again and review it before issuing."
        )
    ModelCard.objects.filter(pk=card.pk, status=Status.DRAFT).update(
        status=Status.ISSUING,
        progress=0,
        generation=F("generation") + 1,
        document=document,
        completeness=document["completeness"],
        issued_at=now,
        issued_by=user if getattr(user, "pk", None) else None,
        error="",
    )
    card.refresh_from_db()
    _audit(
        action="card_issue_request",
        organization=card.organization_id,
        obj=card,
        changes={"status": ["draft", "issuing"]},
        actor=actor,
    )
    return card


def model_card_issue_finish(
    *, card_id: str, generation: int, actor: Actor | None = None
) -> ModelCard | None:
    """Render, sign and store an issuing card's files with no lock held, then freeze it and
    supersede the previous issued card in one short transaction. Redelivery does nothing."""
    claimed = ModelCard.objects.filter(
        pk=card_id, generation=generation, status=Status.ISSUING, progress=0
    ).update(progress=1)
    if not claimed:
        return None
    card = ModelCard.objects.select_related("organization").get(pk=card_id)
    try:
        key = signing.org_key(
            organization_id=card.organization_id, organization_name=card.organization.name
        )
        progress = lambda p: _set_progress(card.pk, generation, p, Status.ISSUING)  # noqa: E731
        hashes = _store_all(render_files(dict(card.document or {}), progress, key=key))
    except Exception as exc:
        logger.exception("Issuing model card %s failed", card_id)
        # The validated issue document never stands as the card's content: draft it again.
        ModelCard.objects.filter(pk=card_id, generation=generation, status=Status.ISSUING).update(
            status=Status.FAILED,
            document=None,
            issued_at=None,
            issued_by=None,
            error=f"issue failed: {type(exc).__name__}: {exc}"[:4000],
        )
        return ModelCard.objects.get(pk=card_id)
    return _freeze(card, generation, hashes, actor)


@transaction.atomic
def _freeze(
    card: ModelCard, generation: int, hashes: dict[str, str], actor: Actor | None
) -> ModelCard:
    AIModel.objects.select_for_update().filter(pk=card.model_id).first()
    still = ModelCard.objects.select_for_update().filter(
        pk=card.pk, generation=generation, status=Status.ISSUING
    )
    if not still.exists():
        return ModelCard.objects.get(pk=card.pk)
    # The previous card moves first: one current card per model and profile, at all times.
    previous = list(
        ModelCard.objects.select_for_update()
        .filter(model_id=card.model_id, profile=card.profile, status=Status.ISSUED)
        .exclude(pk=card.pk)
    )
    ModelCard.objects.filter(pk__in=[p.pk for p in previous]).update(
        status=Status.SUPERSEDED, superseded_by=card, superseded_at=card.issued_at
    )
    still.update(status=Status.ISSUED, progress=100, rendered_at=timezone.now(), **hashes)
    issued = ModelCard.objects.get(pk=card.pk)
    _audit(
        action="card_issue",
        organization=card.organization_id,
        obj=issued,
        changes={"status": ["issuing", "issued"], **{k: [None, v] for k, v in hashes.items() if v}},
        actor=actor,
    )
    for old in previous:
        _audit(
            action="card_supersede",
            organization=old.organization_id,
            obj=old,
            changes={"status": ["issued", "superseded"], "superseded_by": [None, str(card.pk)]},
            actor=actor,
        )
    return issued


def model_card_issue(*, card: ModelCard, user: Any, actor: Actor | None = None) -> ModelCard:
    """Issue in this process (command line, demo): the request, then the render."""
    requested = model_card_issue_request(card=card, user=user, actor=actor)
    issued = model_card_issue_finish(
        card_id=str(requested.pk), generation=requested.generation, actor=actor
    )
    if issued is None or issued.status != Status.ISSUED:
        raise CardStateError(f"Issuing failed: {issued.error if issued else 'not claimed'}")
    return issued
