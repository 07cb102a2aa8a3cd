"""Request bodies the API accepts: bounded text, storable characters, bounded nesting.

Every string anywhere in a JSON or form body is at most TEXT_MAX_LENGTH characters and free
of what PostgreSQL cannot store (NUL, lone surrogates); JSON nests at most MAX_DEPTH levels.
Fields with a tighter limit (names, labels) say so in their serializers and models.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import exceptions
from rest_framework.parsers import JSONParser

from apps.common.models import TEXT_MAX_LENGTH
from worker.engine.readers.storable import MAX_DEPTH, first_problem


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, with deep nesting a 400 instead of a RecursionError (a 500)."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(
                f"JSON parse error - nested too deeply (at most {MAX_DEPTH} levels)."
            ) from None


def _plain(data: Any) -> Any:
    if hasattr(data, "lists"):  # QueryDict: every text value of every key (files aside)
        plain = {}
        for key, values in data.lists():
            texts = [value for value in values if isinstance(value, str)]
            plain[key] = texts[0] if len(texts) == 1 else texts
        return plain
    return data


def check_request_text(data: Any) -> None:
    """Refuse a body with an over-long, unstorable or too deeply nested value (400)."""
    plain = _plain(data)
    problem = first_problem(plain)
    if problem is not None:
        field, reason = problem
        raise exceptions.ValidationError({field: [f"This value {reason}."]})
    stack: list[tuple[Any, str]] = [(plain, "")]
    while stack:
        value, where = stack.pop()
        if isinstance(value, str):
            if len(value) > TEXT_MAX_LENGTH:
                raise exceptions.ValidationError(
                    {
                        where or "body": [
                            f"At most {TEXT_MAX_LENGTH} characters ({len(value)} given)."
                        ]
                    }
                )
        elif isinstance(value, Mapping):
            stack.extend((v, f"{where}.{k}" if where else str(k)) for k, v in value.items())
        elif isinstance(value, list | tuple):
            stack.extend((v, where) for v in value)
