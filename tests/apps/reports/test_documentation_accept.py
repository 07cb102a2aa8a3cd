"""What a browser asks for (Accept: text/html, ...) gets JSON; HTML alone gets a JSON 406."""

from __future__ import annotations

import pytest

from tests.factories import AIModelFactory

pytestmark = pytest.mark.django_db

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"


@pytest.fixture
def urls(personas):
    model = AIModelFactory(organization=personas.org)
    return [
        f"/api/v1/model-documentation/{model.pk}/",
        "/api/v1/model-documentation/fields/",
        f"/api/v1/models/{model.pk}/",
        "/api/v1/models/",
        "/api/v1/memberships/",
    ]


def test_a_browser_accept_header_gets_json(client_for, urls):
    client = client_for("admin")
    for url in urls:
        response = client.get(url, HTTP_ACCEPT=BROWSER)
        assert response.status_code == 200, url
        assert response["Content-Type"] == "application/json", url


def test_html_only_is_a_json_406(client_for, urls):
    client = client_for("admin")
    for url in urls:
        response = client.get(url, HTTP_ACCEPT="text/html")
        assert response.status_code == 406, url
        assert response.json()["error"]["code"] == "not_acceptable"
