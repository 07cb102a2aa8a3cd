"""Benchmark: a card with a 5,000-row per-item table, and how soon a render past its time
limit is refused (moved here from tests/apps/reports/test_pdf.py: timings are not tests).

Renders the sample card (tests/apps/reports/sample_card.json) with a 5,000-row table under
the renderer's time limit and prints the outcome (pages, or the RenderError) and the seconds;
then times two refusals: a pathological table under a 1 s limit (html_to_pdf), and a
100,000-row document under a 2 s limit (render_pdf: the HTML counts in the limit). Goal: a
refusal arrives within 3 s of its limit (the helper's kill and a fresh child).

    .venv/bin/python bench/large_table.py [--rows 5000] [--limit 240]

Not a test: nothing here asserts; the goal is printed next to the figures.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SAMPLE = ROOT / "tests" / "apps" / "reports" / "sample_card.json"
GOAL_S = 3.0
# The sample card is a CHAI card: its PDF embeds a CHAI XML (a minimal one, as in test_pdf.py).
CHAI_XML = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<AppliedModelCard xmlns="https://mc.chai.org/v0.2/schema.xsd">'
    b"<BasicInfo><ModelName>Discharge Summary Assistant</ModelName></BasicInfo>"
    b"</AppliedModelCard>\n"
)


def table(rows: int) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(SAMPLE.read_text())
    document["sections"][0]["tables"].append(
        {
            "id": "items",
            "title": "Per-item results",
            "columns": ["Item", "Specialty", "Answer", "Correct"],
            "rows": [
                [f"item-{i:05d}", "cardiology", "B", "yes" if i % 3 else "no"] for i in range(rows)
            ],
        }
    )
    return document


def attachments(document: dict[str, Any]) -> dict[str, tuple[bytes, str]]:
    return {
        "model-card.json": (json.dumps(document).encode(), "application/json"),
        "chai-model-card.xml": (CHAI_XML, "application/xml"),
    }


def refusal(label: str, limit: float, render: Any) -> None:
    from apps.reports.pdf import RenderError

    started = time.monotonic()
    try:
        render()
        print(f"{label}: rendered within its {limit:g} s limit (no refusal to time)")
    except RenderError as exc:
        late = time.monotonic() - started - limit
        print(f"{label}: {exc}; refused {late:.2f} s after the limit (goal < {GOAL_S:g} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--limit", type=float, default=240.0)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
    import django

    django.setup()
    from pypdf import PdfReader

    from apps.reports import pdf
    from apps.reports.pdf import RenderError, html_to_pdf, render_pdf

    pdf.warm_up()
    document = table(args.rows)
    started = time.monotonic()
    try:
        content = render_pdf(document, attachments=attachments(document), timeout_s=args.limit)
        pages = len(PdfReader(io.BytesIO(content)).pages)
        print(f"{args.rows:,}-row table: {pages} pages in {time.monotonic() - started:.1f} s")
    except RenderError as exc:
        print(f"{args.rows:,}-row table: {exc} after {time.monotonic() - started:.1f} s")
    cells = "<tr><td>x</td><td>y</td></tr>" * 200_000
    refusal(
        "pathological table, 1 s", 1, lambda: html_to_pdf(f"<table>{cells}</table>", timeout_s=1)
    )
    big = table(0)
    big["sections"][0]["tables"][-1]["rows"] = [[str(i), "x" * 200] for i in range(100_000)]
    refusal(
        "100,000-row document, 2 s",
        2,
        lambda: render_pdf(big, attachments=attachments(big), timeout_s=2),
    )


if __name__ == "__main__":
    main()
