"""The content-addressed file store, on local files and on S3-compatible object storage.

The S3 tests run against moto's in-process S3 double through django-storages and boto3, the
same code a deployment with USE_S3_STORAGE uses against AWS, MinIO or any S3-compatible server.
"""

from __future__ import annotations

import hashlib
import json
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from moto import mock_aws

from apps.common import filestore
from apps.registry import services as registry
from apps.reports import services as reports
from apps.reports.services import files as card_files
from tests.factories import DatasetFactory
from tests.governance.test_settings import load_settings
from worker.engine.readers import read_items

BUCKET = "carealign-test"
ITEM = {"id": "q1", "question": "First-line drug?", "options": {"A": "x", "B": "y"}, "gold": ["A"]}
ITEMS = b"".join(json.dumps({**ITEM, "id": f"q{i}"}).encode() + b"\n" for i in range(3))


def test_same_bytes_are_stored_once_under_their_sha256(settings: Any) -> None:
    first = filestore.store_bytes("exports", b"a,b\n1,2\n", ".csv")
    again = filestore.store_bytes("exports", b"a,b\n1,2\n", ".csv")

    digest = hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    assert first.name == again.name == f"exports/{digest[:2]}/{digest}.csv"
    assert (first.created, again.created) == (True, False)
    path = Path(settings.MEDIA_ROOT) / first.name
    assert path.read_bytes() == b"a,b\n1,2\n"
    assert not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)  # read-only
    with filestore.local_copy(first.name) as local:
        assert local == str(path)


def test_a_name_is_only_ever_a_digest() -> None:
    with pytest.raises(ValueError, match="SHA-256"):
        filestore.content_name("datasets", "../../etc/passwd")


def test_a_changed_file_is_refused_when_read() -> None:
    stored = filestore.store_bytes("exports", b"original")
    expected = hashlib.sha256(b"other").hexdigest()
    with pytest.raises(filestore.StoredFileAltered, match="does not match its SHA-256") as exc:
        filestore.read_verified(stored.name, expected)
    assert (exc.value.expected, exc.value.found) == (expected, stored.sha256)
    assert filestore.read_verified(stored.name, stored.sha256) == b"original"


@pytest.fixture
def s3(settings: Any) -> Iterator[Any]:
    """django-storages' S3 backend on moto's S3 double, with a bucket of its own."""
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {
                    "bucket_name": BUCKET,
                    "region_name": "us-east-1",
                    "access_key": "testing",
                    "secret_key": "testing",
                    "location": "carealign",
                    "default_acl": None,
                    "file_overwrite": True,
                },
            },
        }
        yield client


def _keys(client: Any) -> list[str]:
    listing = client.list_objects_v2(Bucket=BUCKET)
    return sorted(obj["Key"] for obj in listing.get("Contents", []))


def test_bytes_go_to_the_bucket_once(s3: Any) -> None:
    first = filestore.store_bytes("exports", b"payload", ".jsonl")
    again = filestore.store_bytes("exports", b"payload", ".jsonl")

    assert (first.created, again.created) == (True, False)
    assert _keys(s3) == [f"carealign/{first.name}"]
    assert filestore.read_verified(first.name, first.sha256) == b"payload"
    with filestore.local_copy(first.name) as local:
        assert Path(local).read_bytes() == b"payload"
    assert not Path(local).exists()  # the temporary copy is gone


@pytest.mark.django_db
def test_a_dataset_is_stored_in_the_bucket_and_read_back(
    s3: Any, personas: Any, client_for: Any
) -> None:
    dataset = DatasetFactory(organization=personas.org, name="Knowledge")
    version = registry.dataset_version_create(
        dataset=dataset,
        upload=SimpleUploadedFile("items.jsonl", ITEMS),
        format="jsonl",
        phi_status="none",
        licence="CC BY 4.0",
        provenance="Written by our clinical team",
    )

    digest = hashlib.sha256(ITEMS).hexdigest()
    assert version.file.name == f"datasets/{digest[:2]}/{digest}.jsonl"
    assert _keys(s3) == [f"carealign/{version.file.name}"]
    assert not list(Path(settings.MEDIA_ROOT).rglob("*.jsonl"))  # nothing on local disk
    response = client_for("auditor").get(f"/api/v1/dataset-versions/{version.pk}/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == ITEMS
    with filestore.local_copy(version.file.name) as local:  # what a run's planner reads
        assert [item.id for item in read_items(local, fmt="jsonl")] == ["q0", "q1", "q2"]


@pytest.mark.django_db
def test_an_invalid_dataset_leaves_nothing_in_the_bucket(s3: Any, personas: Any) -> None:
    dataset = DatasetFactory(organization=personas.org, name="Knowledge")
    with pytest.raises(Exception, match="line 1"):
        registry.dataset_version_create(
            dataset=dataset,
            upload=SimpleUploadedFile("items.jsonl", b'{"id": "q1"}\n'),
            format="jsonl",
            phi_status="none",
            licence="CC BY 4.0",
            provenance="x",
        )
    assert _keys(s3) == []


def test_card_files_are_stored_in_the_bucket(s3: Any) -> None:
    digest = card_files._store(b"%PDF-1.7 card", "pdf")

    name = reports.card_file_name(digest, "pdf")
    assert _keys(s3) == [f"carealign/{name}"]
    assert filestore.read_verified(name, digest) == b"%PDF-1.7 card"


def test_object_storage_is_configured_from_the_environment(tmp_path: Path) -> None:
    probe = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps(s.STORAGES['default']))"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "governance.settings",
        "CAREALIGN_VAR_DIR": str(tmp_path),
    }
    refused = load_settings(tmp_path, USE_S3_STORAGE="true")
    assert refused.returncode != 0 and "AWS_STORAGE_BUCKET_NAME" in refused.stderr
    configured = subprocess.run(
        [sys.executable, "-c", probe],
        env={
            **env,
            "USE_S3_STORAGE": "true",
            "AWS_STORAGE_BUCKET_NAME": "cards",
            "AWS_S3_ENDPOINT_URL": "http://minio:9000",
        },
        cwd=Path(__file__).resolve().parents[3],
        capture_output=True,
        text=True,
        timeout=120,
    )
    storage = json.loads(configured.stdout.strip().splitlines()[-1])
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    assert storage["OPTIONS"]["bucket_name"] == "cards"
    assert storage["OPTIONS"]["endpoint_url"] == "http://minio:9000"
