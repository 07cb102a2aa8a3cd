"""The card PDF as a regulator's tools read it: PDF/A-3b rules, rendered text, CJK glyphs."""

from __future__ import annotations

import copy
import io
from collections.abc import Callable
from typing import Any

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

from apps.reports.pdf import render_html, render_pdf
from apps.reports.pdf.conformance import pdfa_problems
from tests.apps.reports.test_pdf import attachments_for, chai_extra, pdf_text, sample, squash

CJK_TEXT = "多语言医学问答 日本語の医療テキスト"


def render(document: dict[str, Any]) -> bytes:
    return render_pdf(
        document, attachments=attachments_for(document), xmp_extra=chai_extra(document)
    )


def field(document: dict[str, Any], index: int = 0) -> dict[str, Any]:
    found: dict[str, Any] = document["sections"][0]["fields"][index]
    return found


@pytest.fixture(scope="module")
def good() -> bytes:
    return render(sample())


def test_the_card_pdf_passes_every_pdfa_rule(good: bytes) -> None:
    assert pdfa_problems(good) == []


def _rewrite(content: bytes, change: Callable[[PdfWriter], None]) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(content)))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _duplicate_af(writer: PdfWriter) -> None:
    af = writer.root_object["/AF"]
    writer.root_object[NameObject("/AF")] = ArrayObject([*af, *af])


def _unsort_names(writer: PdfWriter) -> None:
    tree = writer.root_object["/Names"]["/EmbeddedFiles"].get_object()
    flat = list(tree["/Names"])
    pairs = list(zip(flat[::2], flat[1::2], strict=True))[::-1]
    tree[NameObject("/Names")] = ArrayObject([x for pair in pairs for x in pair])


def _drop_relationship(writer: PdfWriter) -> None:
    for ref in writer.root_object["/AF"]:
        del ref.get_object()["/AFRelationship"]


def _drop_font_file(writer: PdfWriter) -> None:
    for page in writer.pages:
        for ref in page["/Resources"]["/Font"].values():
            descendant = ref.get_object()["/DescendantFonts"][0].get_object()
            descriptor = descendant["/FontDescriptor"].get_object()
            for key in ("/FontFile", "/FontFile2", "/FontFile3"):
                if key in descriptor:
                    del descriptor[key]
            return


BREAKAGES: dict[str, tuple[Callable[[PdfWriter], None], str]] = {
    "duplicate /AF": (_duplicate_af, "catalog /AF lists an associated file more than once"),
    "unsorted names": (_unsort_names, "name tree /EmbeddedFiles is not sorted"),
    "long string": (
        lambda w: w.add_metadata({"/chaiMcXml": "x" * 40_000}),
        "6.1.13-3: a string of 40,000 bytes",
    ),
    "javascript": (
        lambda w: w.root_object.__setitem__(
            NameObject("/OpenAction"),
            DictionaryObject(
                {
                    NameObject("/S"): NameObject("/JavaScript"),
                    NameObject("/JS"): TextStringObject("1"),
                }
            ),
        ),
        "JavaScript",
    ),
    "encryption": (lambda w: w.encrypt("secret", algorithm="AES-128"), "encrypted"),
    "no AFRelationship": (_drop_relationship, "has no AFRelationship"),
    "font not embedded": (_drop_font_file, "is not embedded"),
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_the_check_names_each_broken_rule(good: bytes, breakage: str) -> None:
    change, expected = BREAKAGES[breakage]
    broken = _rewrite(good, change)
    problems = pdfa_problems(broken, qpdf=False)
    assert any(expected in p for p in problems), problems


def test_a_damaged_file_fails_qpdf(good: bytes) -> None:
    damaged = good.replace(b"startxref", b"startxrex")
    assert any("qpdf --check" in p for p in pdfa_problems(damaged))


def test_markdown_prints_as_formatting_never_as_markers() -> None:
    document = sample()
    field(document)["value"] = (
        "Verdict **fail** on *Riverside weekly safety* with `ece`.\n\n"
        "# Forged heading\n\n- first item\n- second item\n\n"
        "<script>alert(1)</script> [a link](https://example.org/x)"
    )
    text = pdf_text(render(document))
    for marker in ("**fail", "*Riverside", "`ece`", "# Forged", "](https://"):
        assert marker not in text
    flat = squash(text)
    assert "VerdictfailonRiversideweeklysafetywithece." in flat
    assert "ForgedheadingfirstitemseconditemN" not in flat  # a list, not run-on text
    assert "<script>alert(1)</script>alink" in flat  # raw HTML is text, a link its words


def test_declared_gaps_missing_and_content_are_styled_apart() -> None:
    document = sample()
    field(document, 0)["value"] = "Not assessed: no external site has evaluated it yet"
    field(document, 0)["gap"] = True
    html = render_html(document)
    assert '<div class="value gap"><p>Not assessed: no external site' in html
    assert '<div class="value missing">MISSING — fill in:' in html
    assert '<div class="value md">' in html


def test_fill_in_hints_print_on_drafts_only() -> None:
    draft = sample()
    issued = copy.deepcopy(draft)
    issued["card"]["status"] = "issued"
    issued["card"]["issued_at"] = issued["card"]["generated_at"]
    assert "fill in" in render_html(draft)
    html = render_html(issued)
    assert "fill in" not in html and "PATCH /api/v1" not in html


def test_table_words_are_not_broken_mid_word() -> None:
    text = pdf_text(render(sample()))
    assert "Counterfactual" in text or "Medical knowledge" in text
    assert "Counterfactu\n" not in text and "Counterfactu al" not in text


def test_verdict_states_and_small_samples_are_marked() -> None:
    document = sample()
    table = next(t for s in document["sections"] for t in s["tables"] if "Verdict" in t["columns"])
    verdict, n = table["columns"].index("Verdict"), table["columns"].index("n")
    table["rows"][0][verdict] = "inconclusive"
    table["rows"][0][n] = "12"
    table["rows"][1][verdict] = "insufficient_data"
    html = render_html(document)
    assert 'class="verdict verdict-inconclusive">inconclusive<' in html
    assert 'class="verdict verdict-insufficient_data">insufficient data<' in html
    assert 'class="small-n num">12 †<' in html
    assert "Fewer than 30 items" in html


def test_chinese_and_japanese_print_with_embedded_subset_glyphs() -> None:
    document = sample()
    field(document)["value"] = CJK_TEXT
    content = render(document)
    assert squash(CJK_TEXT) in squash(pdf_text(content))
    assert pdfa_problems(content) == []
    reader = PdfReader(io.BytesIO(content))
    names = {
        str(font.get_object()["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert any(name.endswith("CareAlign-CJK") and name[7] == "+" for name in names), names


def test_a_signed_card_pdf_stays_pdfa_3b(good: bytes, tmp_path: Any, settings: Any) -> None:
    from apps.reports import signing

    settings.CAREALIGN_SIGNING_KEY_DIR = tmp_path
    key = signing.org_key(organization_id=1, organization_name="St Example Hospital")
    signed = signing.sign_pdf(good, key, reason="Issued model card", location="St Example")
    assert signed.startswith(good)  # an incremental update: WeasyPrint's bytes unchanged
    assert pdfa_problems(signed) == []
    check = signing.check_pdf(signed)
    assert check.intact and check.covers_whole_file
