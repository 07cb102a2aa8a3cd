"""A Hugging Face README.md for a card: YAML front matter with a `model-index` that
huggingface_hub parses back into the card's numbers, then the card's sections in Markdown.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

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
                "source": {"name": "CareAlign", "url": "https://carealign.org"},
            }
        )
    if not entries:
        return []
    model = document["model"]["name"]
    version = document["model_version"]["version_label"]
    return [{"name": f"{model} {version}", "results": entries}]


def _cell(value: Any) -> str:
    return "—" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def _table(table: dict[str, Any]) -> str:
    lines = [f"**{table['title']}**", ""]
    lines.append("| " + " | ".join(_cell(c) for c in table["columns"]) + " |")
    lines.append("|" + "---|" * len(table["columns"]))
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in table["rows"]]
    if table.get("caption"):
        lines += ["", f"*{table['caption']}*"]
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
        value = f"**{MISSING_MARK} {field['fill_hint']}**" if field["required"] else "—"
    ref = f" ({field['reference']})" if field.get("reference") else ""
    return f"#### {field['label']}{ref}\n\n{value}"


def render(document: dict[str, Any]) -> bytes:
    card = document["card"]
    meta: dict[str, Any] = {
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
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    model, version = document["model"], document["model_version"]
    parts = [
        f"# {model['name']} {version['version_label']} — {card['profile_title']}",
        f"Card {card['id']} v{card['version']}, **{card['status']}**; generated "
        f"{card['generated_at']} by {card['software_id']} for {document['organization']['name']}."
        + (f" Issued {card['issued_at']}." if card.get("issued_at") else ""),
    ]
    completeness = document["completeness"]
    if not completeness["complete"]:
        parts.append(
            "> **Draft with missing fields** — this card cannot be issued until they are filled:\n"
            + "\n".join(
                f"> - {m['label']}: {MISSING_MARK} {m['fill_hint']}"
                for m in completeness["missing"]
            )
        )
    for section in document["sections"]:
        parts.append(f"## {section['title']}")
        parts += [_field(f) for f in section["fields"]]
        parts += [_table(t) for t in section["tables"]]
        parts += [_chart(c) for c in section["charts"]]
    parts.append("## Signatures")
    if document["signatures"]:
        parts += [
            f"- {s['signer_name']} — {s['meaning']} — {s['signed_at']} — sha256 "
            f"`{s['record_digest']}`" + ("" if s["current"] else " — **stale**")
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
