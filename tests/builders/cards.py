"""Card fixtures (a pytest plugin, registered in tests/conftest.py): a documented world with
two runs and a drift alert, a fast stand-in for WeasyPrint, and a draft card rendered by its
task."""

from __future__ import annotations

from typing import Any

import pytest

from apps.registry.models import ModelVersion
from tests.builders.reports import World, make_world
from tests.factories import DriftAlertFactory


@pytest.fixture
def world(personas: Any) -> World:
    w = make_world(personas.org)
    previous = w.run(days_ago=14)
    w.run()
    # A regression of knowledge accuracy from 0.68 to 0.62 (tolerance 0.05).
    DriftAlertFactory(run=w.runs[-1], previous_run=previous)
    return w


@pytest.fixture
def fast_pdf(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replace WeasyPrint with a one-page PDF where a test is not about the PDF itself
    (still a real PDF: issued cards are signed, and verification reads it back)."""
    import hashlib
    import io

    from pypdf import PdfWriter

    import apps.reports.pdf

    def fake(document: dict[str, Any], **kwargs: Any) -> bytes:
        names = ",".join(sorted(kwargs.get("attachments") or {}))
        seed = f"{document['card']['id']}:{document['card']['status']}:{names}"
        writer = PdfWriter()
        writer.add_blank_page(72, 72)
        writer.add_metadata(
            {
                "/cardId": str(document["card"]["id"]),
                "/cardVersion": str(document["card"]["version"]),
                "/Subject": hashlib.sha256(seed.encode()).hexdigest(),
            }
        )
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()

    monkeypatch.setattr(apps.reports.pdf, "render_pdf", fake)


@pytest.fixture
def draft(django_capture_on_commit_callbacks: Any) -> Any:
    """Request a card and run its render task (on commit, as in production)."""
    from apps.reports.services import model_card_request
    from worker.tasks import send_model_card_render

    def make(version: ModelVersion, profile: str, user: Any = None) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            card = model_card_request(model_version=version, profile=profile, user=user)
            send_model_card_render(str(card.pk), card.generation)
        card.refresh_from_db()
        return card

    return make
