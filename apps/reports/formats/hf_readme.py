"""A Hugging Face README.md for a card: YAML front matter with the Hub's metadata keys and a
`model-index` that huggingface_hub parses back into the card's numbers, then the card's
sections in Markdown.

Free text never becomes structure: every field is parsed as Markdown (markdown-it-py, raw
HTML off) and written back from an allow-list (paragraphs, lists, emphasis, code as text),
with every character that Markdown or HTML could read as syntax escaped. A "# " line in a
field is bold text, not a section; "<script>" is text; a link is its words.
"""

from __future__ import annotations

import html
import re
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from apps.reports.constants import CHECK_TITLES, MISSING_MARK

# The task a check is, in the Hub's task vocabulary where one fits.
TASK_TYPES = {
    "knowledge": "multiple-choice",
    "hallucination": "multiple-choice",
    "bias": "multiple-choice",
    "multilingual": "multiple-choice",
}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "suite"


def metric_name(result: dict[str, Any]) -> str:
    return f"{result['metric']} [{result['group']}]" if result["group"] else str(result["metric"])


def model_index(document: dict[str, Any]) -> list[dict[str, Any]]:
    """One model-index result per (run, check); one metric per non-null value."""
    grouped: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for r in document.get("results", []):
        if r["value"] is not None:
            grouped.setdefault((r["run"], r["check"]), []).append(r)
    entries = []
    for (run, check), rows in grouped.items():
        suite = rows[0]["suite"]
        entries.append(
            {
                "task": {
                    "type": TASK_TYPES.get(check, "text-generation"),
                    "name": CHECK_TITLES.get(check, check),
                },
                "dataset": {
                    "type": f"carealign/{_slug(suite.rsplit(' v', 1)[0])}",
                    "name": suite,
                    "config": check,
                    "revision": f"run-{run}",
                },
                "metrics": [
                    {
                        "type": r["metric"],
                        "name": metric_name(r),
                        "value": r["value"],
                        **({"config": r["group"]} if r["group"] else {}),
                        "verified": False,
                    }
                    for r in rows
                ],
            }
        )
    if not entries:
        return []
    model = document["model"]["name"]
    version = document["model_version"]["version_label"]
    return [{"name": f"{model} {version}", "results": entries}]


_PUNCTUATION = re.compile(r"([\\`*_\[\]!|~])")
# What starts a block only at the start of a line: a heading, list item, quote, numbered item.
_LINE_START = re.compile(r"^(\s*)([#+\->=]|\d+[.)])")
_PARSER = MarkdownIt("commonmark", {"html": False}).disable("image")


def escape(text: str, *, line_start: bool = True) -> str:
    """Text that Markdown and HTML both print as it is (one line); `line_start=False` for
    text that can never begin a line (a table cell)."""
    flat = re.sub(r"\s+", " ", str(text))
    escaped = _PUNCTUATION.sub(r"\\\1", html.escape(flat, quote=False))
    return _LINE_START.sub(_escape_start, escaped) if line_start else escaped


def _escape_start(match: re.Match[str]) -> str:
    space, mark = match.group(1), match.group(2)
    if mark[0].isdigit():  # "12." -> "12\.": a backslash only escapes punctuation
        return f"{space}{mark[:-1]}\\{mark[-1]}"
    return f"{space}\\{mark}"


def _inline(tokens: list[Token]) -> str:
    out = []
    for t in tokens:
        if t.type in ("text", "code_inline", "html_inline"):
            out.append(escape(t.content))
        elif t.type in ("softbreak", "hardbreak"):
            out.append(" ")
        elif t.type in ("strong_open", "strong_close"):
            out.append("**")
        elif t.type in ("em_open", "em_close"):
            out.append("*")
    return "".join(out).strip()


def safe_markdown(value: str) -> str:
    """A field's Markdown rebuilt from an allow-list, every piece of text escaped."""
    blocks: list[str] = []
    depth = 0
    heading = False
    for token in _PARSER.parse(value):
        if token.type in ("bullet_list_open", "ordered_list_open"):
            depth += 1
            if depth == 1:
                blocks.append("")
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            depth -= 1
        elif token.type == "heading_open":
            heading = True  # a heading in a field is emphasis, never a section of the card
        elif token.type == "inline":
            text = _inline(token.children or [])
            if not text:
                continue
            if heading:
                text, heading = f"**{text}**", False
            blocks.append("  " * (depth - 1) + "- " + text if depth else "\n" + text)
        elif token.type in ("fence", "code_block", "html_block"):
            blocks.append("\n" + escape(token.content).strip())
    body = "\n".join(blocks).strip()
    return re.sub(r"\n{3,}", "\n\n", body)


def _cell(value: Any) -> str:
    return "—" if value is None else escape(str(value), line_start=False)


def _table(table: dict[str, Any]) -> str:
    lines = [f"**{escape(table['title'])}**", ""]
    lines.append("| " + " | ".join(_cell(c) for c in table["columns"]) + " |")
    lines.append("|" + "---|" * len(table["columns"]))
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in table["rows"]]
    if table.get("caption"):
        lines += ["", f"*{escape(table['caption'])}*"]
    return "\n".join(lines)


def _chart(chart: dict[str, Any]) -> str:
    rows = [
        [
            s.get("x") or s["label"],
            s["value"],
            f"{s['ci_low']}–{s['ci_high']}" if s.get("ci_low") is not None else None,
            s.get("n"),
        ]
        for s in chart["series"]
    ]
    return _table(
        {"title": chart["title"], "columns": ["Group", "Value", "95% CI", "n"], "rows": rows}
    )


def _field(field: dict[str, Any]) -> str:
    value = field["value"]
    if value is None:
        shown = (
            f"**{escape(MISSING_MARK)} {escape(field['fill_hint'])}**" if field["required"] else "—"
        )
    else:
        shown = safe_markdown(value)
    ref = f" ({escape(field['reference'])})" if field.get("reference") else ""
    return f"#### {escape(field['label'])}{ref}\n\n{shown}"


def _results(document: dict[str, Any]) -> str | None:
    rows = [
        [
            r["suite"],
            CHECK_TITLES.get(r["check"], r["check"]),
            metric_name(r),
            "—" if r["value"] is None else f"{r['value']:.4g}",
            "—"
            if r["ci_low"] is None or r["ci_high"] is None
            else f"{r['ci_low']:.4g}–{r['ci_high']:.4g}",
            r["n"],
            r["verdict"],
        ]
        for r in document.get("results", [])
    ]
    if not rows:
        return None
    return _table(
        {
            "title": "All results with their 95% confidence intervals",
            "columns": ["Suite", "Check", "Metric", "Value", "95% CI", "n", "Verdict"],
            "rows": rows,
            "caption": "The model-index above carries the point values only; read each with "
            "its interval and n.",
        }
    )


def _front_matter(document: dict[str, Any]) -> str:
    """The README's YAML header: the Hub's metadata keys, our card keys, the model-index."""
    card = document["card"]
    hub = document.get("hub") or {}
    meta: dict[str, Any] = {
        **{
            key: hub[key]
            for key in (
                "license",
                "language",
                "datasets",
                "metrics",
                "base_model",
                "pipeline_tag",
                "library_name",
            )
            if hub.get(key)
        },
        "tags": ["carealign", "model-card", "medical", card["profile"]],
        "carealign": {
            "card_id": card["id"],
            "card_version": card["version"],
            "profile": card["profile"],
            "status": card["status"],
            "schema_version": document["schema_version"],
        },
    }
    index = model_index(document)
    if index:
        meta["model-index"] = index
    return yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)


def render(document: dict[str, Any]) -> bytes:
    card = document["card"]
    hub = document.get("hub") or {}
    front = _front_matter(document)
    model, version = document["model"], document["model_version"]
    parts = [
        f"# {escape(model['name'])} {escape(version['version_label'])} — "
        f"{escape(card['profile_title'])}",
        f"Card {card['id']} v{card['version']}, **{card['status']}**; generated "
        f"{card['generated_at']} by {escape(card['software_id'])} for "
        f"{escape(document['organization']['name'])}."
        + (f" Issued {card['issued_at']}." if card.get("issued_at") else ""),
    ]
    if hub.get("missing"):
        parts.append(
            "> Hub metadata not filled from the registry: "
            + ", ".join(f"`{key}`" for key in hub["missing"])
            + " (see the card's completeness report)."
        )
    completeness = document["completeness"]
    if not completeness["complete"]:
        parts.append(
            "> **Draft with missing fields** — this card cannot be issued until they are filled:\n"
            + "\n".join(
                f"> - {escape(m['label'])}: {escape(MISSING_MARK)} {escape(m['fill_hint'])}"
                for m in completeness["missing"]
            )
        )
    results = _results(document)
    if results:
        parts += ["## Results", results]
    for section in document["sections"]:
        parts.append(f"## {escape(section['title'])}")
        parts += [_field(f) for f in section["fields"]]
        parts += [_table(t) for t in section["tables"]]
        parts += [_chart(c) for c in section["charts"]]
    parts.append("## Signatures")
    if document["signatures"]:
        parts += [
            f"- {escape(s['signer_name'])} ({escape(s.get('signer_role') or 'signer')}) — "
            f"{escape(s['meaning'])} — {escape(s['signed_at'])} — record sha256 "
            f"{escape(s['record_digest'])}" + (" — current" if s["current"] else " — **stale**")
            for s in document["signatures"]
        ]
    else:
        parts.append("No sign-offs recorded.")
    audit = document["audit"]
    parts.append(
        f"## Audit anchor\n\nAudit chain head #{audit['chain_head_sequence']} sha256 "
        f"`{audit['chain_head_hash']}` ({audit['event_count']} events)."
    )
    body = "\n\n".join(parts)
    return f"---\n{front}---\n\n{body}\n".encode()
