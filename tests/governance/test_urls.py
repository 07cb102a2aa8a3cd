"""The OpenAPI schema and the interactive docs."""

from __future__ import annotations

import re

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.drainage import GENERATOR_STATS
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

FOUNDATION_PATHS = [
    "/api/v1/organizations/",
    "/api/v1/organizations/{slug}/",
    "/api/v1/memberships/",
    "/api/v1/memberships/{id}/",
    "/api/v1/tokens/",
    "/api/v1/tokens/{id}/",
    "/api/v1/tokens/{id}/revoke/",
    "/api/v1/models/",
    "/api/v1/models/{id}/",
    "/api/v1/model-versions/",
    "/api/v1/model-versions/{id}/",
    "/api/v1/datasets/",
    "/api/v1/datasets/{id}/",
    "/api/v1/dataset-versions/",
    "/api/v1/dataset-versions/{id}/",
    "/api/v1/dataset-versions/{id}/download/",
]


def test_the_schema_is_openapi_3_with_every_endpoint():
    response = APIClient().get("/api/schema/")

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert set(FOUNDATION_PATHS) <= set(schema["paths"])
    assert (
        "multipart/form-data"
        in (schema["paths"]["/api/v1/dataset-versions/"]["post"]["requestBody"]["content"])
    )
    assert schema["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"


def test_the_schema_is_also_served_as_json():
    response = APIClient().get("/api/schema/?format=json")

    assert response.status_code == 200
    assert "/api/v1/models/" in response.json()["paths"]


def test_the_interactive_docs_are_served_from_this_origin_only():
    response = APIClient().get("/api/docs/")

    assert response.status_code == 200
    assert b"swagger-ui" in response.content
    # Everything the page loads is ours (sidecar static files), and no script is inline.
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(src.startswith("/") for src in sources), sources
    assert "<script>" not in html
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self';" in csp and "http" not in csp
    script = APIClient().get("/api/docs/?script=")
    assert script.status_code == 200 and b"/api/schema/" in script.content


def test_the_schema_validates_without_warnings(tmp_path):
    # --fail-on-warn turns every unresolved field, authenticator or enum clash into an error.
    GENERATOR_STATS.reset()  # count only this run's warnings
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yaml"))

    assert (tmp_path / "s.yaml").stat().st_size > 0
