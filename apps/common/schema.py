"""The OpenAPI schema's shared parts: the error responses every operation can give."""

from __future__ import annotations

from typing import Any

ERROR = {
    "type": "object",
    "description": "Every API error has this shape (apps/common/errors.py).",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["status", "code", "message"],
            "properties": {
                "status": {"type": "integer", "description": "The HTTP status"},
                "code": {"type": "string", "description": "e.g. invalid, not_found"},
                "message": {"type": "string", "description": "What went wrong, what to fix"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {},
                    "description": "Per input field, its problems (400 only)",
                },
            },
        }
    },
}
EVERY_OPERATION = {
    "400": "The request is invalid: the message names each parameter or field to fix.",
    "401": "Not signed in: no session, or a missing, unknown, expired or revoked token.",
    "403": "Signed in, but your role in this organisation does not allow this action.",
    "404": "No such object, or not in one of your organisations.",
    "406": "None of the media types in the Accept header can be produced.",
    "429": "Too many requests: retry after the time in the Retry-After header.",
}
WITH_A_BODY = {
    "413": "The upload is larger than the limit.",
    "415": "The body's media type is not one this operation reads.",
    "422": "This Idempotency-Key was already used for a different request.",
}
METHODS = ("get", "put", "post", "patch", "delete")


def add_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular post-processing hook: document the error responses of every operation."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            statuses = dict(EVERY_OPERATION)
            if "requestBody" in operation:
                statuses.update(WITH_A_BODY)
            responses = operation.setdefault("responses", {})
            for status, description in statuses.items():
                responses.setdefault(status, {"description": description, "content": error})
    return result
