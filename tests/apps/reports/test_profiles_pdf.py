"""Each profile end to end with the real renderer: what the PDF prints and what it carries."""

from __future__ import annotations

import json
from io import BytesIO
from typing import Any

import pytest
from pypdf import PdfReader

from tests.apps.reports.test_apis import URL, request_card
from tests.apps.reports.test_pdf import pdf_text, squash
from tests.builders.reports import World

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("profile", ["chai", "hti1", "eu_ai_act", "payer"])
def test_the_pdf_prints_every_required_field_and_embeds_the_json_and_xml(
    profile: str, world: World, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    officer = client_for("compliance_officer")
    body = request_card(officer, world.version.pk, profile, django_capture_on_commit_callbacks)
    card_id = body.json()["id"]

    pdf = officer.get(f"{URL}{card_id}/files/pdf/").content
    document = json.loads(officer.get(f"{URL}{card_id}/files/json/").content)
    text = squash(pdf_text(pdf))
    required = [
        field for section in document["sections"] for field in section["fields"]
        if field["required"]
    ]  # fmt: skip

    assert len(required) >= 9
    for field in required:
        assert squash(field["label"]) in text, field["label"]
        if field["missing"]:
            assert squash(f"fill in: {field['fill_hint']}")[:60] in text, field["label"]
    attached = {name: b"".join(data) for name, data in PdfReader(BytesIO(pdf)).attachments.items()}
    json_name = next(name for name in attached if name.endswith(".json"))
    assert json.loads(attached[json_name]) == document
    xml_names = [name for name in attached if name.endswith(".xml")]
    if profile == "chai":
        assert attached[xml_names[0]] == officer.get(f"{URL}{card_id}/files/xml/").content
    else:
        assert xml_names == []
