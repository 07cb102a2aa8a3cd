from __future__ import annotations

from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxLengthValidator
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property

TEXT_MAX_LENGTH = 10_000  # characters in free text and in any string of a request body


def one_of(field: str, choices: Any, name: str) -> models.CheckConstraint:
    """A database constraint that keeps a choice field inside its vocabulary."""
    return models.CheckConstraint(condition=models.Q(**{f"{field}__in": list(choices)}), name=name)


class LongTextField(models.TextField):  # type: ignore[type-arg]
    """Free text, bounded (TEXT_MAX_LENGTH characters) in models, admin forms and services:
    Django's TextField passes max_length to forms only."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", TEXT_MAX_LENGTH)
        super().__init__(*args, **kwargs)

    @cached_property
    def validators(self) -> list[Any]:
        return [*super().validators, MaxLengthValidator(self.max_length)]


class IdempotencyKey(models.Model):
    """The stored response of a POST made with an Idempotency-Key, replayed on a retry."""

    owner = models.CharField(max_length=80)  # "user:<id>" or "token:<id>"
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    request_digest = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response_body = models.JSONField(encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotency_owner_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.owner} {self.key}"
