"""Verification of a chain as a background job: asked for by the API, done by a worker."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.audit.models import ChainVerification
from apps.audit.selectors import audit_chain_verify

Status = ChainVerification.Status
PENDING = (Status.QUEUED, Status.RUNNING)


def chain_verification_request(
    *, organization_id: int, requested_by: str = ""
) -> tuple[ChainVerification, bool]:
    """The chain's pending verification, or a new queued one; True if it is new (to be sent).

    A pending one older than the default queue's hard time limit was lost (its message or
    its worker): a new one is queued beside it.
    """
    lost_before = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    with transaction.atomic():
        pending = (
            ChainVerification.objects.select_for_update()
            .filter(organization_id=organization_id, status__in=PENDING)
            .filter(requested_at__gte=lost_before)
            .order_by("-id")
            .first()
        )
        if pending is not None:
            return pending, False
        created = ChainVerification.objects.create(
            organization_id=organization_id, requested_by=requested_by[:200]
        )
    return created, True


def chain_verification_run(*, verification_id: int) -> ChainVerification | None:
    """Walk the chain and store what was found; None if it is already done.

    Verifying only reads the trail, so a redelivered or retried job simply walks it again.
    """
    claimed = ChainVerification.objects.filter(pk=verification_id, status__in=PENDING).update(
        status=Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return None
    verification = ChainVerification.objects.get(pk=verification_id)
    result = audit_chain_verify(organization_id=verification.organization_id)
    verification.status = Status.DONE
    verification.finished_at = timezone.now()
    verification.intact = result.ok
    verification.events = result.count
    verification.head_seq = result.head_seq
    verification.head_hash = result.head_hash
    verification.broken_seq = result.broken_seq
    verification.problem = result.problem
    verification.summary = result.summary
    verification.save()
    return verification


def chain_verification_fail(*, verification_id: int, reason: str) -> None:
    """End a verification that could not walk the chain, with the reason."""
    ChainVerification.objects.filter(pk=verification_id, status__in=PENDING).update(
        status=Status.FAILED, finished_at=timezone.now(), error=reason[:2000]
    )
