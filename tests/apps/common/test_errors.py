"""The error shape, also for errors that no API view answers."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.test import RequestFactory
from rest_framework import exceptions

from apps.common import errors


@pytest.mark.parametrize(
    ("view", "status", "code"),
    [
        (errors.bad_request, 400, "bad_request"),
        (errors.permission_denied, 403, "permission_denied"),
        (errors.page_not_found, 404, "not_found"),
        (errors.server_error, 500, "server_error"),
    ],
)
def test_django_error_views_answer_json_under_the_api(view, status, code):
    request = RequestFactory().get("/api/v1/anything/")

    response = view(request) if view is errors.server_error else view(request, Exception())

    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    error = json.loads(response.content)["error"]
    assert (error["status"], error["code"]) == (status, code)
    assert error["message"]


@pytest.mark.parametrize(
    "view",
    [errors.bad_request, errors.permission_denied, errors.page_not_found, errors.server_error],
)
def test_django_error_views_stay_html_outside_the_api(view):
    request = RequestFactory().get("/admin/nothing/")

    response = view(request) if view is errors.server_error else view(request, Exception())

    assert response["Content-Type"].startswith("text/html")


def test_a_django_validation_error_from_a_service_keeps_its_fields():
    exc = DjangoValidationError({"name": ["Taken."], "risk_class": ["Unknown."]})

    response = errors.exception_handler(exc, {})

    assert response is not None
    assert response.status_code == 400
    assert response.data == {
        "error": {
            "status": 400,
            "code": "invalid",
            "message": "The request is invalid: name: Taken.; risk_class: Unknown.",
            "fields": {"name": ["Taken."], "risk_class": ["Unknown."]},
        }
    }


def test_a_validation_error_without_fields_has_no_fields_key():
    response = errors.exception_handler(exceptions.ValidationError(["Nope.", "Never."]), {})

    assert response is not None
    assert response.data == {"error": {"status": 400, "code": "invalid", "message": "Nope. Never."}}


def test_a_django_message_error_becomes_non_field_errors():
    response = errors.exception_handler(DjangoValidationError("Bad."), {})

    assert response is not None
    assert response.data["error"]["fields"] == {"non_field_errors": ["Bad."]}


def test_other_exceptions_are_left_to_django():
    assert errors.exception_handler(RuntimeError("boom"), {}) is None
