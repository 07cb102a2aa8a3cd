"""Reading an uploaded card file: what it is, which card it claims to be, whether its
signature holds and whose certificate made it, and the reason, in words, for the answer.

No database here: services.model_card_verify_file looks the claimed card up. The same
checks run offline (`python -m apps.reports.offline FILE --cert CERT`).
"""

from __future__ import annotations

import io
import json
import re
from typing import TYPE_CHECKING, Any

from apps.reports import signing

if TYPE_CHECKING:
    from apps.reports.models import ModelCard

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def sniff(content: bytes) -> str:
    """pdf | xml | json | md, from the bytes themselves."""
    head = content[:1024].lstrip()
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"<?xml") or head.startswith(b"<"):
        return "xml"
    if head.startswith(b"{"):
        return "json"
    return "md"


def check_signature(content: bytes, fmt: str) -> signing.SignatureCheck | None:
    if fmt == "pdf":
        return signing.check_pdf(content)
    if fmt == "xml":
        return signing.check_xml(content)
    return None  # JSON and Markdown are proved by their digest only


def claimed_card_id(content: bytes, fmt: str) -> str | None:
    """The card id a file carries: PDF metadata, the JSON document, the README front matter."""
    if fmt == "pdf":
        return pdf_claimed_id(content)
    if fmt == "json":
        try:
            card = json.loads(content).get("card") or {}
        except (ValueError, AttributeError):
            return None
        found = str(card.get("id", ""))
        return found if _UUID.fullmatch(found) else None
    if fmt == "md":
        match = re.search(rb"card[_ ]id:?\s*`?([0-9a-f-]{36})", content[:20_000])
        return match.group(1).decode() if match else None
    return None


def pdf_claimed_id(content: bytes, key: str = "cardId") -> str | None:
    """The UUID a PDF's metadata claims (cards: cardId; comparison reports: reportId)."""
    from pypdf import PdfReader

    try:
        info: Any = PdfReader(io.BytesIO(content), strict=False).metadata or {}
        found = str(info.get(f"/{key}", ""))
    except Exception:  # a damaged PDF: fall back to the bytes
        found = ""
    if not _UUID.fullmatch(found):
        match = re.search(key.encode() + rb"[>(]\s*([0-9a-f-]{36})", content)
        found = match.group(1).decode() if match else ""
    return found if _UUID.fullmatch(found) else None


def claim_answer(card: ModelCard | None, claimed_id: str | None) -> dict[str, Any] | None:
    if claimed_id is None:
        return None
    if card is None:
        return {"card": claimed_id, "known": False}
    return {
        "card": str(card.pk),
        "known": True,
        "card_version": card.version,
        "organization": card.organization.name,
        "model": card.model.name,
        "model_version": card.model_version.version_label,
        "profile": card.profile,
        "card_status": card.status,
    }


def signature_answer(
    check: signing.SignatureCheck | None, org_fingerprint: str | None
) -> dict[str, Any]:
    if check is None:
        return {"present": False, "detail": "this format carries no signature"}
    answer: dict[str, Any] = {
        "present": check.present,
        "intact": check.intact,
        "covers_whole_file": check.covers_whole_file,
        "signer": check.signer,
        "certificate_sha256": check.certificate_sha256,
        "detail": check.detail,
    }
    if check.certificate_sha256:
        answer["organisation_certificate"] = (
            None if org_fingerprint is None else check.certificate_sha256 == org_fingerprint
        )
    return answer


def altered_reason(answer: dict[str, Any], card: ModelCard | None) -> str:
    """Why a file that matches no issued digest fails, in one sentence or two."""
    claims, sig = answer.get("claims"), answer["signature"]
    if claims is None:
        return (
            "Not verified: no issued card has this SHA-256 and the file names no card "
            "(not a CareAlign card, or its metadata was removed)."
        )
    if card is None:
        return f"Not verified: the file claims to be card {claims['card']}, which does not exist."
    who = f"{card.get_profile_display()} card v{card.version} of {card.model}"
    head = f"Not verified: the file claims to be {who}, but its SHA-256 matches none of its files"
    if card.status not in ("issued", "superseded"):
        return f"{head}; that card was never issued (status {card.status})."
    if not sig["present"]:
        return f"{head}, and it carries no signature: it was altered or re-saved."
    if sig.get("organisation_certificate") is False:
        return (
            f"{head}; it is signed with a certificate that is not {card.organization.name}'s "
            f"({sig.get('signer')}): a forged signature."
        )
    if not sig["intact"]:
        return f"{head}; its signature does not hold ({sig['detail']}): the signed bytes changed."
    if not sig["covers_whole_file"]:
        return f"{head}; the signature holds for the signed part, but {sig['detail']}."
    return f"{head}; its signature holds, yet the file differs from the one recorded."
