"""Writes for model cards: documentation, drafting (rendering), issuing, downloads, verification.

Drafting is free; issuing rebuilds the card from the current data, refuses while a required
field is missing, stores every rendered file under its SHA-256 and freezes the row; the
previous issued card of the same model and profile becomes superseded in the same transaction.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F, Max
from django.utils import timezone

from apps.common import filestore
from apps.common.tenancy import Actor
from apps.registry.constants import HTI1_DEMOGRAPHIC_VARIABLES
from apps.registry.models import AIModel, ModelVersion
from apps.reports import selectors, signing, verification
from apps.reports.constants import (
    CARD_MEDIA_DIR,
    DATA_ORIGINS,
    DOCUMENTATION_EXPLANATION_MAX_CHARS,
    DOCUMENTATION_FIELDS,
    DOCUMENTATION_ITEM_MAX_CHARS,
    DOCUMENTATION_MAX_CHARS,
    DOCUMENTATION_MAX_ITEMS,
    DOCUMENTATION_TEXT_MAX_CHARS,
    FORMATS,
    LIST_DOCUMENTATION_FIELDS,
    NUMBER_DOCUMENTATION_FIELDS,
    OBJECT_DOCUMENTATION_FIELDS,
    OUTPUT_TYPES,
    TEXT_MAP_DOCUMENTATION_FIELDS,
)
from apps.reports.document import document_build, neutralise, software_id
from apps.reports.formats import chai_xml, hf_readme, json_schema
from apps.reports.models import CardProfile, ModelCard, ModelDocumentation

logger = logging.getLogger(__name__)
Status = ModelCard.Status
JSON_ATTACHMENT = "model-card.json"
XML_ATTACHMENT = "model-card.chai.xml"


class CardIncomplete(Exception):
    """Issuing refused: required fields are missing (listed with where to fill them)."""

    def __init__(self, missing: list[dict[str, Any]]) -> None:
        self.missing = missing
        names = "; ".join(f"{m['label']} ({m['fill_hint']})" for m in missing)
        super().__init__(
            f"The card cannot be issued: {len(missing)} required field(s) missing: {names}"
        )


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


class CardStateError(Exception):
    """The card is not in a state that allows the operation (e.g. issuing an issued card)."""


class CardFileAltered(Exception):
    """The stored file no longer matches its recorded digest (changed on disk)."""


class CardFileMissing(Exception):
    """The card has no file in this format (not rendered yet, or not this profile's format)."""


# --- audit ---------------------------------------------------------------------------------


def _audit(
    *,
    action: str,
    organization: int | None,
    obj: models.Model | None = None,
    label: str = "",
    changes: dict[str, Any] | None = None,
    actor: Actor | None = None,
) -> None:
    if not django_apps.is_installed("apps.audit"):
        return
    from apps.audit.services import audit_record

    audit_record(
        action=action,
        organization=organization,
        obj=obj,
        label=label,
        changes=changes or {},
        actor=actor,
    )


# --- documentation -------------------------------------------------------------------------


def _clean_value(key: str, value: Any) -> Any:
    value = neutralise(value)
    _check_length(key, value)
    if key in LIST_DOCUMENTATION_FIELDS:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValidationError({key: ["Must be a list of strings."]})
        if key == "demographic_input_features":
            unknown = sorted(set(value) - set(HTI1_DEMOGRAPHIC_VARIABLES))
            known = sorted(HTI1_DEMOGRAPHIC_VARIABLES)
            if unknown:
                raise ValidationError({key: [f"Unknown variables {unknown}; use {known}."]})
        return [v.strip() for v in value if v.strip()]
    if key in TEXT_MAP_DOCUMENTATION_FIELDS:
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise ValidationError({key: ["Must map contradiction ids to explanations (text)."]})
        return {k.strip(): v.strip() for k, v in value.items() if v.strip()}
    if key in OBJECT_DOCUMENTATION_FIELDS:
        if not isinstance(value, dict) or not all(v in DATA_ORIGINS for v in value.values()):
            raise ValidationError(
                {key: [f"Must map suite names to one of {sorted(DATA_ORIGINS)}."]}
            )
        return {str(k): v for k, v in value.items()}
    if key in NUMBER_DOCUMENTATION_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValidationError({key: ["Must be a non-negative number."]})
        return value
    if not isinstance(value, str):
        raise ValidationError({key: ["Must be text."]})
    if key == "output_type" and value.strip() not in OUTPUT_TYPES:
        raise ValidationError({key: [f"Must be one of {', '.join(OUTPUT_TYPES)}."]})
    return value.strip()


def _check_length(key: str, value: Any) -> None:
    """Documented limits (README, constants.py): long text makes cards nobody reads."""
    if isinstance(value, str):
        limit = DOCUMENTATION_MAX_CHARS.get(key, DOCUMENTATION_TEXT_MAX_CHARS)
        if len(value) > limit:
            raise ValidationError({key: [f"At most {limit:,} characters (got {len(value):,})."]})
        return
    if not isinstance(value, list | dict):
        return
    if len(value) > DOCUMENTATION_MAX_ITEMS:
        raise ValidationError({key: [f"At most {DOCUMENTATION_MAX_ITEMS} entries."]})
    pairs = value.items() if isinstance(value, dict) else ((v, "") for v in value)
    for name, text in pairs:
        if isinstance(name, str) and len(name) > DOCUMENTATION_ITEM_MAX_CHARS:
            raise ValidationError(
                {key: [f"Each entry at most {DOCUMENTATION_ITEM_MAX_CHARS} characters."]}
            )
        if isinstance(text, str) and len(text) > DOCUMENTATION_EXPLANATION_MAX_CHARS:
            raise ValidationError(
                {key: [f"Each value at most {DOCUMENTATION_EXPLANATION_MAX_CHARS:,} characters."]}
            )


@transaction.atomic
def model_documentation_update(
    *, model: AIModel, values: dict[str, Any], user: Any = None
) -> ModelDocumentation:
    """Merge `values` into the model's documentation; null or "" removes a field.

    An empty list is an answer, not a removal: no demographic input features at all.
    """
    unknown = sorted(set(values) - set(DOCUMENTATION_FIELDS))
    if unknown:
        raise ValidationError({"values": [f"Unknown documentation fields: {', '.join(unknown)}."]})
    doc, _ = ModelDocumentation.objects.select_for_update().get_or_create(model=model)
    merged = dict(doc.values)
    for key, value in values.items():
        if value is None or value == "":
            merged.pop(key, None)
        else:
            merged[key] = _clean_value(key, value)
    if merged != doc.values:
        doc.values = merged
        doc.revision += 1
        doc.updated_at = timezone.now()
        doc.updated_by = user if getattr(user, "pk", None) else None
        doc.save()
    return doc


# --- files ---------------------------------------------------------------------------------


def card_file_name(sha256: str, fmt: str) -> str:
    """The card file's name in the file store (apps/common/filestore.py)."""
    return filestore.content_name(CARD_MEDIA_DIR, sha256, f".{FORMATS[fmt][0]}")


def card_file_path(sha256: str, fmt: str) -> Path:
    """The card file on this machine (local file storage only, as in `make demo`)."""
    return Path(filestore.storage().path(card_file_name(sha256, fmt)))


def _store(content: bytes, fmt: str) -> str:
    """Store a file once under its SHA-256 (same bytes, same name); return the digest."""
    return filestore.store_bytes(CARD_MEDIA_DIR, content, f".{FORMATS[fmt][0]}").sha256


def render_files(
    document: dict[str, Any],
    progress: Callable[[float], None] = lambda p: None,
    *,
    key: signing.OrgKey | None = None,
) -> dict[str, bytes]:
    """Every format of a card: JSON, Markdown, CHAI XML (chai profile) and the PDF.

    With a key (issued cards), the CHAI XML carries an XML-DSig signature and the PDF a
    PAdES signature added after the PDF/A-3b file is written (an incremental update).
    """
    from apps.reports.pdf import render_pdf

    files = {"json": json_schema.render(document), "md": hf_readme.render(document)}
    attachments = {JSON_ATTACHMENT: (files["json"], "application/json")}
    xmp: dict[str, str] | None = None
    if document["card"]["profile"] == CardProfile.CHAI:
        xml = chai_xml.render(document)
        files["xml"] = signing.sign_xml(xml, key) if key else xml
        attachments[XML_ATTACHMENT] = (files["xml"], "application/xml")
        xmp = {"chaiMcXml": files["xml"].decode("utf-8"), "chaiMcSoftwareId": software_id()}
    progress(40)
    pdf = render_pdf(document, attachments=attachments, xmp_extra=xmp)
    if key is not None:
        card = document["card"]
        pdf = signing.sign_pdf(
            pdf,
            key,
            reason=f"Issued model card {card['id']} v{card['version']} ({card['profile']})",
            location=str(document["organization"]["name"]),
        )
    files["pdf"] = pdf
    progress(90)
    return files


def _store_all(files: dict[str, bytes]) -> dict[str, str]:
    hashes = {f"{fmt}_sha256": "" for fmt in FORMATS}
    for fmt, content in files.items():
        hashes[f"{fmt}_sha256"] = _store(content, fmt)
    return hashes


# --- drafting ------------------------------------------------------------------------------


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


# --- issuing -------------------------------------------------------------------------------


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


# --- downloads and verification ------------------------------------------------------------


@dataclass(frozen=True)
class CardFile:
    content: bytes
    filename: str
    content_type: str
    sha256: str


def model_card_file(*, card: ModelCard, fmt: str, actor: Actor | None = None) -> CardFile:
    """The stored file of a card in one format, checked against its digest; audited."""
    if fmt not in FORMATS:
        raise CardFileMissing(f"Unknown format {fmt!r}; use one of {', '.join(FORMATS)}.")
    digest = card.sha256_of(fmt)
    if not digest:
        if fmt == "xml" and card.profile != CardProfile.CHAI:
            raise CardFileMissing("CHAI XML exists for chai-profile cards only.")
        raise CardFileMissing(f"This card has no {fmt} file yet (status {card.status}).")
    content = filestore.read_bytes(card_file_name(digest, fmt))
    found = hashlib.sha256(content).hexdigest()
    if found != digest:
        _audit(
            action="card_file_altered",
            organization=card.organization_id,
            obj=card,
            label=f"{card} — stored {fmt} file does not match sha256 {digest[:12]}",
            changes={"format": fmt, "expected_sha256": digest, "found_sha256": found},
            actor=actor,
        )
        raise CardFileAltered(
            f"The stored {fmt} file of this card no longer matches its recorded SHA-256 "
            f"({digest}); it was changed on the server and is not served. The event is in "
            "the audit trail; restore the file from a backup with that digest."
        )
    ext, mime = FORMATS[fmt]
    slug = "".join(ch if ch.isalnum() else "-" for ch in card.model.name.lower()).strip("-")
    name = f"{slug}-{card.profile}-card-v{card.version}.{ext}"
    if fmt == "md":
        name = "README.md"
    _audit(
        action="download",
        organization=card.organization_id,
        obj=card,
        label=f"{card} — {fmt} sha256 {digest[:12]}",
        changes={"format": fmt, "sha256": digest},
        actor=actor,
    )
    return CardFile(content, name, mime, digest)


def sha256_of_upload(chunks: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def model_card_verify(*, sha256: str, actor: Actor) -> dict[str, Any]:
    """Is this digest an issued card's file? Answers with the reason."""
    sha256 = sha256.lower()
    found = selectors.model_card_by_digest(sha256=sha256)
    if found is None:
        answer: dict[str, Any] = {
            "issued": False,
            "sha256": sha256,
            "reason": "No issued card has a file with this SHA-256: the file was changed after "
            "issue, is a draft, or is not a CareAlign card. Upload the file itself to learn "
            "which card it claims to be and whether its signature holds.",
        }
        _audit_verify(None, sha256, answer, actor)
        return answer
    card, fmt = found
    answer = _card_answer(card, fmt, sha256)
    answer["reason"] = _authentic_reason(card, fmt, answer["status"])
    _audit_verify(card, sha256, answer, actor)
    return answer


def model_card_verify_file(*, content: bytes, actor: Actor) -> dict[str, Any]:
    """Verify an uploaded card file: its digest, its signature and certificate, the card it
    claims to be, and whether that card is current; every answer names its reason."""
    sha256 = hashlib.sha256(content).hexdigest()
    fmt = verification.sniff(content)
    check = verification.check_signature(content, fmt)
    found = selectors.model_card_by_digest(sha256=sha256)
    if found is not None:
        card, fmt = found
        answer = _card_answer(card, fmt, sha256)
        answer["signature"] = verification.signature_answer(check, _org_fingerprint(card))
        answer["reason"] = _authentic_reason(card, fmt, answer["status"])
        _audit_verify(card, sha256, answer, actor)
        return answer
    claimed_id = verification.claimed_card_id(content, fmt)
    claimed = selectors.model_card_claimed(card_id=claimed_id) if claimed_id else None
    answer = {
        "issued": False,
        "sha256": sha256,
        "format": fmt,
        "claims": verification.claim_answer(claimed, claimed_id),
        "signature": verification.signature_answer(
            check, _org_fingerprint(claimed) if claimed else None
        ),
    }
    answer["reason"] = verification.altered_reason(answer, claimed)
    _audit_verify(claimed, sha256, answer, actor)
    return answer


def _card_answer(card: ModelCard, fmt: str, sha256: str) -> dict[str, Any]:
    current = card.status == Status.ISSUED
    return {
        "issued": True,
        "sha256": sha256,
        "format": fmt,
        "card": str(card.pk),
        "card_version": card.version,
        "organization": card.organization.name,
        "model": card.model.name,
        "model_version": card.model_version.version_label,
        "profile": card.profile,
        "profile_title": card.get_profile_display(),
        "status": "current" if current else "superseded",
        "issued_at": card.issued_at,
        "superseded_at": card.superseded_at,
        "superseded_by_version": card.superseded_by.version if card.superseded_by else None,
    }


def _authentic_reason(card: ModelCard, fmt: str, status: str) -> str:
    what = f"the {fmt} file of {card.get_profile_display()} card v{card.version} of {card.model}"
    if status == "current":
        return f"Authentic: the digest matches {what}, issued and current."
    successor = card.superseded_by.version if card.superseded_by else "?"
    return f"Authentic but superseded: the digest matches {what}, replaced by v{successor}."


def _org_fingerprint(card: ModelCard | None) -> str | None:
    if card is None:
        return None
    folder = signing.key_dir(card.organization_id)
    path = folder / signing.CERT_FILE
    if not path.is_file():
        return None
    return signing.OrgKey(folder / signing.KEY_FILE, path).fingerprint


def _audit_verify(
    card: ModelCard | None, sha256: str, answer: dict[str, Any], actor: Actor
) -> None:
    if card is None:
        chains: list[int | None] = [*actor.org_ids] or [None]
        for org_id in chains:
            _audit(
                action="card_verify",
                organization=org_id,
                label=f"verify sha256 {sha256[:12]}: no issued card",
                changes={"sha256": sha256, "issued": False, "reason": answer["reason"]},
                actor=actor,
            )
        return
    _audit(
        action="card_verify",
        organization=card.organization_id,
        obj=card,
        label=f"{card} — verified sha256 {sha256[:12]}: "
        + (answer.get("status") or "not an issued file"),
        changes={
            "sha256": sha256,
            "issued": answer["issued"],
            "status": answer.get("status"),
            "reason": answer["reason"],
        },
        actor=actor,
    )


def organization_signing_key(
    *,
    organization: Any,
    key_pem: bytes | None = None,
    cert_pem: bytes | None = None,
    actor: Actor | None = None,
) -> signing.OrgKey:
    """The organisation's card-signing pair; with PEMs given, install them (audited)."""
    if key_pem is None or cert_pem is None:
        return signing.org_key(organization_id=organization.pk, organization_name=organization.name)
    installed = signing.org_key_install(
        organization_id=organization.pk, key_pem=key_pem, cert_pem=cert_pem
    )
    _audit(
        action="card_signing_key_install",
        organization=organization.pk,
        obj=organization,
        label=f"card-signing certificate sha256 {installed.fingerprint[:16]}",
        changes={"certificate_sha256": installed.fingerprint},
        actor=actor,
    )
    return installed
