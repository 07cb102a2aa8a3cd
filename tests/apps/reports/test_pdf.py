"""The model card PDF: content, PDF/A-3b, attachments, metadata, fonts, and a locked-down render.

No database: the renderer takes a finished card document (A's sample_card.json).
"""

from __future__ import annotations

import copy
import html
import io
import json
import logging
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from weasyprint.urls import FatalURLFetchingError

from apps.reports import charts, pdf
from apps.reports.pdf import RenderError, engine, helper, html_to_pdf, render_html, render_pdf
from apps.reports.pdf.engine import CardURLFetcher

SAMPLE = Path(__file__).with_name("sample_card.json")
CHAI_XML = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<AppliedModelCard xmlns="https://mc.chai.org/v0.2/schema.xsd">'
    b"<BasicInfo><ModelName>Discharge Summary Assistant</ModelName></BasicInfo>"
    b"</AppliedModelCard>\n"
)
SHIPPED_FONT = re.compile(r"^[A-Z]{6}\+CareAlign-(Sans|Sans-Bold|Mono)$")
HOSTILE = [
    '<img src="file:///etc/passwd">',
    '<a rel="attachment" href="file:///etc/passwd">x</a>',
    "<style>@import url(http://10.255.255.1/x.css)</style>",
    '<svg xmlns="http://www.w3.org/2000/svg"><image href="file:///etc/passwd"/></svg>',
    '<link rel="stylesheet" href="http://169.254.169.254/">',
]
FORBIDDEN_URLS = [
    "file:///etc/passwd",
    "http://169.254.169.254/latest/meta-data/",
    "https://example.org/x.css",
    "ftp://example.org/x.png",
    "carealign-static:../../../../etc/passwd",
    "carealign-static:fonts/../../../../../etc/passwd",
    "carealign-static:%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "carealign-static:/etc/passwd",
    "carealign-static://fonts/DejaVuSans.ttf",
    "carealign-static:fonts/missing.ttf",
    "gopher://example.org/",
]


def sample() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(SAMPLE.read_text())
    return document


def info_of(content: bytes) -> dict[str, Any]:
    """The document information dictionary."""
    info = PdfReader(io.BytesIO(content)).metadata
    assert info is not None
    return dict(info)


def attachments_for(document: dict[str, Any]) -> dict[str, tuple[bytes, str]]:
    files = {"model-card.json": (json.dumps(document, sort_keys=True).encode(), "application/json")}
    if document["card"]["profile"] == "chai":
        files["chai-model-card.xml"] = (CHAI_XML, "application/xml")
    return files


def chai_extra(document: dict[str, Any]) -> dict[str, str]:
    return {"chaiMcXml": CHAI_XML.decode(), "chaiMcSoftwareId": document["card"]["software_id"]}


def pdf_text(content: bytes) -> str:
    """Text of the PDF as pdftotext reads it (pypdf where poppler is not installed)."""
    if shutil.which("pdftotext"):
        result = subprocess.run(
            ["pdftotext", "-layout", "-enc", "UTF-8", "-", "-"],
            input=content,
            capture_output=True,
            check=True,
        )
        return result.stdout.decode()
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def squash(text: str) -> str:
    """Without whitespace: lines wrap anywhere in a PDF, the characters stay in order."""
    return re.sub(r"\s+", "", text)


def embedded_fonts(reader: PdfReader) -> dict[str, bool]:
    """BaseFont name -> whether the font program is embedded, over every page."""
    fonts: dict[str, bool] = {}
    for page in reader.pages:
        resources: Any = page["/Resources"].get_object()
        for ref in (resources.get("/Font") or {}).values():
            font = ref.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            fonts[str(font["/BaseFont"]).lstrip("/")] = any(
                key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")
            )
    return fonts


@pytest.fixture(scope="module")
def card() -> dict[str, Any]:
    document = sample()
    files = attachments_for(document)
    content = render_pdf(document, attachments=files, xmp_extra=chai_extra(document))
    return {
        "document": document,
        "files": files,
        "pdf": content,
        "reader": PdfReader(io.BytesIO(content)),
        "text": pdf_text(content),
    }


def test_cover_shows_the_card_facts(card: dict[str, Any]) -> None:
    doc, text = card["document"], squash(card["text"])
    facts = [
        doc["model"]["name"],
        doc["model_version"]["version_label"],
        doc["card"]["profile_title"],
        doc["card"]["id"],
        f"Cardversion{doc['card']['version']}",
        "DRAFT",
        "IssuedateNotissued",
        doc["organization"]["name"],
        "2026-11-0409:15:00UTC",
    ]
    for fact in facts:
        assert squash(fact) in text, fact


def test_every_section_title_and_field_label_is_printed(card: dict[str, Any]) -> None:
    text = squash(card["text"])
    for section in card["document"]["sections"]:
        assert squash(section["title"]) in text, section["title"]
        for field in section["fields"]:
            assert squash(field["label"]) in text, field["label"]
        for table in section["tables"]:
            assert squash(table["title"]) in text
            assert squash(table["columns"][0]) in text
        for chart in section["charts"]:
            assert squash(chart["title"]) in text
    for fixed in (
        "Contents",
        "Signatures",
        "Completeness",
        "Reproducibilitymanifest",
        "Audittrail",
    ):
        assert fixed in text


def test_missing_required_fields_show_where_to_fill_them(card: dict[str, Any]) -> None:
    text = squash(card["text"])
    missing = [
        f
        for s in card["document"]["sections"]
        for f in s["fields"]
        if f["missing"] and f["required"]
    ]
    assert missing
    for field in missing:
        assert squash(f"MISSING — fill in: {field['fill_hint']}") in text


def test_every_page_has_the_footer_with_page_x_of_y(card: dict[str, Any]) -> None:
    pages = len(card["reader"].pages)
    assert pages >= 3
    card_id = card["document"]["card"]["id"]
    for number, page in enumerate(card["text"].split("\f")[:pages], start=1):
        assert f"page {number} of {pages}" in page
        assert squash(f"Card {card_id} · version 3") in squash(page)
        assert "DRAFT" in page


def test_contents_give_page_numbers(card: dict[str, Any]) -> None:
    contents = card["text"].split("\f")[1]
    assert re.search(r"Basic information[ .]*\d+", contents)
    assert re.search(r"Signatures[ .]*\d+", contents)


def test_signatures_show_the_part_11_manifestations(card: dict[str, Any]) -> None:
    text = squash(card["text"])
    signature = card["document"]["signatures"][0]
    assert squash(f"Printed name {signature['signer_name']}") in text
    assert squash("Role clinical_reviewer") in text
    assert squash("Lifecycle stage validation") in text
    assert squash("Date and time 2026-11-03 16:02:11 UTC") in text
    assert squash("Meaning Approval") in text
    assert signature["record_digest"] in text
    assert "STALE" not in text


def test_manifest_and_audit_chain_head_are_printed(card: dict[str, Any]) -> None:
    text = squash(card["text"])
    audit = card["document"]["audit"]
    assert squash(f"Chain head sequence {audit['chain_head_sequence']}") in text
    assert audit["chain_head_hash"] in text
    assert squash(f"Events in the chain {audit['event_count']}") in text
    assert "model.revision" in text and card["document"]["manifest"]["model"]["revision"] in text
    assert "datasets[0].sha256" in text


def test_attachments_extract_as_the_bytes_given(card: dict[str, Any]) -> None:
    attached = card["reader"].attachments
    assert set(attached) == set(card["files"])
    for name, (data, _mime) in card["files"].items():
        assert attached[name] == [data]


def test_pdfa_3b_with_associated_files(card: dict[str, Any]) -> None:
    reader = card["reader"]
    assert card["pdf"].startswith(b"%PDF-1.7")
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert re.search(r'pdfaid:part="3"|<pdfaid:part>3<', xmp)
    assert re.search(r'pdfaid:conformance="B"|<pdfaid:conformance>B<', xmp)
    root = reader.trailer["/Root"]
    assert "/GTS_PDFA1" in str(root["/OutputIntents"][0].get_object()["/S"])
    associated = [ref.get_object() for ref in root["/AF"]]
    assert {str(f["/F"]) for f in associated} == set(card["files"])
    relationships = {str(f["/F"]): str(f["/AFRelationship"]) for f in associated}
    assert relationships == {"model-card.json": "/Data", "chai-model-card.xml": "/Alternative"}


def test_chai_metadata_in_the_information_dictionary_and_xmp(card: dict[str, Any]) -> None:
    info = info_of(card["pdf"])
    # A whole card is far over PDF/A's 32,767-byte string limit: XMP and attachment only.
    assert "/chaiMcXml" not in info
    assert info["/chaiMcSoftwareId"] == "CareAlign 0.1.0"
    assert info["/cardId"] == card["document"]["card"]["id"]
    assert info["/Title"].startswith("Discharge Summary Assistant 2.1.0")
    xmp = card["reader"].trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert "<carealign:chaiMcSoftwareId>CareAlign 0.1.0</carealign:chaiMcSoftwareId>" in xmp
    assert "&lt;AppliedModelCard" in xmp  # the XML, escaped as text
    assert "<pdfaSchema:prefix>carealign</pdfaSchema:prefix>" in xmp


def test_only_the_shipped_fonts_are_embedded(card: dict[str, Any]) -> None:
    fonts = embedded_fonts(card["reader"])
    assert fonts and all(fonts.values()), fonts
    assert all(SHIPPED_FONT.match(name) for name in fonts), fonts


def test_the_same_document_renders_to_the_same_bytes(card: dict[str, Any]) -> None:
    again = render_pdf(
        card["document"], attachments=card["files"], xmp_extra=chai_extra(card["document"])
    )
    assert again == card["pdf"]


def test_chai_metadata_defaults_from_the_xml_attachment() -> None:
    document = sample()
    document["sections"] = document["sections"][:1]
    content = render_pdf(document, attachments=attachments_for(document))
    xmp = PdfReader(io.BytesIO(content)).trailer["/Root"]["/Metadata"].get_object().get_data()
    assert html.escape(CHAI_XML.decode(), quote=False).encode() in xmp
    assert info_of(content)["/chaiMcSoftwareId"] == "CareAlign 0.1.0"


def test_card_json_is_attached_when_not_given() -> None:
    document = sample()
    document["card"]["profile"] = "payer"
    document["sections"] = document["sections"][:1]
    content = render_pdf(document)
    reader = PdfReader(io.BytesIO(content))
    (name,) = reader.attachments
    assert name == f"model-card-{document['card']['id']}-v3.json"
    assert json.loads(reader.attachments[name][0]) == document
    assert "/chaiMcXml" not in info_of(content)


def test_chai_card_without_its_xml_is_refused() -> None:
    document = sample()
    with pytest.raises(RenderError, match="CHAI XML"):
        render_pdf(document, attachments={"c.json": (b"{}", "application/json")})


@pytest.mark.parametrize(
    "extra", [{"chai Mc": "x"}, {"": "x"}, {"9lives": "x"}, {"ok": 3}], ids=repr
)
def test_bad_metadata_names_are_refused(extra: dict[str, Any]) -> None:
    document = sample()
    with pytest.raises(RenderError, match="metadata"):
        render_pdf(document, attachments=attachments_for(document), xmp_extra=extra)


def test_malformed_document_raises_render_error() -> None:
    document = sample()
    del document["sections"]
    with pytest.raises(RenderError, match="malformed card document"):
        render_pdf(document, attachments=attachments_for(document))


def test_no_signatures_stale_signature_no_manifest_no_audit() -> None:
    document = sample()
    document["sections"] = document["sections"][:1]
    document["manifest"] = None
    document["audit"] = {"chain_head_sequence": None, "chain_head_hash": None, "event_count": 0}
    document["card"]["status"] = "superseded"
    stale = copy.deepcopy(document)
    stale["signatures"][0]["current"] = False
    stale["signatures"][0]["signed_at"] = "2026-11-03T18:02:11+02:00"
    document["signatures"] = []

    text = squash(pdf_text(render_pdf(document, attachments=attachments_for(document))))
    assert "Nosignaturesrecorded." in text
    assert "Noevaluationrunrecordedforthismodelversion." in text
    assert "Noauditeventsrecorded." in text
    assert "SUPERSEDED" in text

    text = squash(pdf_text(render_pdf(stale, attachments=attachments_for(stale))))
    assert "STALE:therecordchangedaftersigning" in text
    assert "2026-11-0318:02:11UTC+02:00" in text


def test_hostile_field_values_print_as_text_and_fetch_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    document = sample()
    section = document["sections"][0]
    for i, value in enumerate(HOSTILE):
        section["fields"].append(
            {
                "id": f"hostile_{i}",
                "label": f"Hostile {i}",
                "value": value,
                "required": False,
                "missing": False,
                "fill_hint": "",
                "source": "documentation",
            }
        )
    section["fields"][0]["label"] = HOSTILE[0]
    section["title"] = HOSTILE[4]
    document["model"]["name"] = HOSTILE[2]
    document["organization"]["name"] = HOSTILE[1]
    document["signatures"][0]["printed_name"] = HOSTILE[3]
    document["sections"][3]["tables"][0]["rows"][0][0] = HOSTILE[1]
    document["sections"][3]["charts"][0]["series"][0]["label"] = HOSTILE[3]
    document["sections"][3]["charts"][0]["title"] = HOSTILE[0]
    files = attachments_for(document)

    caplog.set_level(logging.DEBUG, logger="apps.reports.pdf")
    content = render_pdf(document, attachments=files, xmp_extra=chai_extra(document))

    fetched = [
        str(r.getMessage()).removeprefix("card pdf fetched ")
        for r in caplog.records
        if r.msg == "card pdf fetched %s"
    ]
    assert fetched, "the fetch log is empty: the fonts at least go through the fetcher"
    for url in fetched:
        assert url.startswith(("carealign-static:fonts/", "data:application/")), url
    log = " ".join(fetched)
    for target in ("passwd", "10.255.255.1", "169.254.169.254", "file:", "http"):
        assert target not in log

    reader = PdfReader(io.BytesIO(content))
    text = pdf_text(content)
    passwd = Path("/etc/passwd").read_text() if Path("/etc/passwd").is_file() else "root:x:0:0"
    first_line = passwd.splitlines()[0]
    assert "root:x:0:0" not in text and first_line not in text
    assert set(reader.attachments) == set(files)
    for name, (data, _mime) in files.items():
        assert reader.attachments[name] == [data]
        assert b"root:x:0:0" not in data
    assert b"root:x:0:0" not in content
    for value in HOSTILE:
        assert squash(value) in squash(text), value


@pytest.mark.parametrize("url", FORBIDDEN_URLS)
def test_fetcher_refuses_everything_but_our_static_files(url: str) -> None:
    with pytest.raises(FatalURLFetchingError, match="refused"):
        CardURLFetcher().fetch(url)


def test_fetcher_serves_shipped_fonts_and_data_uris() -> None:
    fetcher = CardURLFetcher()
    font = fetcher.fetch("carealign-static:fonts/DejaVuSans.ttf")
    assert font.read()[:4] == b"\x00\x01\x00\x00"
    assert font.content_type == "font/ttf"
    data = fetcher.fetch("data:text/plain;base64,aGVsbG8=")
    assert data.read() == b"hello"
    assert fetcher.requested == [
        "carealign-static:fonts/DejaVuSans.ttf",
        "data:text/plain;base64,aGVsbG8=",
    ]


def test_fetcher_follows_no_symlink_out_of_static_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0")
    static = tmp_path / "static"
    static.mkdir()
    (static / "link.css").symlink_to(secret)
    monkeypatch.setattr(engine, "STATIC_DIR", static)
    with pytest.raises(FatalURLFetchingError, match="not a file in static/reports"):
        CardURLFetcher().fetch("carealign-static:link.css")


@pytest.mark.parametrize(
    "markup",
    [
        '<img src="file:///etc/passwd">',
        '<link rel="stylesheet" href="http://169.254.169.254/">',
        "<style>@import url(https://example.org/x.css);</style>",
        '<p style="background: url(ftp://example.org/x.png)">x</p>',
        '<img src="carealign-static:../../../../etc/passwd">',
        '<a rel="attachment" href="file:///etc/passwd">x</a>',
        '<link rel="attachment" href="file:///etc/passwd">',
        '<svg width="9" height="9"><image href="file:///etc/passwd" width="9" height="9"/></svg>',
        '<img src="logo.png">',  # relative, and there is no base URL
    ],
)
def test_a_template_that_points_elsewhere_fails_the_render(markup: str) -> None:
    html = f"<!DOCTYPE html><html><body><p>card</p>{markup}</body></html>"
    with pytest.raises(RenderError, match="render failed"):
        html_to_pdf(html, timeout_s=30)


# How long a 5,000-row table takes, and how soon a render past its limit is refused, are
# measured by bench/large_table.py: timings are not tests. The two tests below wait on real
# time (a 1 s and a 2 s limit), so they are marked slow; they assert the refusal itself.


@pytest.mark.slow
def test_a_pathological_render_is_stopped_at_its_time_limit() -> None:
    pdf.warm_up()
    cells = "<tr><td>x</td><td>y</td></tr>" * 200_000
    with pytest.raises(RenderError, match=r"^render exceeded 1 s$"):
        html_to_pdf(f"<table>{cells}</table>", timeout_s=1)
    # The helper survives the child it killed.
    assert html_to_pdf("<p>after</p>", timeout_s=30).pdf.startswith(b"%PDF")


@pytest.mark.slow
def test_render_pdf_counts_the_html_in_its_time_limit() -> None:
    pdf.warm_up()
    document = sample()
    document["sections"][0]["tables"].append(
        {
            "id": "big",
            "title": "Big",
            "columns": ["a", "b"],
            "rows": [[str(i), "x" * 200] for i in range(100_000)],
        }
    )
    with pytest.raises(RenderError, match=r"^render exceeded 2 s$"):
        render_pdf(document, attachments=attachments_for(document), timeout_s=2)


def test_an_interrupted_caller_does_not_leave_the_helper_mid_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class SoftTimeLimitExceeded(Exception):  # what Celery raises in a task past its soft limit
        pass

    def interrupted(fd: int, deadline: float | None = None) -> None:
        raise SoftTimeLimitExceeded

    pdf.warm_up()
    with monkeypatch.context() as patch:
        patch.setattr(helper, "_read_frame", interrupted)
        with pytest.raises(SoftTimeLimitExceeded):
            html_to_pdf("<p>first</p>", timeout_s=30)
    # A helper still holding the first answer would hand it to the next caller.
    assert "second" in pdf_text(html_to_pdf("<p>second</p>", timeout_s=30).pdf)


def test_a_render_over_its_memory_limit_fails_cleanly() -> None:
    with pytest.raises(RenderError, match="(?i)memory|render process"):
        html_to_pdf("<p>x</p>", memory_mb=64, timeout_s=30)
    # The helper survives its children: the next render works.
    assert html_to_pdf("<p>x</p>", timeout_s=30).pdf.startswith(b"%PDF")


def test_charts_escape_labels_and_handle_empty_and_missing_values() -> None:
    bar = charts.chart_svg(
        {
            "kind": "bar_ci",
            "title": "<b>t</b>",
            "unit": "%",
            "y_min": None,
            "y_max": None,
            "threshold": 0.6,
            "series": [
                {
                    "label": '<image href="file:///etc/passwd"/>',
                    "value": 0.5,
                    "ci_low": 0.4,
                    "ci_high": 0.6,
                },
                {"label": "n/a group", "value": None},
                {"label": "negative gap", "value": -0.05, "ci_low": -0.1, "ci_high": 0.01},
            ],
        }
    )
    assert "<image" not in bar and "&lt;image href=&quot;file:///" in bar  # cut at 22 chars
    assert "<b>" not in bar and 'aria-label="&lt;b&gt;t&lt;/b&gt;"' in bar
    assert ">n/a<" in bar and "threshold 60%" in bar and ">-5.0%<" in bar

    empty = charts.chart_svg(
        {"kind": "line", "title": "", "unit": "", "y_min": None, "y_max": None, "series": []}
    )
    assert ">No data<" in empty
    line = charts.chart_svg(
        {
            "kind": "line",
            "title": "drift",
            "unit": "score",
            "y_min": 0,
            "y_max": 1,
            "series": [
                {"label": "r1", "x": "2026-09-01", "value": 0.6},
                {"label": "r2", "x": "2026-10-01", "value": None},
                {"label": "r3", "x": "2026-11-01", "value": float("nan")},
                {"label": "r4", "x": "2026-12-01", "value": 0.7, "ci_low": 0.6, "ci_high": 0.8},
            ],
        }
    )
    assert "2026-10-01" in line and "<polyline" not in line  # no two adjacent points
    assert line.count("<circle") == 2
    with pytest.raises(ValueError, match="unknown chart kind"):
        charts.chart_svg({"kind": "pie"})


def test_html_is_autoescaped() -> None:
    document = sample()
    document["sections"][0]["fields"][0]["value"] = "<script>alert(1)</script>\nline two"
    html = render_html(document)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;\nline two" in html
