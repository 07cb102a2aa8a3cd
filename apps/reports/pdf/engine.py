"""WeasyPrint, locked down: what runs in the render child (see helper.py).

- Only `carealign-static:` files under static/reports and `data:` URIs are fetched; any
  other URL raises FatalURLFetchingError, which stops the render (no silent omission).
- No base URL: a relative URL never reaches the file system (WeasyPrint drops it and logs
  an error, which fails the render too).
- Fonts: FONT_CSS comes with every render; the child's Fontconfig has no fonts of its own.
- PDF/A-3b, with the given files as associated files, and extra metadata both in the
  document information dictionary and in the XMP packet (declared as a PDF/A extension
  schema).
"""

from __future__ import annotations

import base64
import logging
import mimetypes
import os
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import DataHandler, Request
from xml.etree.ElementTree import Element, SubElement, fromstring, register_namespace, tostring

import weasyprint
from weasyprint.pdf.metadata import NS as XMP_NS
from weasyprint.pdf.metadata import DocumentMetadata
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

STATIC_DIR = Path(__file__).resolve().parents[3] / "static" / "reports"
STATIC_SCHEME = "carealign-static"
PDF_VARIANT = "pdf/a-3b"
MAX_STATIC_BYTES = 20 * 1024 * 1024
XMP_NAMESPACE = "https://carealign.org/ns/pdf/1.0/"
XMP_PREFIX = "carealign"
XMP_ONLY = frozenset({"chaiMcXml"})  # a whole card: in the XMP packet and attached, not in Info
INFO_MAX_BYTES = 32_000  # PDF/A: no string over 32,767 bytes (we leave room for escapes)

# Given to every render as a user stylesheet: the child's Fontconfig knows no fonts at all
# (Pango crashes on text with no font), so these faces must always be there.
FONT_CSS = f"""
@font-face {{ font-family: "CareAlign Sans"; font-weight: normal; font-style: normal;
  src: url("{STATIC_SCHEME}:fonts/DejaVuSans.ttf"); }}
@font-face {{ font-family: "CareAlign Sans"; font-weight: bold; font-style: normal;
  src: url("{STATIC_SCHEME}:fonts/DejaVuSans-Bold.ttf"); }}
@font-face {{ font-family: "CareAlign Mono"; font-weight: normal; font-style: normal;
  src: url("{STATIC_SCHEME}:fonts/DejaVuSansMono.ttf"); }}
html {{ font-family: "CareAlign Sans"; }}
@page {{ font-family: "CareAlign Sans"; }}
"""
# Chinese, Japanese and Korean text: Noto Sans CJK from Debian's fonts-noto-cjk (make
# services installs it), subset-embedded like every font. Loaded only for a card that has
# CJK characters: parsing the 19 MB collection costs about a second.
FONT_SCHEME = "carealign-font"
CJK_FONT = Path(
    os.environ.get("CAREALIGN_CJK_FONT", "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
)
CJK_FONT_BOLD = Path(
    os.environ.get("CAREALIGN_CJK_FONT_BOLD", "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc")
)
MAX_FONT_BYTES = 64 * 1024 * 1024
CJK_CSS = f"""
@font-face {{ font-family: "CareAlign CJK"; font-weight: normal;
  src: url("{FONT_SCHEME}:cjk-regular"); }}
@font-face {{ font-family: "CareAlign CJK"; font-weight: bold;
  src: url("{FONT_SCHEME}:cjk-bold"); }}
html {{ font-family: "CareAlign Sans", "CareAlign CJK"; }}
@page {{ font-family: "CareAlign Sans", "CareAlign CJK"; }}
"""
_CJK = re.compile(
    "[\u1100-\u11ff\u2e80-\u2fdf\u3000-\u30ff\u3100-\u31ff\u3200-\u9fff"
    "\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\U00020000-\U0003134f]"
)


class FontMissing(Exception):
    """The card has CJK text and the CJK font is not installed."""


def font_css(html: str) -> str:
    """The font faces a render needs: ours always, Noto CJK when the text has CJK."""
    if not _CJK.search(html):
        return FONT_CSS
    if not CJK_FONT.is_file():
        raise FontMissing(
            f"the card has Chinese, Japanese or Korean text and {CJK_FONT} is missing: "
            "install Debian's fonts-noto-cjk (make services) or set CAREALIGN_CJK_FONT"
        )
    return FONT_CSS + CJK_CSS


class CardURLFetcher(URLFetcher):  # type: ignore[misc]  # WeasyPrint ships no types
    """Serve `carealign-static:` files under static/reports and `data:` URIs, nothing else.

    Every refusal raises FatalURLFetchingError, which stops the render: a template that
    points anywhere else fails loudly instead of rendering without the resource.
    """

    def __init__(self) -> None:
        super().__init__(
            timeout=5,
            allowed_protocols={"data", STATIC_SCHEME, FONT_SCHEME},
            allow_redirects=False,
            fail_on_errors=True,
        )
        self.requested: list[str] = []

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> URLFetcherResponse:
        shown = url if len(url) <= 120 else url[:117] + "..."
        self.requested.append(shown)
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == STATIC_SCHEME:
            return self._static(url, shown)
        if scheme == FONT_SCHEME:
            return self._font(url, shown)
        if scheme == "data":
            try:
                response = DataHandler().data_open(Request(url))
                body = response.read()
                content_type = response.headers.get("Content-Type", "text/plain")
            except Exception as exc:
                raise FatalURLFetchingError(f"invalid data: URI {shown!r} ({exc})") from exc
            return URLFetcherResponse(url, body, {"Content-Type": content_type})
        raise FatalURLFetchingError(
            f"refused to fetch {shown!r}: only {STATIC_SCHEME}: and data: URLs are allowed"
        )

    def _static(self, url: str, shown: str) -> URLFetcherResponse:
        parts = urlsplit(url)
        relative = unquote(parts.path)
        root = STATIC_DIR.resolve()
        if parts.netloc or not relative or relative.startswith("/") or "\x00" in relative:
            raise FatalURLFetchingError(f"refused to fetch {shown!r}: bad static path")
        target = (root / relative).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            raise FatalURLFetchingError(f"refused to fetch {shown!r}: not a file in static/reports")
        if target.stat().st_size > MAX_STATIC_BYTES:
            raise FatalURLFetchingError(f"refused to fetch {shown!r}: file too large")
        mime_type = {".ttf": "font/ttf", ".css": "text/css", ".svg": "image/svg+xml"}.get(
            target.suffix, mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        )
        return URLFetcherResponse(url, target.read_bytes(), {"Content-Type": mime_type})

    def _font(self, url: str, shown: str) -> URLFetcherResponse:
        target = {"cjk-regular": CJK_FONT, "cjk-bold": CJK_FONT_BOLD}.get(url.split(":", 1)[1])
        if target is not None and not target.is_file():
            target = CJK_FONT  # bold falls back to the regular face
        if target is None or not target.is_file() or target.stat().st_size > MAX_FONT_BYTES:
            raise FatalURLFetchingError(f"refused to fetch {shown!r}: not a configured font")
        return URLFetcherResponse(url, target.read_bytes(), {"Content-Type": "font/collection"})


class _CardMetadata(DocumentMetadata):  # type: ignore[misc]  # WeasyPrint ships no types
    """WeasyPrint's metadata plus our properties in the XMP packet, declared for PDF/A."""

    extra_xmp: dict[str, str]

    def generate_rdf_metadata(self, variant: str, version: int, conformance: str) -> bytes:
        rdf = fromstring(super().generate_rdf_metadata(variant, version, conformance))
        if self.extra_xmp:
            rdf.append(_pdfa_extension_schema(sorted(self.extra_xmp)))
            description = Element(f"{{{XMP_NS['rdf']}}}Description")
            description.set(f"{{{XMP_NS['rdf']}}}about", "")
            for key, value in sorted(self.extra_xmp.items()):
                SubElement(description, f"{{{XMP_NAMESPACE}}}{key}").text = value
            rdf.append(description)
        data: bytes = tostring(rdf, encoding="utf-8")
        return data


_PDFA_EXT = "http://www.aiim.org/pdfa/ns/extension/"
_PDFA_SCHEMA = "http://www.aiim.org/pdfa/ns/schema#"
_PDFA_PROPERTY = "http://www.aiim.org/pdfa/ns/property#"


def _pdfa_extension_schema(keys: list[str]) -> Element:
    """PDF/A allows custom XMP properties only with a pdfaExtension schema description."""
    for prefix, uri in (
        ("pdfaExtension", _PDFA_EXT),
        ("pdfaSchema", _PDFA_SCHEMA),
        ("pdfaProperty", _PDFA_PROPERTY),
        (XMP_PREFIX, XMP_NAMESPACE),
    ):
        register_namespace(prefix, uri)
    rdf = XMP_NS["rdf"]
    resource = {f"{{{rdf}}}parseType": "Resource"}
    description = Element(f"{{{rdf}}}Description", {f"{{{rdf}}}about": ""})
    bag = SubElement(SubElement(description, f"{{{_PDFA_EXT}}}schemas"), f"{{{rdf}}}Bag")
    schema = SubElement(bag, f"{{{rdf}}}li", resource)
    SubElement(schema, f"{{{_PDFA_SCHEMA}}}schema").text = "CareAlign model card metadata"
    SubElement(schema, f"{{{_PDFA_SCHEMA}}}namespaceURI").text = XMP_NAMESPACE
    SubElement(schema, f"{{{_PDFA_SCHEMA}}}prefix").text = XMP_PREFIX
    seq = SubElement(SubElement(schema, f"{{{_PDFA_SCHEMA}}}property"), f"{{{rdf}}}Seq")
    for key in keys:
        prop = SubElement(seq, f"{{{rdf}}}li", resource)
        SubElement(prop, f"{{{_PDFA_PROPERTY}}}name").text = key
        SubElement(prop, f"{{{_PDFA_PROPERTY}}}valueType").text = "Text"
        SubElement(prop, f"{{{_PDFA_PROPERTY}}}category").text = "external"
        SubElement(prop, f"{{{_PDFA_PROPERTY}}}description").text = key
    return description


def _tidy_catalog(document: Any, pdf: Any) -> None:
    """Each associated file once in the catalog's /AF, and the file name tree sorted.

    WeasyPrint 70 lists every attachment twice in /AF and leaves the EmbeddedFiles names
    in the given order; PDF/A-3 validators (and qpdf) want both fixed.
    """
    catalog = pdf.catalog
    if "AF" in catalog:
        unique: list[Any] = []
        for entry in catalog["AF"]:
            if entry not in unique:
                unique.append(entry)
        catalog["AF"][:] = unique
    names = catalog.get("Names") or {}
    if "EmbeddedFiles" in names:
        reference = names["EmbeddedFiles"]
        if isinstance(reference, bytes):
            reference = reference.decode()
        tree = pdf.objects[int(str(reference).split()[0])]
        flat = list(tree["Names"])
        pairs = sorted(zip(flat[::2], flat[1::2], strict=True), key=lambda kv: _pdf_key(kv[0]))
        tree["Names"][:] = [item for pair in pairs for item in pair]


def _pdf_key(name: Any) -> bytes:
    # Name trees sort by the strings' bytes: pydyf writes text strings as UTF-16BE with BOM.
    text = str(getattr(name, "string", name))
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return b"\xfe\xff" + text.encode("utf-16-be")
    return text.encode("latin-1")


class _LogCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def render_job(job: Mapping[str, Any]) -> dict[str, Any]:
    """Run in the forked child: WeasyPrint with our fetcher, fonts and metadata."""
    fetcher = CardURLFetcher()
    collector = _LogCollector()
    wp_logger = logging.getLogger("weasyprint")
    wp_logger.addHandler(collector)
    wp_logger.propagate = False
    try:
        pdf = _write_pdf(job, fetcher)
    except FatalURLFetchingError as exc:
        cause = f" ({exc.__cause__})" if exc.__cause__ else ""
        return {
            "status": "refused",
            "detail": f"{exc}{cause}",
            "fetched": fetcher.requested,
            "warnings": [],
        }
    except Exception as exc:
        return {
            "status": "error",
            "detail": f"{type(exc).__name__}: {exc}",
            "fetched": fetcher.requested,
            "warnings": [],
        }
    messages = [r.getMessage() for r in collector.records]
    # ERROR is what WeasyPrint logs when it drops a resource (for example a relative URL
    # with no base URL); a font face that did not load would leave the text without glyphs.
    fatal = [
        r.getMessage()
        for r in collector.records
        if r.levelno >= logging.ERROR or r.getMessage().startswith("Font-face")
    ]
    if fatal:
        return {
            "status": "error",
            "detail": "; ".join(fatal),
            "fetched": fetcher.requested,
            "warnings": messages,
        }
    return {"status": "ok", "pdf": pdf, "fetched": fetcher.requested, "warnings": messages}


def _write_pdf(job: Mapping[str, Any], fetcher: CardURLFetcher) -> bytes:
    meta = job["metadata"]
    font_config = FontConfiguration()
    # No base_url: a relative URL cannot reach the file system, it is dropped (and fails).
    html = weasyprint.HTML(string=job["html"], url_fetcher=fetcher)
    fonts = weasyprint.CSS(
        string=font_css(job["html"]), url_fetcher=fetcher, font_config=font_config
    )
    document = html.render(font_config=font_config, stylesheets=[fonts], pdf_variant=PDF_VARIANT)
    if document.metadata.attachments:
        # Only the files given to render_pdf are embedded, never one the HTML names.
        raise ValueError("the HTML links attachments (<link rel=attachment>); none are allowed")
    created = meta.get("created")
    metadata = _CardMetadata(
        title=meta["title"],
        authors=meta["authors"],
        description=meta["subject"] or None,
        keywords=meta["keywords"],
        generator=meta["creator"] or None,
        created=created,
        modified=created,
        lang=meta["lang"],
        custom=dict(meta["custom"]),
    )
    metadata.extra_xmp = dict(meta["custom"])
    # PDF/A caps a string at 32,767 bytes (veraPDF 6.1.13-3): long values (chaiMcXml) go to
    # the XMP packet, a stream, and only short ones into the information dictionary too.
    metadata.custom = {
        k: v
        for k, v in meta["custom"].items()
        if k not in XMP_ONLY and len(v.encode("utf-16-be")) < INFO_MAX_BYTES
    }
    document.metadata = metadata
    moment = datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ") if created else datetime(2000, 1, 1)
    files = [
        weasyprint.Attachment(
            url=f"data:{a['mime_type']};base64,{base64.b64encode(a['data']).decode()}",
            url_fetcher=fetcher,
            name=a["name"],
            description=a["description"] or None,
            created=moment,
            modified=moment,
            relationship=a["relationship"],
        )
        for a in job["attachments"]
    ]
    pdf = document.write_pdf(
        pdf_variant=PDF_VARIANT,
        attachments=files,
        custom_metadata=True,
        finisher=_tidy_catalog,
    )
    assert isinstance(pdf, bytes)
    return pdf
