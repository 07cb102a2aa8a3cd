"""Render a model card document to a PDF/A-3b file with WeasyPrint, locked down.

Three layers (PX split: the data is built elsewhere, the task only stores the file):
- `render_html`: the card document (apps/reports/document.py) through
  templates/reports/card.html, autoescaped (context.py; charts from charts.py as SVG).
- `html_to_pdf`: WeasyPrint (engine.py) in a child process with a time and a memory limit
  (helper.py), fetching only our static files and `data:` URIs, with only the fonts shipped
  in static/reports/fonts.
- `render_pdf`: both, plus the attachments (PDF/A-3 associated files) and the metadata.

This package does not import WeasyPrint: only the helper process does.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from django.template.loader import render_to_string

from apps.reports.pdf import helper
from apps.reports.pdf.context import card_context, parse_datetime

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MEMORY_MB = 4096
_METADATA_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,63}$")


class RenderError(ValueError):
    """A card could not be rendered: bad document, refused URL, time or memory limit."""


@dataclass
class PdfAttachment:
    """A file embedded as a PDF/A-3 associated file."""

    name: str
    data: bytes
    mime_type: str
    relationship: str = "Data"
    description: str = ""


@dataclass
class PdfMetadata:
    """What goes into the document information dictionary and the XMP packet."""

    title: str
    authors: list[str] = field(default_factory=list)
    subject: str = ""
    keywords: list[str] = field(default_factory=list)
    creator: str = ""
    created: str | None = None  # W3C date-time, UTC, seconds
    custom: dict[str, str] = field(default_factory=dict)
    lang: str = "en"


@dataclass
class RenderResult:
    """A PDF, the URLs its render fetched, and what WeasyPrint warned about."""

    pdf: bytes
    fetched: list[str]
    warnings: list[str]
    seconds: float


def render_pdf(
    document: Mapping[str, Any],
    *,
    attachments: Mapping[str, tuple[bytes, str]] | None = None,
    xmp_extra: Mapping[str, str] | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_mb: int = DEFAULT_MEMORY_MB,
) -> bytes:
    """Render a card document to PDF/A-3b bytes; raise RenderError when that fails.

    `attachments` maps a file name to (bytes, MIME type); the card JSON is added when no
    application/json attachment is given. `xmp_extra` names extra metadata (for the CHAI
    profile `chaiMcXml` and `chaiMcSoftwareId`, filled from the XML attachment and the
    card's software id when not given): each goes into the document information dictionary
    and into the XMP packet. `timeout_s` bounds the whole render, HTML and PDF.
    """
    deadline = time.monotonic() + timeout_s
    files = _attachments(document, attachments or {})
    metadata = _metadata(document, files, xmp_extra or {})
    html = render_html(document)
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise RenderError(f"render exceeded {timeout_s:g} s")
    result = html_to_pdf(
        html,
        attachments=files,
        metadata=metadata,
        timeout_s=remaining,
        memory_mb=memory_mb,
        timeout_label=timeout_s,
    )
    return result.pdf


def render_html(document: Mapping[str, Any]) -> str:
    """Return the card's HTML (autoescaped Django template; charts inline as SVG)."""
    try:
        context = card_context(document)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RenderError(f"malformed card document: {type(exc).__name__}: {exc}") from exc
    return render_to_string("reports/card.html", context)


def html_to_pdf(
    html: str,
    *,
    attachments: Sequence[PdfAttachment] = (),
    metadata: PdfMetadata | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_mb: int = DEFAULT_MEMORY_MB,
    timeout_label: float | None = None,
) -> RenderResult:
    """Run WeasyPrint on finished HTML in a child process; raise RenderError on failure.

    `timeout_label` is the limit to name in the error when the caller has spent part of it.
    """
    if not timeout_s > 0:
        raise RenderError(f"render exceeded {timeout_label or timeout_s:g} s")
    job = {
        "html": html,
        "attachments": [vars(a) for a in attachments],
        "metadata": vars(metadata or PdfMetadata(title="CareAlign document")),
    }
    started = time.monotonic()
    try:
        response = helper.call(job, timeout_s=timeout_s, memory_mb=memory_mb)
    except helper.HelperError as exc:
        raise RenderError(f"PDF render helper failed: {exc}") from exc
    for url in response.get("fetched", []):
        logger.debug("card pdf fetched %s", url)
    for warning in response.get("warnings", []):
        logger.warning("card pdf: WeasyPrint: %s", warning)
    status = response.get("status")
    if status == "ok":
        return RenderResult(
            pdf=response["pdf"],
            fetched=response["fetched"],
            warnings=response["warnings"],
            seconds=time.monotonic() - started,
        )
    if status == "timeout":
        raise RenderError(f"render exceeded {timeout_label or timeout_s:g} s")
    raise RenderError(f"render failed: {response.get('detail', status)}")


def warm_up() -> None:
    """Start this process's render helper now (a worker can call it at start-up)."""
    try:
        helper.start()
    except helper.HelperError as exc:
        raise RenderError(f"PDF render helper failed: {exc}") from exc


def _attachments(
    document: Mapping[str, Any], given: Mapping[str, tuple[bytes, str]]
) -> list[PdfAttachment]:
    files = []
    for name, value in given.items():
        try:
            data, mime_type = value
        except (TypeError, ValueError) as exc:
            raise RenderError(f"attachment {name!r} must be (bytes, mime type)") from exc
        if not isinstance(data, bytes) or not isinstance(mime_type, str) or "/" not in mime_type:
            raise RenderError(f"attachment {name!r} must be (bytes, mime type)")
        if not name or "/" in name or "\\" in name or "\x00" in name:
            raise RenderError(f"bad attachment file name {name!r}")
        # PDF/A-3 relationship: the JSON is the data the card is drawn from; the CHAI XML
        # is the same card in another format.
        relationship = "Data" if mime_type == "application/json" else "Alternative"
        files.append(PdfAttachment(name, data, mime_type, relationship, _describe(mime_type)))
    if not any(f.mime_type == "application/json" for f in files):
        card = document.get("card") or {}
        name = f"model-card-{card.get('id', 'card')}-v{card.get('version', 0)}.json"
        data = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False).encode()
        files.insert(
            0, PdfAttachment(name, data, "application/json", "Data", _describe("application/json"))
        )
    return files


def _describe(mime_type: str) -> str:
    if mime_type == "application/json":
        return "CareAlign model card document (JSON, schema model-card-1.0)"
    if mime_type in {"application/xml", "text/xml"}:
        return "CHAI Applied Model Card (XML)"
    return "Attachment"


def _metadata(
    document: Mapping[str, Any], files: list[PdfAttachment], extra: Mapping[str, str]
) -> PdfMetadata:
    card = document.get("card") or {}
    model = document.get("model") or {}
    version = document.get("model_version") or {}
    org = document.get("organization") or {}
    custom = {
        "cardId": str(card.get("id", "")),
        "cardVersion": str(card.get("version", "")),
        "cardStatus": str(card.get("status", "")),
        "cardProfile": str(card.get("profile", "")),
    }
    if card.get("profile") == "chai":
        xml_files = [f for f in files if f.mime_type in {"application/xml", "text/xml"}]
        if len(xml_files) == 1:
            custom["chaiMcXml"] = xml_files[0].data.decode("utf-8")
        custom["chaiMcSoftwareId"] = str(card.get("software_id", ""))
    for key, value in extra.items():
        if not _METADATA_KEY.match(key) or not isinstance(value, str):
            raise RenderError(f"bad metadata entry {key!r}: names are ASCII letters and digits")
        custom[key] = value
    if card.get("profile") == "chai" and not custom.get("chaiMcXml"):
        raise RenderError("CHAI cards need the CHAI XML (xmp_extra chaiMcXml or an XML attachment)")
    title = f"{model.get('name', 'Model')} {version.get('version_label', '')}".strip()
    return PdfMetadata(
        title=f"{title}: {card.get('profile_title', 'model card')} (card v{card.get('version')})",
        authors=[str(org.get("name", ""))] if org.get("name") else [],
        subject=f"Model card {card.get('id', '')}, version {card.get('version', '')}, "
        f"{card.get('status', '')}",
        keywords=["model card", str(card.get("profile", "")), "CareAlign"],
        creator=str(card.get("software_id", "CareAlign")),
        created=_w3c_utc(card.get("generated_at")),
        custom=custom,
    )


def _w3c_utc(value: Any) -> str | None:
    moment = parse_datetime(value)
    if moment is None or moment.tzinfo is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
