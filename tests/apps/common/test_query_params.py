"""Query parameters of lists: a bad value is a 400 naming the parameter, never ignored."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import AIModelFactory

pytestmark = pytest.mark.django_db


def _error(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, response.content
    return response.json()["error"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("size", ["0", "201", "abc", "-1", "1.5"])
def test_a_page_size_outside_1_to_200_is_refused(client_for: Any, size: str) -> None:
    error = _error(client_for("admin").get("/api/v1/models/", {"page_size": size}))
    assert error["fields"] == {"page_size": ["A whole number from 1 to 200."]}


def test_a_page_size_within_bounds_is_honoured(client_for: Any, personas: Any) -> None:
    for n in range(3):
        AIModelFactory(organization=personas.org, name=f"Model {n}")
    body = client_for("admin").get("/api/v1/models/", {"page_size": "2"}).json()
    assert (body["count"], len(body["results"])) == (3, 2)


@pytest.mark.parametrize("fmt", ["xml", ""])
def test_an_unknown_or_empty_export_format_is_refused(client_for: Any, fmt: str) -> None:
    response = client_for("auditor").get("/api/v1/audit/export/", {"format": fmt})
    assert response["Content-Type"] == "application/json"
    assert _error(response)["fields"] == {"format": ["Unknown format; use one of: csv, jsonl."]}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"until": ""}, "until"),
        ({"until": "yesterday"}, "until"),
        ({"since": "2026-02-30T00:00:00Z"}, "since"),
    ],
)
def test_a_bad_time_filter_is_refused(client_for: Any, query: dict[str, str], field: str) -> None:
    error = _error(client_for("auditor").get("/api/v1/audit/", query))
    assert list(error["fields"]) == [field]


def test_a_true_false_filter_takes_only_true_or_false(client_for: Any) -> None:
    error = _error(client_for("admin").get("/api/v1/schedules/", {"enabled": "2"}))
    assert error["fields"] == {"enabled": ["'2' is not a valid value: use true or false."]}
    assert client_for("admin").get("/api/v1/schedules/", {"enabled": "false"}).status_code == 200


def test_a_filter_on_another_tenants_object_answers_as_on_no_object(
    client_for: Any, personas: Any
) -> None:
    theirs = AIModelFactory(organization=personas.other_org, name="Claims coder")
    client = client_for("admin")
    other = client.get("/api/v1/model-versions/", {"model": theirs.pk})
    missing = client.get("/api/v1/model-versions/", {"model": theirs.pk + 1000})
    huge = client.get("/api/v1/model-versions/", {"model": str(2**70)})

    assert other.status_code == missing.status_code == huge.status_code == 200
    assert (
        other.json()
        == missing.json()
        == huge.json()
        == {
            "count": 0,
            "next": None,
            "previous": None,
            "results": [],
        }
    )


def test_models_are_searched_by_name(client_for: Any, personas: Any) -> None:
    AIModelFactory(organization=personas.org, name="Discharge assistant")
    AIModelFactory(organization=personas.org, name="Triage helper")
    body = client_for("auditor").get("/api/v1/models/", {"search": "discharge"}).json()
    assert [m["name"] for m in body["results"]] == ["Discharge assistant"]
