"""Verifying a chain as a background job: requested by the API, done by the task, shown after."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings

from apps.audit import services
from apps.audit.models import ChainVerification
from apps.audit.selectors import audit_chain_verify, chain_verification_last
from governance.celery import app
from worker import tasks

pytestmark = pytest.mark.django_db
Status = ChainVerification.Status


def test_a_pending_verification_is_not_requested_twice(personas: Any) -> None:
    first, created = services.chain_verification_request(organization_id=personas.org.pk)
    again, created_again = services.chain_verification_request(organization_id=personas.org.pk)

    assert created and not created_again and again.pk == first.pk
    assert ChainVerification.objects.filter(organization=personas.org).count() == 1


def test_a_lost_verification_is_replaced(personas: Any) -> None:
    lost, _ = services.chain_verification_request(organization_id=personas.org.pk)
    # Older than the default queue's hard time limit: its message or its worker was lost.
    older = lost.requested_at - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 1)
    ChainVerification.objects.filter(pk=lost.pk).update(requested_at=older)
    fresh, created = services.chain_verification_request(organization_id=personas.org.pk)

    assert created and fresh.pk != lost.pk


def test_the_task_stores_what_the_walk_found_once(personas: Any) -> None:
    services.audit_record(action="note", organization=personas.org)
    pending, _ = services.chain_verification_request(organization_id=personas.org.pk)

    summary = tasks.audit_chain_verify(pending.pk)

    expected = audit_chain_verify(organization_id=personas.org.pk)
    done = chain_verification_last(organization_id=personas.org.pk)
    assert done is not None and done.pk == pending.pk and summary == expected.summary
    assert (done.status, done.intact, done.events, done.head_hash) == (
        Status.DONE,
        True,
        expected.count,
        expected.head_hash,
    )
    assert done.started_at and done.finished_at
    assert tasks.audit_chain_verify(pending.pk) is None  # a redelivery does nothing


def test_a_failed_verification_is_shown_with_its_reason(
    personas: Any, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    pending, _ = services.chain_verification_request(organization_id=personas.org.pk)
    services.chain_verification_fail(verification_id=pending.pk, reason="OperationalError: gone")

    with django_capture_on_commit_callbacks(execute=False) as sent:
        body = client_for("admin").get("/api/v1/audit/verify/").json()

    assert len(sent) == 1  # a new one was asked for
    assert body[0]["intact"] is None and body[0]["verified_at"]
    assert body[0]["summary"] == "verification failed: OperationalError: gone"
    assert body[0]["next"]["status"] == "queued"


def test_the_task_has_a_stable_name_on_the_default_queue() -> None:
    assert tasks.audit_chain_verify.name == "worker.tasks.audit_chain_verify"
    assert app.amqp.router.route({}, "worker.tasks.audit_chain_verify")["queue"].name == "default"
