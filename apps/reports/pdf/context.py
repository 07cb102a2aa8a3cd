"""The card document as the context of templates/reports/card.html.

Values stay plain strings: the template autoescapes them. The only markup is the charts'
SVG from charts.py, which escapes every string of the document itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.utils.safestring import mark_safe

from apps.reports.charts import chart_svg
from apps.reports.constants import GAP_PREFIX
from apps.reports.pdf.text import markdown_html

# Tables longer than this print as a fixed-width listing: WeasyPrint lays out table cells
# about 7x slower than lines of text (5,000 rows: ~70 s as a table, ~18 s as a listing on a
# busy 2-core machine).
LISTING_MIN_ROWS = 300
LISTING_LINE_CHARS = 120
LISTING_CHUNK_ROWS = 70
# Small tables size their columns to their words (no word broken mid-way); big ones stay
# fixed-layout for speed.
AUTO_LAYOUT_MAX_ROWS = 120
SMALL_N = 30  # results from fewer items carry a caveat
NUMBER_COLUMNS = frozenset({"Value", "95% CI", "n"})
VERDICT_STATES = (
    "pass",
    "fail",
    "inconclusive",
    "insufficient_data",
    "incomplete",
    "not_evaluated",
)

STATUS_NOTES = {
    "draft": "Draft: not issued, not for regulatory submission.",
    "issued": "Issued: this card is immutable; its PDF digest is recorded in CareAlign.",
    "superseded": "Superseded: a newer version of this card has been issued.",
}
MEANINGS = {
    "authored": "Authorship",
    "reviewed": "Review",
    "approved": "Approval",
    "rejected": "Rejection",
}


def card_context(document: Mapping[str, Any]) -> dict[str, Any]:
    """The template context; KeyError, TypeError or ValueError on a malformed document."""
    card = document["card"]
    status = str(card["status"])
    sections = [_section(s) for s in document["sections"]]
    signatures = [_signature(s) for s in document.get("signatures") or []]
    completeness = document.get("completeness") or {}
    audit = document.get("audit") or {}
    return {
        "card": card,
        "status": status.upper(),
        "status_class": status if status in STATUS_NOTES else "draft",
        "status_note": STATUS_NOTES.get(status, ""),
        # Where-to-fill-in hints are for the people drafting; an issued card never shows one.
        "show_hints": status == "draft",
        "generated_at": _display_datetime(card.get("generated_at")),
        "issued_at": _display_datetime(card.get("issued_at")) if card.get("issued_at") else "",
        "organization": document.get("organization") or {},
        "model": document.get("model") or {},
        "model_version": document.get("model_version") or {},
        "sections": sections,
        "signatures": signatures,
        "completeness": {
            "complete": bool(completeness.get("complete")),
            "required_count": completeness.get("required_count"),
            "present_count": completeness.get("present_count"),
            "missing": list(completeness.get("missing") or []),
            "gaps": list(completeness.get("gaps") or []),
            "contradictions": list(completeness.get("contradictions") or []),
        },
        "manifest_rows": _flatten(document.get("manifest")),
        "audit": audit,
    }


def _section(section: Mapping[str, Any]) -> dict[str, Any]:
    fields = []
    for f in section.get("fields") or []:
        value = f.get("value")
        missing = bool(f.get("missing")) or (value in (None, "") and bool(f.get("required")))
        text = "" if value is None else str(value)
        state = "missing" if missing else ("absent" if not text else "ok")
        if state == "ok" and (f.get("gap") or text.startswith(GAP_PREFIX)):
            state = "gap"
        fields.append({**f, "value": text, "html": markdown_html(text), "state": state})
    tables = []
    for t in section.get("tables") or []:
        columns = [str(c) for c in t["columns"]]
        rows = [_row(r, len(columns)) for r in t.get("rows") or []]
        table: dict[str, Any] = {
            "id": t.get("id", ""),
            "title": t.get("title", ""),
            "caption": t.get("caption", ""),
            "columns": columns,
            "rows": rows,
            "listing": [],
        }
        if len(rows) >= LISTING_MIN_ROWS:
            table["listing"] = _listing(columns, rows)
            table["rows"] = []
        else:
            table["rows"] = [[_cell(columns, i, cell) for i, cell in enumerate(r)] for r in rows]
            table["small_n"] = any("small-n" in c["cls"].split() for r in table["rows"] for c in r)
            table["auto"] = len(rows) <= AUTO_LAYOUT_MAX_ROWS
        tables.append(table)
    charts = []
    for c in section.get("charts") or []:
        # Our own SVG, built by charts.py with every document string escaped.
        charts.append({"title": c.get("title", ""), "svg": mark_safe(chart_svg(c))})
    return {
        "anchor": "s-" + re.sub(r"[^a-z0-9_-]", "-", str(section["id"]).lower()),
        "title": str(section["title"]),
        "reference": section.get("reference", ""),
        "fields": fields,
        "tables": tables,
        "charts": charts,
    }


def _cell(columns: list[str], index: int, text: str) -> dict[str, str]:
    """A table cell with its style: verdicts by state, counts under 30 flagged."""
    column = columns[index] if index < len(columns) else ""
    if column == "Verdict" and text in VERDICT_STATES:
        return {"text": text.replace("_", " "), "cls": f"verdict verdict-{text}"}
    if column == "n" and text.isdigit() and int(text) < SMALL_N:
        return {"text": f"{text} †", "cls": "small-n num"}
    if column in NUMBER_COLUMNS:
        return {"text": text, "cls": "num"}  # an interval is never split across lines
    return {"text": text, "cls": ""}


def _row(row: Sequence[Any], width: int) -> list[str]:
    cells = ["—" if cell is None else str(cell) for cell in row]
    return (cells + [""] * width)[: max(width, len(cells))]


def _listing(columns: list[str], rows: list[list[str]]) -> list[str]:
    """A long table as chunks of fixed-width text, each starting with the column names."""
    gap = 2
    natural = [
        max([len(c), *(len(r[i]) for r in rows if i < len(r))]) for i, c in enumerate(columns)
    ]
    budget = LISTING_LINE_CHARS - gap * (len(columns) - 1)
    widths = natural
    if sum(natural) > budget:
        cap = max(6, budget // max(len(columns), 1))
        widths = [min(w, cap) for w in natural]

    def line(cells: Sequence[str]) -> str:
        out = []
        for cell, width in zip(cells, widths, strict=False):
            text = cell.replace("\n", " ")
            out.append(text if len(text) <= width else text[: width - 1] + "…")
            out[-1] = out[-1].ljust(width)
        return (" " * gap).join(out).rstrip()

    head = [line(columns), (" " * gap).join("-" * w for w in widths)]
    return [
        "\n".join(head + [line(r) for r in rows[i : i + LISTING_CHUNK_ROWS]])
        for i in range(0, len(rows), LISTING_CHUNK_ROWS)
    ]


def _signature(sig: Mapping[str, Any]) -> dict[str, Any]:
    """A sign-off as apps.reports.selectors.card_signatures gives it (signer_name, ...)."""
    meaning = str(sig.get("meaning", ""))
    current = sig.get("current")
    stale = (not bool(current)) if current is not None else bool(sig.get("stale"))
    return {
        "printed_name": str(sig.get("signer_name") or sig.get("printed_name") or ""),
        "meaning": MEANINGS.get(meaning, meaning.capitalize()),
        "signed_at": _display_datetime(sig.get("signed_at")),
        "record_digest": str(sig.get("record_digest", "")),
        "stale": stale,
        "role": str(sig.get("signer_role") or sig.get("role") or ""),
        "lifecycle_stage": str(sig.get("stage") or sig.get("lifecycle_stage") or ""),
        "subject": str(sig.get("subject") or ""),
        "comment": str(sig.get("comment") or ""),
    }


def parse_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _display_datetime(value: Any) -> str:
    """Date, time and time zone, as 21 CFR 11.50 wants them shown (never a bare date)."""
    moment = parse_datetime(value)
    if moment is None:
        return str(value) if value else "not recorded"
    if moment.tzinfo is None:
        return f"{moment:%Y-%m-%d %H:%M:%S} (time zone not recorded)"
    offset = moment.strftime("%z")  # +0200
    zone = "UTC" if offset in ("+0000", "-0000") else f"UTC{offset[:3]}:{offset[3:5]}"
    return f"{moment:%Y-%m-%d %H:%M:%S} {zone}"


def _flatten(value: Any, prefix: str = "", depth: int = 0) -> list[tuple[str, str]] | None:
    """Nested manifest -> (dotted key, value) rows; None when there is no manifest."""
    if value is None and not prefix:
        return None
    if isinstance(value, Mapping) and depth < 6:
        rows: list[tuple[str, str]] = []
        for key, item in value.items():
            rows.extend(_flatten(item, f"{prefix}.{key}" if prefix else str(key), depth + 1) or [])
        return rows
    if isinstance(value, list) and depth < 6 and any(isinstance(v, Mapping | list) for v in value):
        rows = []
        for i, item in enumerate(value):
            rows.extend(_flatten(item, f"{prefix}[{i}]", depth + 1) or [])
        return rows
    if isinstance(value, list):
        text = ", ".join("—" if v is None else str(v) for v in value) or "(none)"
    elif isinstance(value, Mapping):
        text = json.dumps(value, sort_keys=True, default=str)
    else:
        text = "—" if value is None else str(value)
    return [(prefix or "manifest", text)]
