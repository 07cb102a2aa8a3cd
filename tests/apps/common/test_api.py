"""API plumbing: one error shape for every status, and idempotent POSTs."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from apps.common.models import IdempotencyKey
from apps.registry.models import Dataset, DatasetVersion
from tests.factories import DatasetFactory

pytestmark = pytest.mark.django_db

ITEMS = b'{"id": "q1", "question": "Which?", "options": {"A": "x", "B": "y"}, "gold": ["A"]}\n'


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) <= {"status", "code", "message", "fields"}
    assert error["status"] == status
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    return error  # type: ignore[no-any-return]


def test_400_names_the_invalid_fields(client_for):
    response = client_for("admin").post("/api/v1/models/", {"name": "x"}, format="json")

    error = assert_error(response, 400, "invalid")
    assert set(error["fields"]) == {
        "intended_use",
        "decision_role",
        "application_area",
        "risk_class",
    }
    assert "intended_use: This field is required." in error["message"]


def test_400_for_a_body_that_is_not_json(client_for):
    response = client_for("admin").post(
        "/api/v1/models/", "{not json", content_type="application/json"
    )

    assert_error(response, 400, "parse_error")


def test_400_for_a_service_rule(client_for, personas):
    DatasetFactory(organization=personas.org, name="Taken")

    response = client_for("admin").post("/api/v1/datasets/", {"name": "Taken"}, format="json")

    error = assert_error(response, 400, "invalid")
    assert error["fields"] == {"name": ["A dataset with this name already exists."]}


def test_401_without_credentials(db):
    response = APIClient().get("/api/v1/models/")

    error = assert_error(response, 401, "not_authenticated")
    assert error["message"] == "Authentication credentials were not provided."
    assert response["WWW-Authenticate"] == "Bearer"


def test_403_for_a_role_without_the_right(client_for):
    response = client_for("auditor").post("/api/v1/datasets/", {"name": "x"}, format="json")

    error = assert_error(response, 403, "permission_denied")
    assert error["message"] == (
        "Your role in this organisation does not allow this action. "
        "Roles allowed: admin, compliance officer, model developer."
    )


def test_404_for_an_unknown_object(client_for):
    assert_error(client_for("admin").get("/api/v1/models/999999/"), 404, "not_found")


def test_404_for_an_unknown_api_path(client_for):
    assert_error(client_for("admin").get("/api/v1/no-such-thing/"), 404, "not_found")


def test_405_for_an_unsupported_method(client_for):
    response = client_for("admin").put("/api/v1/organizations/st-example/", {}, format="json")

    error = assert_error(response, 405, "method_not_allowed")
    assert error["message"] == 'Method "PUT" not allowed.'
    assert "PUT" not in response["Allow"]


def test_413_for_an_upload_over_the_limit(client_for, personas, settings):
    settings.UPLOAD_MAX_BYTES = 100
    dataset = DatasetFactory(organization=personas.org)
    upload = SimpleUploadedFile("big.jsonl", ITEMS * 10)

    response = client_for("admin").post(
        "/api/v1/dataset-versions/",
        {
            "dataset": dataset.pk,
            "file": upload,
            "format": "jsonl",
            "phi_status": "none",
            "licence": "CC0",
            "provenance": "test",
        },
        format="multipart",
    )

    error = assert_error(response, 413, "upload_too_large")
    assert "limit of 100 bytes" in error["message"]


def test_422_for_an_idempotency_key_reused_with_another_body(client_for):
    client = client_for("admin")
    client.post("/api/v1/datasets/", {"name": "A"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")

    response = client.post(
        "/api/v1/datasets/", {"name": "B"}, format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )

    error = assert_error(response, 422, "idempotency_key_reused")
    assert "use a new key" in error["message"]
    assert list(Dataset.objects.values_list("name", flat=True)) == ["A"]


def test_a_retried_post_replays_the_first_response(client_for):
    client = client_for("model_developer")
    body = {"name": "Cardiology MCQ", "description": "v1"}

    first = client.post("/api/v1/datasets/", body, format="json", HTTP_IDEMPOTENCY_KEY="abc")
    second = client.post("/api/v1/datasets/", body, format="json", HTTP_IDEMPOTENCY_KEY="abc")

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Dataset.objects.count() == 1


def test_without_a_key_a_second_post_is_a_new_request(client_for):
    client = client_for("model_developer")

    client.post("/api/v1/datasets/", {"name": "X"}, format="json")
    again = client.post("/api/v1/datasets/", {"name": "X"}, format="json")

    assert again.status_code == 400
    assert not IdempotencyKey.objects.exists()


def test_keys_belong_to_their_caller(client_for):
    mine = client_for("admin").post(
        "/api/v1/datasets/", {"name": "A"}, format="json", HTTP_IDEMPOTENCY_KEY="shared"
    )
    theirs = client_for("compliance_officer").post(
        "/api/v1/datasets/", {"name": "B"}, format="json", HTTP_IDEMPOTENCY_KEY="shared"
    )

    assert mine.status_code == theirs.status_code == 201
    assert Dataset.objects.count() == 2


def test_a_failed_request_does_not_use_up_its_key(client_for):
    client = client_for("admin")

    failed = client.post("/api/v1/datasets/", {}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    fixed = client.post("/api/v1/datasets/", {"name": "A"}, format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert failed.status_code == 400
    assert fixed.status_code == 201


def test_a_key_longer_than_255_characters_is_refused(client_for):
    response = client_for("admin").post(
        "/api/v1/datasets/", {"name": "A"}, format="json", HTTP_IDEMPOTENCY_KEY="k" * 256
    )

    assert_error(response, 400, "invalid")
    assert not Dataset.objects.exists()


def upload_body(dataset: Dataset, content: bytes) -> dict[str, Any]:
    return {
        "dataset": dataset.pk,
        "file": SimpleUploadedFile("items.jsonl", content),
        "format": "jsonl",
        "phi_status": "none",
        "licence": "CC0",
        "provenance": "test",
    }


def test_a_retried_upload_replays_instead_of_failing_as_a_duplicate(client_for, personas):
    dataset = DatasetFactory(organization=personas.org)
    client = client_for("admin")

    first = client.post(
        "/api/v1/dataset-versions/", upload_body(dataset, ITEMS), HTTP_IDEMPOTENCY_KEY="up"
    )
    second = client.post(
        "/api/v1/dataset-versions/", upload_body(dataset, ITEMS), HTTP_IDEMPOTENCY_KEY="up"
    )

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert DatasetVersion.objects.count() == 1


def test_the_same_key_with_another_file_of_the_same_name_and_size_is_422(client_for, personas):
    dataset = DatasetFactory(organization=personas.org)
    client = client_for("admin")
    other = ITEMS.replace(b"Which?", b"Whose?")
    assert len(other) == len(ITEMS)

    client.post("/api/v1/dataset-versions/", upload_body(dataset, ITEMS), HTTP_IDEMPOTENCY_KEY="u")
    response = client.post(
        "/api/v1/dataset-versions/", upload_body(dataset, other), HTTP_IDEMPOTENCY_KEY="u"
    )

    assert_error(response, 422, "idempotency_key_reused")
    assert DatasetVersion.objects.count() == 1
