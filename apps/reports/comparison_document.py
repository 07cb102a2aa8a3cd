"""Alignment-evidence reports as documents: a paired version comparison or a reasoning-mode
study, built from the data (apps/evaluations/services/comparisons.py, worker/engine/reasoning.py)
and rendered like a card: templates/reports/comparison.html through the locked-down WeasyPrint
helper (apps/reports/pdf), the JSON document attached to the PDF/A-3b file.

Pure computation over plain dicts: no database here (apps/reports/comparison_report.py stores
and signs). The one-sentence summary is composed from the figures, never typed.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from django.template.loader import render_to_string

from apps.registry.constants import ALIGNMENT_TECHNIQUES
from apps.reports.document import neutralise
from apps.reports.pdf import PdfAttachment, PdfMetadata, RenderError, html_to_pdf

REPORT_FORMAT = "carealign.comparison-report/1"
JSON_ATTACHMENT = "comparison-report.json"
PDF_ROWS = 400  # rows of a comparison table printed; the JSON has them all
PDF_ITEMS = 25  # reasoning texts printed for review; the JSON keeps every item
PDF_TEXT_CHARS = 700
TITLES = {
    "version_comparison": "Paired version comparison",
    "reasoning_study": "Reasoning-mode study: chain-of-thought vs direct answering",
}


def points(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:+.1f}"


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def _techniques(values: Sequence[str]) -> str:
    return ", ".join(ALIGNMENT_TECHNIQUES.get(v, v.replace("_", " ")) for v in values)


def _trained_on(candidate: Mapping[str, Any], baseline: Mapping[str, Any]) -> str:
    """'DPO on 2,400 clinician preferences (name)': what the candidate added to the baseline."""
    before = {d["dataset_version"] for d in baseline.get("training_datasets") or []}
    new = [
        d for d in candidate.get("training_datasets") or [] if d["dataset_version"] not in before
    ]
    added = [
        t
        for t in candidate.get("alignment_techniques") or []
        if t not in set(baseline.get("alignment_techniques") or [])
    ]
    what = _techniques(added or candidate.get("alignment_techniques") or []) or "No technique named"
    data = []
    for d in new:
        rows = f"{d['rows']:,} " if d.get("rows") is not None else ""
        kind = "preference pairs" if d.get("role") == "preference" else f"{d['role']} rows"
        data.append(f"{rows}{kind} ({d['name']})")
    return f"{what} on {' and '.join(data)}" if data else what


def _where(row: Mapping[str, Any], several_checks: bool) -> str:
    group = row["group"]
    place = {
        "overall": "overall",
        "specialty": f"in {group}",
        "language": f"in language {group}",
        "group": f"for {group}",
    }.get(row["dimension"], f"in {row['dimension']} {group}")
    return f"{place} ({row['check']})" if several_checks else place


def comparison_sentence(
    candidate: Mapping[str, Any], baseline: Mapping[str, Any], comparison: Mapping[str, Any]
) -> str:
    """The headline of one comparison, from its rows (decisions are Holm-adjusted)."""
    # A group holding every item of its check (one language only) repeats the overall row.
    whole = {(r["check"], r["n"]) for r in comparison["rows"] if r["dimension"] == "overall"}
    rows = [
        r
        for r in comparison["rows"]
        if r["dimension"] == "overall" or (r["check"], r["n"]) not in whole
    ]
    several = len({r["check"] for r in rows}) > 1
    changed = [r for r in rows if r["decision"] in ("improved", "regressed")]
    effects = [
        f"{points(r['difference']['estimate'])} points [{points(r['difference']['low'])}, "
        f"{points(r['difference']['high'])}] {_where(r, several)}"
        for r in changed
    ]
    measured = [r for r in rows if r["decision"] != "insufficient_data"]
    if not effects:
        effects = ["no significant change on any metric" if measured else "too few items to say"]
    elif len(changed) < len(measured):
        effects.append("no significant change elsewhere")
    wrong = len(comparison["newly_wrong"])
    tail = f"{wrong} item{'s' if wrong != 1 else ''} newly wrong"
    head = f"{candidate['label']} vs {baseline['label']}: {_trained_on(candidate, baseline)}"
    return f"{head}: {', '.join(effects)}; {tail}"


def reasoning_sentence(study: Mapping[str, Any]) -> str:
    direct, cot = study["modes"]["direct"], study["modes"]["reasoning"]
    overall = next(r for r in study["comparison"]["rows"] if r["dimension"] == "overall")
    d = overall["difference"]
    costs = {c["mode"]: c for c in study["costs"]}
    currency = costs["reasoning"]["currency"]
    text = (
        f"Chain-of-thought vs direct answering on {cot['n']} items: "
        f"{percent(cot['accuracy'])} vs {percent(direct['accuracy'])}, "
        f"{points(d['estimate'])} points [{points(d['low'])}, {points(d['high'])}] "
        f"({overall['decision'].replace('_', ' ')}, McNemar p = {overall['p_value']:.3g}); "
        f"{costs['reasoning']['tokens_per_item']:.0f} vs {costs['direct']['tokens_per_item']:.0f} "
        f"generated tokens and {costs['reasoning']['cost_per_1000_items']:.4f} vs "
        f"{costs['direct']['cost_per_1000_items']:.4f} {currency} per 1,000 items; "
        f"unparseable (counted wrong): {cot['unparseable']} chain-of-thought and "
        f"{direct['unparseable']} direct answers"
    )
    noise = [m for m in ("direct", "reasoning") if study["modes"][m].get("noise")]
    if noise:
        text += f"; the {' and '.join(noise)} answers are noise (no better than chance)"
    return text


def document_build(
    *,
    report: Mapping[str, Any],
    organization: Mapping[str, Any],
    model: Mapping[str, Any],
    kind: str,
    body: Mapping[str, Any],
) -> dict[str, Any]:
    """The report document: header facts, the summary sentence(s), and the evidence body."""
    if kind == "version_comparison":
        facts = {v["model_version"]: v for v in body["versions"]}
        sentences = [
            comparison_sentence(facts[c["candidate"]], facts[c["baseline"]], c)
            for c in body["comparisons"]
        ]
    else:
        sentences = [reasoning_sentence(body)]
    document = {
        "format": REPORT_FORMAT,
        "report": {**report, "kind": kind, "title": TITLES[kind]},
        "organization": dict(organization),
        "model": dict(model),
        "summary": "; ".join(sentences),
        "sentences": sentences,
        "body": dict(body),
    }
    neutral: dict[str, Any] = neutralise(document)
    return neutral


def json_bytes(document: Mapping[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


# --- the PDF -------------------------------------------------------------------------------


def _row_view(row: Mapping[str, Any]) -> dict[str, Any]:
    d = row["difference"]
    return {
        "check": row["check"],
        "where": "overall"
        if row["dimension"] == "overall"
        else f"{row['dimension']}: {row['group']}",
        "n": row["n"],
        "a": f"{percent(row['accuracy_a'])} [{percent(row['accuracy_a_ci'][0])}, "
        f"{percent(row['accuracy_a_ci'][1])}]",
        "b": f"{percent(row['accuracy_b'])} [{percent(row['accuracy_b_ci'][0])}, "
        f"{percent(row['accuracy_b_ci'][1])}]",
        "diff": f"{points(d['estimate'])} [{points(d['low'])}, {points(d['high'])}]",
        "flips": f"{row['newly_wrong']} / {row['newly_right']}",
        "p": f"{row['p_value']:.3g}",
        "p_holm": f"{row['p_holm']:.3g}",
        "decision": row["decision"],
        "decision_text": row["decision"].replace("_", " "),
        "reason": row["reason"],
    }


def _comparison_view(comparison: Mapping[str, Any], facts: Mapping[int, Any]) -> dict[str, Any]:
    rows = comparison["rows"]
    return {
        "baseline": facts[comparison["baseline"]]["label"],
        "candidate": facts[comparison["candidate"]]["label"],
        "rows": [_row_view(r) for r in rows[:PDF_ROWS]],
        "rows_left_out": max(0, len(rows) - PDF_ROWS),
        "newly_wrong": comparison["newly_wrong"][:PDF_ROWS],
        "newly_wrong_count": len(comparison["newly_wrong"]),
        "newly_right_count": len(comparison["newly_right"]),
        "only": f"{comparison['only_in_a']} / {comparison['only_in_b']}",
        "method": comparison["method"],
        "min_n": comparison["min_n"],
        "alpha": comparison["alpha"],
    }


def _map_view(entry: Mapping[str, Any], facts: Mapping[int, Any]) -> dict[str, Any]:
    cells = []
    for cell in entry["cells"][:PDF_ROWS]:
        drift = cell.get("drift")
        cells.append(
            {
                "specialty": cell["specialty"],
                "language": cell["language"],
                "n": cell["n"],
                "accuracy": f"{percent(cell['accuracy'])} [{percent(cell['low'])}, "
                f"{percent(cell['high'])}]",
                "sufficient": cell["sufficient"],
                "drift": (
                    f"{points(drift['estimate'])} [{points(drift['low'])}, {points(drift['high'])}]"
                    f" (n = {drift['n']})"
                    if drift
                    else "no previous run"
                ),
            }
        )
    return {"version": facts[entry["model_version"]]["label"], "run": entry["run"], "cells": cells}


def _version_view(v: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "label": v["label"],
        "techniques": _techniques(v.get("alignment_techniques") or []) or "none recorded",
        "datasets": [
            f"{d['name']} ({d['role']}"
            + (f", {d['rows']:,} rows)" if d.get("rows") is not None else ")")
            for d in v.get("training_datasets") or []
        ],
        "run": v["run"],
        "finished": v.get("run_finished_at") or "",
        "verdict": v.get("verdict") or "",
    }


def printable(text: str) -> str:
    """Control characters (a random model generates them) written as escapes, not glyphs."""
    return "".join(
        ch
        if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs", "Co", "Cn")
        else f"\\x{ord(ch):02x}"
        if ord(ch) < 256
        else f"\\u{ord(ch):04x}"
        for ch in text
    )


def _reasoning_view(study: Mapping[str, Any]) -> dict[str, Any]:
    items = []
    for record in study["items"][:PDF_ITEMS]:
        text = printable(str(record["reasoning"]["text"]))
        items.append(
            {
                "id": f"{record['item_id']} ({record['language']})",
                "gold": ", ".join(record["gold"]),
                "direct": record["direct"]["chosen"] or "unparseable",
                "reasoning": record["reasoning"]["chosen"] or "unparseable",
                "text": text[:PDF_TEXT_CHARS] + (" …" if len(text) > PDF_TEXT_CHARS else ""),
            }
        )
    modes = [
        {
            "mode": name,
            **m,
            "acc": f"{percent(m['accuracy'])} [{percent(m['low'])}, {percent(m['high'])}]",
        }
        for name, m in study["modes"].items()
    ]
    return {
        "modes": modes,
        "rows": [_row_view(r) for r in study["comparison"]["rows"][:PDF_ROWS]],
        "costs": study["costs"],
        "items": items,
        "items_left_out": max(0, len(study["items"]) - PDF_ITEMS),
        "config": study["config"],
    }


def render_html(document: Mapping[str, Any]) -> str:
    body = document["body"]
    context: dict[str, Any] = {
        "doc": document,
        "report": document["report"],
        "kind": document["report"]["kind"],
    }
    if context["kind"] == "version_comparison":
        facts = {v["model_version"]: v for v in body["versions"]}
        context["versions"] = [_version_view(v) for v in body["versions"]]
        context["comparisons"] = [_comparison_view(c, facts) for c in body["comparisons"]]
        context["maps"] = [_map_view(m, facts) for m in body["generalisation"]]
    else:
        context["study"] = _reasoning_view(body)
    return render_to_string("reports/comparison.html", context)


def render_pdf(document: Mapping[str, Any], json_file: bytes) -> bytes:
    """The report as PDF/A-3b, its JSON attached; RenderError when that fails."""
    report = document["report"]
    try:
        html = render_html(document)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise RenderError(f"malformed report document: {type(exc).__name__}: {exc}") from exc
    attachment = PdfAttachment(
        JSON_ATTACHMENT,
        json_file,
        "application/json",
        "Data",
        "CareAlign comparison report document (JSON, " + REPORT_FORMAT + ")",
    )
    metadata = PdfMetadata(
        title=f"{document['model']['name']}: {report['title']}",
        authors=[str(document["organization"]["name"])],
        subject=f"Comparison report {report['id']}",
        keywords=["comparison report", report["kind"], "CareAlign"],
        creator=str(report.get("software_id") or "CareAlign"),
        created=str(report["generated_at"])[:19] + "Z",
        custom={"reportId": str(report["id"]), "reportKind": str(report["kind"])},
    )
    return html_to_pdf(html, attachments=[attachment], metadata=metadata).pdf
