"""Input serializers whose text fields take text: a JSON number is a 400, not a string.

DRF's CharField turns a JSON number into text (`"username": 0` becomes "0"), which accepts
a request the schema calls invalid and stores a value the client never sent as text. Every
input serializer derives from `InputSerializer`, which makes each of its text fields (every
CharField, its subclasses such as RegexField, and the text items of a ListField) refuse
anything but a string with DRF's own message, "Not a valid string.". Form bodies are text
throughout, so they are unaffected; the OpenAPI schema does not change (the fields keep
their classes' types, patterns and limits).
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.fields import Field


class StrictText:
    """Mixin for a CharField (or subclass): anything but a string is refused."""

    default_error_messages: dict[str, Any] = {"not_text": "Not a valid string."}

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("not_text")  # type: ignore[attr-defined]
        return super().to_internal_value(data)  # type: ignore[misc]


class TextField(StrictText, serializers.CharField):
    """The strict text field: a CharField that refuses JSON numbers and booleans."""


_STRICT: dict[type[Field[Any, Any, Any, Any]], type[Field[Any, Any, Any, Any]]] = {
    serializers.CharField: TextField
}


def strict_class(cls: type[Field[Any, Any, Any, Any]]) -> type[Field[Any, Any, Any, Any]]:
    """The strict twin of a CharField subclass (RegexField, EmailField, ...), made once."""
    if cls not in _STRICT:
        _STRICT[cls] = type(f"Strict{cls.__name__}", (StrictText, cls), {"__doc__": cls.__doc__})
    return _STRICT[cls]


def strict_field(field: Field[Any, Any, Any, Any]) -> Field[Any, Any, Any, Any]:
    """The same field, rebuilt from its arguments (as DRF copies fields), taking text only."""
    args, kwargs = getattr(field, "_args", ()), dict(getattr(field, "_kwargs", {}))
    if isinstance(field, serializers.CharField) and not isinstance(field, StrictText):
        return strict_class(type(field))(*args, **kwargs)
    if isinstance(field, serializers.ListField | serializers.DictField) and "child" in kwargs:
        child = strict_field(kwargs["child"])
        if child is not kwargs["child"]:
            return type(field)(*args, **{**kwargs, "child": child})
    return field


# Base of every serializer that reads a request: its text fields take strings only. (No
# docstring: the schema would show it as the description of every request body.)
class InputSerializer(serializers.Serializer[Any]):
    def get_fields(self) -> dict[str, Field[Any, Any, Any, Any]]:
        return {name: strict_field(field) for name, field in super().get_fields().items()}
