"""A refused dataset file lists every error (line and field), through the API as in the portal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.registry.models import DatasetVersion
from tests.factories import DatasetFactory

pytestmark = pytest.mark.django_db

ITEM = {"id": "q1", "question": "First-line drug?", "options": {"A": "x", "B": "y"}, "gold": ["A"]}


def test_the_api_lists_every_bad_line_and_stores_nothing(personas, client_for):
    dataset = DatasetFactory(organization=personas.org)
    rows = [ITEM, {**ITEM, "id": "q2", "gold": ["D"]}, ITEM, {**ITEM, "id": "q4", "colour": "red"}]
    content = "".join(json.dumps(row) + "\n" for row in rows).encode()
    response = client_for("model_developer").post(
        "/api/v1/dataset-versions/",
        {
            "dataset": dataset.pk,
            "file": SimpleUploadedFile("items.jsonl", content),
            "format": "jsonl",
            "phi_status": "none",
            "licence": "CC BY 4.0",
            "provenance": "ours",
        },
    )
    assert response.status_code == 400
    errors = response.json()["error"]["fields"]["file"]
    assert [e.split(":")[0] for e in errors] == [
        'items.jsonl line 2, field "gold"',
        'items.jsonl line 3, field "id"',
        'items.jsonl line 4, field "colour"',
    ]
    assert not DatasetVersion.objects.exists()
    assert not [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]
