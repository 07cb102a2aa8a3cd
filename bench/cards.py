"""Benchmark: a model card from the database to PDF, against WeasyPrint alone on the same HTML.

Creates (in a throw-away SQLite database, or inside a rolled-back transaction on the
DATABASE_URL given) a documented model with two evaluation runs of 4 checks, each run with
200 extra per-specialty metric rows and 200 per-item results; builds the CHAI card document
with the reports app's own builder and renders it with `render_pdf` (the HTML template, then
WeasyPrint in the locked-down child process). Then renders the same finished HTML with
WeasyPrint alone, in this process (same fonts, same PDF/A-3b variant, no child, no
attachments). Goal: build + render within 1.3x of WeasyPrint alone.

    .venv/bin/python bench/cards.py                 # embedded SQLite in a temporary folder
    DATABASE_URL=postgres://... python bench/cards.py --rounds 5 --rows 200

Not a test: nothing here asserts; the goal is printed next to the figures.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

GOAL = 1.3


def setup_django(tmp: Path) -> str:
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return os.environ["DATABASE_URL"].split("://", 1)[0]


def build_data(rows: int) -> Any:
    """A documented model, two runs of 4 checks with `rows` extra groups and items."""
    from apps.accounts.models import Organization
    from tests.builders.reports import make_world

    org = Organization.objects.create(
        name="St Example Hospital", slug="st-example-bench", kind=Organization.Kind.PROVIDER
    )
    world = make_world(org)
    world.run(days_ago=14, extra_groups=rows, items=rows)
    world.run(extra_groups=rows, items=rows)
    return world


def build_document(version_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The card document and the attachments the service passes to render_pdf."""
    from apps.reports import selectors
    from apps.reports.document import document_build, software_id
    from apps.reports.formats import chai_xml, json_schema
    from apps.reports.models import ModelCard

    card = ModelCard.objects.filter(model_version_id=version_id, profile="chai").latest("version")
    ctx = selectors.card_context_load(model_version_id=version_id, exclude_card=card.pk)
    document = document_build(card=card, ctx=ctx, status="draft")
    xml = chai_xml.render(document)
    extras = {
        "attachments": {
            "model-card.json": (json_schema.render(document), "application/json"),
            "chai-model-card.xml": (xml, "application/xml"),
        },
        "xmp_extra": {"chaiMcXml": xml.decode(), "chaiMcSoftwareId": software_id()},
    }
    return document, extras


def weasyprint_alone(html: str) -> bytes:
    """WeasyPrint on the finished HTML, in this process: the floor for our renderer."""
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    from apps.reports.pdf.engine import FONT_CSS, PDF_VARIANT, CardURLFetcher

    fetcher = CardURLFetcher()
    fonts = FontConfiguration()
    css = weasyprint.CSS(string=FONT_CSS, url_fetcher=fetcher, font_config=fonts)
    html_doc = weasyprint.HTML(string=html, url_fetcher=fetcher)
    out = html_doc.write_pdf(stylesheets=[css], font_config=fonts, pdf_variant=PDF_VARIANT)
    assert isinstance(out, bytes)
    return out


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200, help="per-item and per-group rows")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (median shown)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="carealign-bench-") as tmp:
        # The same Fontconfig the render child uses, so WeasyPrint alone sees the same fonts.
        from apps.reports.pdf.helper import FONTCONFIG_FILE

        os.environ["FONTCONFIG_FILE"] = str(FONTCONFIG_FILE)
        engine = setup_django(Path(tmp))
        from django.db import transaction

        from apps.reports import pdf
        from apps.reports.services import model_card_request

        with transaction.atomic():
            seconds, world = timed(lambda: build_data(args.rows))
            print(f"database: {engine}; test data created in {seconds:.1f} s")
            # Creates the draft row; its render task would run on commit, which never comes.
            model_card_request(model_version=world.version, profile="chai")
            run(args, world.version.pk, pdf)
            transaction.set_rollback(True)


def run(args: argparse.Namespace, version_id: int, pdf: Any) -> None:
    warm, _ = timed(pdf.warm_up)
    print(f"render helper start-up (once per worker process): {warm:.2f} s")
    document, extras = build_document(version_id)
    html = pdf.render_html(document)
    pdf.render_pdf(document, **extras)  # untimed warm-up of both paths
    weasyprint_alone(html)

    rows = [len(t["rows"]) for s in document["sections"] for t in s["tables"]]
    points = [len(c["series"]) for s in document["sections"] for c in s["charts"]]
    print(
        f"card: {len(document['sections'])} sections, {len(rows)} tables "
        f"({sum(rows)} rows, largest {max(rows, default=0)}), {len(points)} charts "
        f"({sum(points)} points); HTML {len(html) / 1024:.0f} KiB"
    )

    build, render, html_t, alone, sizes = [], [], [], [], []
    for _ in range(args.rounds):
        t_build, (doc, extra) = timed(functools.partial(build_document, version_id))
        t_render, out = timed(functools.partial(pdf.render_pdf, doc, **extra))
        t_html, _ = timed(functools.partial(pdf.render_html, doc))
        t_alone, bare = timed(functools.partial(weasyprint_alone, html))
        build.append(t_build)
        render.append(t_render)
        html_t.append(t_html)
        alone.append(t_alone)
        sizes.append((len(out), len(bare)))

    b, r, h, a = (statistics.median(x) for x in (build, render, html_t, alone))
    ours = b + r
    print(f"median of {args.rounds} rounds (wall clock; load average {os.getloadavg()[0]:.1f}):")
    print(f"  build document (queries + builder + JSON/XML formats): {b:6.2f} s")
    print(f"  render_pdf (template {h:.2f} s + child WeasyPrint):     {r:6.2f} s")
    print(f"  build + render the card:                              {ours:6.2f} s")
    print(f"  WeasyPrint alone on the same HTML (in process):        {a:6.2f} s")
    print(f"  overhead of the child process and IPC: {r - h - a:+.2f} s")
    print(f"  ratio: {ours / a:.2f}x (goal <= {GOAL}x: {'met' if ours / a <= GOAL else 'NOT met'})")
    print(f"  PDF sizes: card {sizes[-1][0] / 1024:.0f} KiB, bare {sizes[-1][1] / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
