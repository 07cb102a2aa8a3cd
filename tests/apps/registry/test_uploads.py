"""Dataset uploads: validated by the engine's readers, refused with a precise message, or kept
once under their SHA-256 and never changed."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.registry.models import DatasetVersion
from tests.factories import DatasetFactory

pytestmark = pytest.mark.django_db

ITEM = {"id": "q1", "question": "First-line drug?", "options": {"A": "x", "B": "y"}, "gold": ["A"]}


def jsonl(*items: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(item).encode() + b"\n" for item in items)


VALID = jsonl(
    ITEM,
    {**ITEM, "id": "q2", "language": "fr", "specialty": "cardiology"},
    {**ITEM, "id": "q3", "specialty": "oncology"},
)


@pytest.fixture
def dataset(personas):
    return DatasetFactory(organization=personas.org, name="Knowledge")


@pytest.fixture
def upload(client_for, dataset):
    def post(content: bytes, name: str = "items.jsonl", **fields: Any) -> Any:
        body = {
            "dataset": dataset.pk,
            "file": SimpleUploadedFile(name, content),
            "format": "jsonl",
            "phi_status": "none",
            "licence": "CC BY 4.0",
            "provenance": "Written by our clinical team",
            **fields,
        }
        return client_for("model_developer").post("/api/v1/dataset-versions/", body)

    return post


def stored_files() -> list[Path]:
    return [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def assert_nothing_stored() -> None:
    media = Path(settings.MEDIA_ROOT)
    assert not DatasetVersion.objects.exists()
    assert stored_files() == []
    assert not (media / "datasets").exists() or not any((media / "datasets").iterdir())
    assert not (media / "tmp").exists() or not any((media / "tmp").iterdir())


def test_a_valid_file_is_stored_once_under_its_sha256_with_its_datasheet(upload, dataset):
    demographics = {"sex": {"female": 2, "male": 1}, "language": {"en": 2, "fr": 1}}

    response = upload(
        VALID,
        phi_status="deidentified",
        deidentification_method="HIPAA Safe Harbor",
        inclusion_criteria="Adult inpatients",
        exclusion_criteria="Paediatrics",
        demographics=json.dumps(demographics),
    )

    assert response.status_code == 201, response.content
    body = response.json()
    sha256 = hashlib.sha256(VALID).hexdigest()
    assert body["sha256"] == sha256
    assert body["size_bytes"] == len(VALID)
    assert body["version"] == 1
    assert body["row_count"] == 3
    assert body["languages"] == ["en", "fr"]
    assert body["specialties"] == ["cardiology", "oncology"]
    assert body["tasks"] == {"mcq": 3}
    assert body["phi_status"] == "deidentified"
    assert body["deidentification_method"] == "HIPAA Safe Harbor"
    assert body["demographics"] == demographics
    assert body["inclusion_criteria"] == "Adult inpatients"
    assert body["original_filename"] == "items.jsonl"
    version = DatasetVersion.objects.get()
    path = Path(settings.MEDIA_ROOT) / version.file.name
    assert version.file.name == f"datasets/{sha256[:2]}/{sha256}.jsonl"
    assert path.read_bytes() == VALID
    assert not stat.S_IMODE(path.stat().st_mode) & 0o222, "the stored file must be read-only"
    assert stored_files() == [path]


def test_a_file_without_specialties_is_accepted(upload):
    response = upload(jsonl(ITEM))

    assert response.status_code == 201, response.content
    assert response.json()["specialties"] == []


def test_a_new_file_is_the_next_version(upload):
    first = upload(VALID)
    second = upload(jsonl(ITEM))

    assert (first.json()["version"], second.json()["version"]) == (1, 2)
    assert len(stored_files()) == 2


def test_the_same_file_twice_is_refused(upload):
    upload(VALID)

    response = upload(VALID, name="renamed.jsonl")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "file": ["This file is already version 1 of this dataset."]
    }
    assert DatasetVersion.objects.count() == 1
    assert len(stored_files()) == 1


def test_the_same_file_in_two_datasets_is_stored_once(upload, client_for, personas):
    other = DatasetFactory(organization=personas.org, name="Copy")
    upload(VALID)

    response = upload(VALID, dataset=other.pk)

    assert response.status_code == 201
    assert DatasetVersion.objects.count() == 2
    assert len(stored_files()) == 1


def test_csv_is_read_with_its_own_format(upload):
    content = b"id,question,A,B,gold,specialty\nq1,Which?,x,y,A,nephrology\n"

    response = upload(content, name="items.csv", format="csv")

    assert response.status_code == 201, response.content
    assert response.json()["format"] == "csv"
    assert response.json()["specialties"] == ["nephrology"]


@pytest.mark.parametrize(
    ("name", "content", "fmt", "expected"),
    [
        pytest.param(
            "items.jsonl",
            VALID + jsonl({**ITEM, "id": "q4", "options": {"A": "x", "B": ""}}),
            "jsonl",
            ['items.jsonl line 4, field "options"', "option B is empty"],
            id="invalid-field",
        ),
        pytest.param(
            "items.jsonl",
            VALID + b'{"id": "q4", "question": \n',
            "jsonl",
            ["items.jsonl line 4", "is not valid JSON"],
            id="invalid-json-line",
        ),
        pytest.param(
            "items.csv",
            b"id,question,A,B,gold\nq1,Which?,x,y,A\nq2,Which?,x,y,\n",
            "csv",
            ['items.csv line 3, field "gold"', "required"],
            id="csv-missing-value",
        ),
        pytest.param(
            "items.jsonl",
            jsonl({**ITEM, "answer": "A"}),
            "jsonl",
            ['items.jsonl line 1, field "answer"'],
            id="unknown-field",
        ),
        pytest.param(
            "items.csv",
            VALID,
            "csv",
            ["items.csv line 1", "field"],
            id="jsonl-declared-as-csv",
        ),
    ],
)
def test_a_file_invalid_for_its_format_is_refused_naming_line_and_field(
    upload, name, content, fmt, expected
):
    response = upload(content, name=name, format=fmt)

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    message = error["fields"]["file"][0]
    for fragment in expected:
        assert fragment in message
    assert_nothing_stored()


def test_refuses_a_non_utf8_encoding(upload):
    content = VALID + jsonl({**ITEM, "id": "q4"}).replace(b"First", "Première".encode("latin-1"))

    response = upload(content)

    assert response.status_code == 400
    message = response.json()["error"]["fields"]["file"][0]
    assert "items.jsonl line 4" in message
    assert "not valid UTF-8" in message
    assert_nothing_stored()


def test_refuses_utf16(upload):
    response = upload(VALID.decode().encode("utf-16"))

    assert response.status_code == 400
    message = response.json()["error"]["fields"]["file"][0]
    assert "UTF-16" in message and "must be UTF-8" in message
    assert_nothing_stored()


def test_refuses_a_byte_order_mark(upload):
    response = upload(b"\xef\xbb\xbf" + VALID)

    assert response.status_code == 400
    message = response.json()["error"]["fields"]["file"][0]
    assert "items.jsonl line 1" in message
    assert "byte order mark" in message
    assert_nothing_stored()


def test_refuses_an_empty_file(upload):
    response = upload(b"")

    assert response.status_code == 400
    message = response.json()["error"]["fields"]["file"][0]
    assert "items.jsonl" in message and "empty" in message
    assert_nothing_stored()


def test_refuses_a_file_with_no_items(upload):
    response = upload(b"\n   \n\n")

    assert response.status_code == 400
    assert "no items" in response.json()["error"]["fields"]["file"][0]
    assert_nothing_stored()


@pytest.mark.parametrize(
    "content",
    [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", VALID + b'{"id": "q\x00"}\n'],
    ids=["png", "nul-byte"],
)
def test_refuses_a_binary_file(upload, content):
    response = upload(content)

    assert response.status_code == 400
    message = response.json()["error"]["fields"]["file"][0]
    assert message.startswith("items.jsonl")
    assert "binary" in message or "not a text file" in message
    assert_nothing_stored()


def test_refuses_duplicate_item_ids(upload):
    content = VALID + jsonl({**ITEM, "question": "Again?"})

    response = upload(content)

    assert response.status_code == 400
    message = response.json()["error"]["fields"]["file"][0]
    assert 'items.jsonl line 4, field "id"' in message
    assert 'id "q1"' in message and "already appears at line 1" in message
    assert_nothing_stored()


def test_the_same_id_in_another_language_is_not_a_duplicate(upload):
    response = upload(jsonl(ITEM, {**ITEM, "language": "es"}))

    assert response.status_code == 201, response.content
    assert response.json()["languages"] == ["en", "es"]


@pytest.mark.parametrize(
    ("fields", "field", "fragment"),
    [
        ({"phi_status": "deidentified"}, "deidentification_method", "Required when"),
        ({"demographics": '{"shoe_size": {"42": 1}}'}, "demographics", "Unknown variable"),
        ({"demographics": '{"sex": {"female": -1}}'}, "demographics", "non-negative"),
        ({"demographics": "not json"}, "demographics", "Not valid JSON"),
        ({"format": "parquet"}, "format", "not a valid choice"),
        ({"licence": ""}, "licence", "may not be blank"),
    ],
)
def test_the_datasheet_is_validated(upload, fields, field, fragment):
    response = upload(VALID, **fields)

    assert response.status_code == 400
    assert fragment in response.json()["error"]["fields"][field][0]
    assert_nothing_stored()


@pytest.mark.parametrize("size", [5_000, 500_000], ids=["while-streaming", "from-length"])
def test_an_oversized_upload_is_refused_with_413(upload, settings, size):
    settings.UPLOAD_MAX_BYTES = 1_000

    response = upload(b"x" * size)

    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "upload_too_large"
    assert "1000 bytes" in error["message"]
    assert_nothing_stored()


def test_an_upload_at_the_limit_is_accepted(upload, settings):
    settings.UPLOAD_MAX_BYTES = len(VALID)

    assert upload(VALID).status_code == 201
