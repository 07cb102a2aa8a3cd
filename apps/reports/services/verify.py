"""Verifying a card file by its digest or its content, and the organisation's signing key."""

from __future__ import annotations

import hashlib
from typing import Any

from apps.common.tenancy import Actor
from apps.reports import selectors, signing, verification
from apps.reports.models import ModelCard
from apps.reports.services.base import Status, _audit


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
