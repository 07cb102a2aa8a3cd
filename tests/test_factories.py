"""Every model of the product has a factory, and each factory makes a valid, saved row
(through the model's service where the product creates it that way)."""

from __future__ import annotations

import inspect
from typing import Any

import factory
import pytest
from django.apps import apps

from tests import factories

OUR_APPS = ("accounts", "audit", "common", "evaluations", "registry", "reports", "signoffs")
FACTORIES = [
    value
    for _, value in inspect.getmembers(factories, inspect.isclass)
    if issubclass(value, factory.base.BaseFactory)
    and not value._meta.abstract
    and value.__module__.startswith("tests.factories")
]


def test_every_model_has_a_factory() -> None:
    models = {m for m in apps.get_models() if m._meta.app_label in OUR_APPS}
    covered = {f._meta.model for f in FACTORIES}
    missing = sorted(m.__name__ for m in models - covered)
    assert missing == []


@pytest.mark.parametrize("made_by", FACTORIES, ids=lambda f: f.__name__)
def test_each_factory_makes_a_valid_saved_row(db: Any, made_by: Any) -> None:
    row = made_by()

    assert row.pk is not None
    fresh = type(row).objects.get(pk=row.pk)
    fresh.full_clean(validate_unique=False, validate_constraints=True)


def test_service_factories_go_through_their_services(db: Any) -> None:
    token = factories.ApiTokenFactory()
    assert token.prefix in token.secret
    assert token.key_hash != token.secret  # only a digest of the secret is stored

    event = factories.AuditEventFactory(label="export 1")
    second = factories.AuditEventFactory(organization=event.organization)
    assert (second.seq, second.prev_hash) == (event.seq + 1, event.hash)  # chained

    signature = factories.SignOffFactory()
    assert signature.signer_role == "compliance_officer"
    assert len(signature.record_digest) == 64
