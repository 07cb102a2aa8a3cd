"""A card's files: rendering every format, storing each once under its SHA-256, serving
one back checked against its digest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apps.common import filestore
from apps.common.tenancy import Actor
from apps.reports import signing
from apps.reports.constants import (
    CARD_MEDIA_DIR,
    FORMATS,
)
from apps.reports.document import software_id
from apps.reports.formats import chai_xml, hf_readme, json_schema
from apps.reports.models import CardProfile, ModelCard
from apps.reports.services.base import CardFileAltered, CardFileMissing, _audit

JSON_ATTACHMENT = "model-card.json"


XML_ATTACHMENT = "model-card.chai.xml"


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
    try:
        content = filestore.read_verified(card_file_name(digest, fmt), digest)
    except filestore.StoredFileAltered as exc:
        _audit(
            action="card_file_altered",
            organization=card.organization_id,
            obj=card,
            label=f"{card} — stored {fmt} file does not match sha256 {digest[:12]}",
            changes={"format": fmt, "expected_sha256": digest, "found_sha256": exc.found},
            actor=actor,
        )
        raise CardFileAltered(
            f"The stored {fmt} file of this card no longer matches its recorded SHA-256 "
            f"({digest}); it was changed on the server and is not served. The event is in "
            "the audit trail; restore the file from a backup with that digest."
        ) from exc
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
