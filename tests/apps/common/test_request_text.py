"""Every text the API accepts is bounded and storable; malformed bodies are a 400, never a 500."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.common.models import TEXT_MAX_LENGTH
from apps.registry.models import AIModel, DatasetVersion
from tests.builders.registry import MODEL
from tests.factories import AIModelFactory, DatasetFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("intended_use", "x" * (TEXT_MAX_LENGTH + 1), "at most 10000 characters"),
        ("intended_users", "x" * (TEXT_MAX_LENGTH + 1), "at most 10000 characters"),
        ("name", "x" * 201, "no more than 200 characters"),
        ("intended_use", "nul \u0000 here", "NUL"),
        ("name", "lone \ud800", "surrogate"),
    ],
)
def test_text_fields_are_bounded_and_storable(client_for, field, value, expected) -> None:
    # Sent as JSON escapes (\u0000, \ud800), as a client would.
    body = json.dumps({**MODEL, field: value})
    response = client_for("admin").post("/api/v1/models/", body, content_type="application/json")

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert field in error["fields"] and expected.lower() in error["message"].lower()
    assert not AIModel.objects.exists()


def test_strings_nested_anywhere_in_a_body_are_bounded(client_for, personas) -> None:
    model = AIModelFactory(organization=personas.org)
    body = {"values": {"funding_source": "y" * (TEXT_MAX_LENGTH + 1)}}

    response = client_for("admin").patch(
        f"/api/v1/model-documentation/{model.pk}/", body, format="json"
    )

    assert response.status_code == 400
    assert "values.funding_source" in response.json()["error"]["fields"]


def test_a_deeply_nested_json_body_is_a_400(client_for) -> None:
    body = '{"name": ' + "[" * 100_000 + "]" * 100_000 + "}"

    response = client_for("admin").post("/api/v1/models/", body, content_type="application/json")

    assert response.status_code == 400
    assert "nested too deeply" in response.json()["error"]["message"]


def test_a_moderately_nested_body_over_the_limit_is_a_400(client_for) -> None:
    nested: object = "x"
    for _ in range(40):
        nested = [nested]
    response = client_for("admin").post("/api/v1/models/", {**MODEL, "name": nested}, format="json")
    assert response.status_code == 400
    assert "nested more than" in response.json()["error"]["message"]


def test_a_form_field_with_nul_is_refused_in_a_multipart_upload(client_for, personas) -> None:
    dataset = DatasetFactory(organization=personas.org)
    body = {
        "dataset": dataset.pk,
        "file": SimpleUploadedFile("items.jsonl", b'{"id": "a"}\n'),
        "format": "jsonl",
        "phi_status": "none",
        "licence": "CC BY 4.0",
        "provenance": "ours \u0000",
    }
    response = client_for("admin").post("/api/v1/dataset-versions/", body)
    assert response.status_code == 400
    assert "provenance" in response.json()["error"]["fields"]
    assert not DatasetVersion.objects.exists()


def test_a_json_body_over_the_size_limit_is_a_413(client_for, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({**MODEL, "intended_use": "x" * 2000})

    response = client_for("admin").post("/api/v1/models/", body, content_type="application/json")

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"
    assert not AIModel.objects.exists()


def test_a_form_body_over_the_size_limit_is_a_413(client_for, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = "name=x&intended_use=" + "y" * 2000

    response = client_for("admin").post(
        "/api/v1/models/", body, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 413
