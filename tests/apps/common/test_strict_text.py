"""Text fields of request bodies take text: a JSON number or boolean is a 400, not coerced."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework import serializers

from apps.common.serializers import InputSerializer, StrictText
from apps.registry.models import AIModel
from tests.builders.registry import MODEL


class Sample(InputSerializer):
    name = serializers.CharField(max_length=5)
    note = serializers.CharField(required=False, allow_blank=True, default="none")
    digest = serializers.RegexField(r"^[0-9]{3}$", required=False)
    tags = serializers.ListField(child=serializers.CharField(), required=False)
    labels = serializers.DictField(child=serializers.CharField(), required=False)
    count = serializers.IntegerField(required=False)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": 12}, "name"),
        ({"name": 1.5}, "name"),
        ({"name": True}, "name"),
        ({"name": "ok", "note": 0}, "note"),
        ({"name": "ok", "digest": 123}, "digest"),
        ({"name": "ok", "tags": ["a", 2]}, "tags"),
        ({"name": "ok", "labels": {"a": 2}}, "labels"),
    ],
)
def test_a_non_string_is_refused_where_text_is_expected(body: dict[str, Any], field: str) -> None:
    data = Sample(data=body)

    assert not data.is_valid()
    assert list(data.errors) == [field]
    assert "Not a valid string." in str(data.errors[field])


def test_text_fields_keep_their_arguments_and_other_fields_their_coercion() -> None:
    data = Sample(data={"name": "ab", "digest": "123", "tags": ["x"], "count": "7"})

    assert data.is_valid(), data.errors
    assert data.validated_data == {
        "name": "ab",
        "note": "none",
        "digest": "123",
        "tags": ["x"],
        "count": 7,
    }
    assert not Sample(data={"name": "toolong"}).is_valid()  # max_length is kept
    assert not Sample(data={"name": "ab", "digest": "12"}).is_valid()  # the pattern too
    fields = Sample().fields
    assert isinstance(fields["digest"], serializers.RegexField)
    assert isinstance(fields["digest"], StrictText)


@pytest.mark.django_db
def test_the_api_refuses_a_number_as_a_name_and_stores_nothing(client_for: Any) -> None:
    before = AIModel.objects.count()
    response = client_for("admin").post("/api/v1/models/", {**MODEL, "name": 7}, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"]["name"] == ["Not a valid string."]
    assert AIModel.objects.count() == before


@pytest.mark.django_db
def test_a_form_body_is_text_and_still_accepted(client_for: Any) -> None:
    response = client_for("admin").post("/api/v1/models/", {**MODEL, "name": "7"})

    assert response.status_code == 201, response.content
    assert AIModel.objects.get(pk=response.json()["id"]).name == "7"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    ["/api/v1/suites/", "/api/v1/schedules/"],
)
def test_every_input_serializer_refuses_a_number_as_text(client_for: Any, url: str) -> None:
    # The evaluations' and reports' inputs too: a number where text goes is named, not coerced.
    response = client_for("admin").post(url, {"name": 5, "suite": 5, "cron": 5}, format="json")

    assert response.status_code == 400, response.content
    fields = response.json()["error"]["fields"]
    assert "Not a valid string." in str(fields), fields
