"""Query-string filters of every list: bad values are a 400 that says what to fix.

Relations are filtered by id as plain integers: django-filter's default (a choice among all
rows of the related table) answered 400 for an unknown id but 200 for another tenant's, which
told a caller which ids exist elsewhere; now both are an empty list, as is any integer the
database cannot hold. A parameter given without a value is refused (django-filter would
silently ignore it, so `?until=` listed everything).
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db import models
from django_filters.filterset import FILTER_FOR_DBFIELD_DEFAULTS
from django_filters.rest_framework import DjangoFilterBackend

BIGINT = range(-(2**63), 2**63)


class IntegerFilter(django_filters.NumberFilter):  # type: ignore[misc]  # untyped package
    """A whole number; one the database cannot hold matches nothing."""

    field_class = forms.IntegerField

    def filter(self, qs: Any, value: Any) -> Any:
        if value is not None and value not in BIGINT:
            return qs.none()
        return super().filter(qs, value)


_INTEGER: dict[str, Any] = {"filter_class": IntegerFilter}


class FilterSet(django_filters.FilterSet):  # type: ignore[misc]  # untyped package
    FILTER_DEFAULTS = {
        **FILTER_FOR_DBFIELD_DEFAULTS,
        models.AutoField: _INTEGER,
        models.SmallIntegerField: _INTEGER,
        models.IntegerField: _INTEGER,
        models.PositiveIntegerField: _INTEGER,
        models.PositiveSmallIntegerField: _INTEGER,
        models.ForeignKey: _INTEGER,
        models.OneToOneField: _INTEGER,
    }

    def is_valid(self) -> bool:
        valid = bool(super().is_valid())
        refused = False
        for name in self.filters:
            raw = self.data.get(name, None)
            if raw is None or name in self.form.errors:
                continue
            if raw == "":
                self.form.add_error(name, "Give a value, or leave the parameter out.")
            elif isinstance(self.filters[name], django_filters.BooleanFilter):
                if raw.lower() in ("true", "false"):
                    continue
                self.form.add_error(name, f"{raw!r} is not a valid value: use true or false.")
            elif self.form.cleaned_data.get(name) is None:
                self.form.add_error(name, f"{raw!r} is not a valid value.")
            else:
                continue
            refused = True
        return valid and not refused


class FilterBackend(DjangoFilterBackend):  # type: ignore[misc]  # untyped package
    filterset_base = FilterSet
