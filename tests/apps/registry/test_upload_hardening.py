"""Uploads that used to get a 201 and break every later run, or a 500: each is now a 400
naming the line and field, or (a very long file name) stored under a shortened name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.common.uploads import MAX_NAME_BYTES, upload_name
from apps.registry.models import DatasetVersion
from tests.factories import DatasetFactory

pytestmark = pytest.mark.django_db

ITEM = {"id": "q1", "question": "First-line drug?", "options": {"A": "x", "B": "y"}, "gold": ["A"]}
MEDQA = {"question": "Q?", "options": {"A": "x", "B": "y"}, "answer_idx": "A", "answer": "x"}
DEEP = "[" * 50_000 + "]" * 50_000


@pytest.fixture
def upload(client_for, personas):
    dataset = DatasetFactory(organization=personas.org, name="Knowledge")

    def post(content: bytes, name: str = "items.jsonl", fmt: str = "jsonl") -> Any:
        body = {
            "dataset": dataset.pk,
            "file": SimpleUploadedFile(name, content),
            "format": fmt,
            "phi_status": "none",
            "licence": "CC BY 4.0",
            "provenance": "Written by our clinical team",
        }
        return client_for("model_developer").post("/api/v1/dataset-versions/", body)

    return post


def _nothing_stored() -> bool:
    media = Path(settings.MEDIA_ROOT)
    files = [p for p in media.rglob("*") if p.is_file()]
    return not DatasetVersion.objects.exists() and files == []


@pytest.mark.parametrize(
    ("fmt", "name", "record"),
    [
        ("jsonl", "items.jsonl", {**ITEM, "question": "bad \u0000"}),
        ("medqa", "medqa.jsonl", {**MEDQA, "question": "bad \u0000"}),
        ("mmedbench", "x_English.jsonl", {**MEDQA, "question": "bad \u0000"}),
        ("jsonl", "items.jsonl", {**ITEM, "question": "bad \ud800"}),
    ],
)
def test_text_the_database_cannot_store_is_refused_with_line_and_field(
    upload, fmt: str, name: str, record: dict[str, Any]
) -> None:
    content = json.dumps(ITEM if fmt == "jsonl" else MEDQA) + "\n" + json.dumps(record) + "\n"
    response = upload(content.replace('"q1"', '"q0"', 1).encode(), name=name, fmt=fmt)
    assert response.status_code == 400, response.content
    message = response.json()["error"]["message"]
    assert "line 2" in message and 'field "question"' in message
    assert _nothing_stored()


def test_json_document_with_nul_is_refused(upload) -> None:
    body = json.dumps([ITEM, {**ITEM, "id": "q2", "options": {"A": "x\u0000", "B": "y"}}])
    response = upload(body.encode(), name="items.json", fmt="json")
    assert response.status_code == 400
    assert 'field "[1].options.A"' in response.json()["error"]["message"]
    assert _nothing_stored()


@pytest.mark.parametrize(
    ("fmt", "name", "content"),
    [
        ("jsonl", "items.jsonl", DEEP + "\n"),
        ("json", "items.json", DEEP),
        ("medqa", "medqa.jsonl", DEEP + "\n"),
        ("medmcqa", "medmcqa.jsonl", DEEP + "\n"),
        ("mmedbench", "x_English.jsonl", DEEP + "\n"),
        ("pubmedqa", "ori_pqal.json", '{"1": ' + DEEP + "}"),
    ],
)
def test_deeply_nested_json_is_a_400(upload, fmt: str, name: str, content: str) -> None:
    response = upload(content.encode(), name=name, fmt=fmt)
    assert response.status_code == 400, response.content
    assert "nested too deeply" in response.json()["error"]["message"]
    assert _nothing_stored()


def test_a_file_name_of_240_accented_letters_is_stored_under_a_shortened_name(upload) -> None:
    name = "é" * 240 + ".jsonl"
    response = upload((json.dumps(ITEM) + "\n").encode(), name=name)
    assert response.status_code == 201, response.content
    stored = response.json()["original_filename"]
    assert stored.endswith(".jsonl") and set(stored[:-6]) == {"é"}
    assert len(stored.encode("utf-8")) <= MAX_NAME_BYTES


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\items.jsonl", "items.jsonl"),
        ("a\u202egnp.jsonl", "agnp.jsonl"),  # right-to-left override stripped
        ("", "upload"),
        ("..", "upload"),
        ("日本" * 100 + ".csv", "日本" * 32 + "日.csv"),
    ],
)
def test_upload_name_is_a_safe_base_name_within_the_byte_budget(raw: str, expected: str) -> None:
    name = upload_name(raw)
    assert name == expected
    assert len(name.encode("utf-8")) <= MAX_NAME_BYTES
