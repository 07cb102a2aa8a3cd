"""Electronic signatures as 21 CFR Part 11 asks: re-authentication at every signing (11.200),
a wrong password refused and audited, signing locked after repeated failures, each signature
bound to its record's digest (11.70), withdrawal as a new record."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Max
from django.utils import timezone
from rest_framework import exceptions, status

from apps.accounts.models import Membership, User
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record, current_context
from apps.common.tenancy import Actor, actor_for_request, actor_for_user, org_id_of
from apps.signoffs.constants import (
    ACTION_SIGNED,
    ACTION_SIGNING_FAILED,
    ACTION_SIGNING_LOCKED,
    ACTION_WITHDRAWN,
    CANONICAL_VERSION,
    MAX_COMMENT,
    SIGNER_ROLES,
    SIGNING_FAILURE_WINDOW,
    SIGNING_LOCK,
    SIGNING_MAX_FAILURES,
    Meaning,
    Stage,
    TargetType,
)
from apps.signoffs.models import TARGET_FIELDS, SignOff, SignOffWithdrawal
from apps.signoffs.selectors.records import record_digest
from apps.signoffs.selectors.signatures import utc_iso


class SigningLocked(exceptions.APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "signing_locked"


class SigningRefused(exceptions.APIException):
    """A signature refused for who is signing (not for what they sent)."""

    status_code = status.HTTP_403_FORBIDDEN
    default_code = "signing_refused"


def signing_locked_until(*, user: User, now: datetime | None = None) -> datetime | None:
    """When signing unlocks for a user who had 5 wrong passwords within 15 minutes, or None.

    Failures before the user's last successful signature do not count.
    """
    now = now or timezone.now()
    since = now - SIGNING_FAILURE_WINDOW - SIGNING_LOCK
    last_ok = SignOff.objects.filter(signer=user).aggregate(at=Max("signed_at"))["at"]
    if last_ok is not None and last_ok > since:
        since = last_ok
    failures = list(
        AuditEvent.objects.filter(
            action=ACTION_SIGNING_FAILED, actor_user_id=user.pk, occurred_at__gt=since
        )
        .order_by("occurred_at")
        .values_list("occurred_at", flat=True)
    )
    until = None
    n = SIGNING_MAX_FAILURES
    for i in range(n - 1, len(failures)):
        if failures[i] - failures[i - n + 1] <= SIGNING_FAILURE_WINDOW:
            until = failures[i] + SIGNING_LOCK
    return until if until is not None and until > now else None


def _actor(user: User) -> Actor:
    """The request's actor (its token named too), or the user when a service runs outside one:
    failures must always name the user, because the lockout counts them per user."""
    request = current_context().request
    if request is not None and getattr(request, "user", None) == user:
        return actor_for_request(request)
    return actor_for_user(user)


def _reauthenticate(
    *,
    user: User,
    password: str,
    organization_id: int | None,
    obj: models.Model,
    what: str,
    now: datetime | None = None,
) -> None:
    """Check the signer's password now; a failure is recorded (and committed) before refusing."""
    if user.is_service_account:
        raise SigningRefused(
            "A service account cannot sign: signatures are made by people, with their password."
        )
    until = signing_locked_until(user=user, now=now)
    if until is not None:
        with transaction.atomic():
            audit_record(
                action=ACTION_SIGNING_LOCKED,
                organization=organization_id,
                obj=obj,
                actor=_actor(user),
                changes={"attempt": what, "locked_until": utc_iso(until)},
            )
        raise SigningLocked(
            f"Signing is locked for you until {utc_iso(until)} after {SIGNING_MAX_FAILURES} "
            "wrong passwords within 15 minutes."
        )
    if not password or not user.check_password(password):
        with transaction.atomic():
            audit_record(
                action=ACTION_SIGNING_FAILED,
                organization=organization_id,
                obj=obj,
                actor=_actor(user),
                changes={"attempt": what, "reason": "wrong password"},
            )
        raise ValidationError({"password": ["Wrong password: re-enter your own password to sign."]})


def _audit_signature(signoff: SignOff) -> None:
    """The signature's audit event carries everything shown and bound (11.50, 11.70)."""
    audit_record(
        actor=_actor(signoff.signer),
        action=ACTION_SIGNED,
        organization=signoff.organization_id,
        obj=signoff,
        label=f"{signoff.signer_name} — {signoff.meaning} — {signoff.target_type} {signoff.target}",
        changes={
            "target_type": signoff.target_type,
            "target_id": str(signoff.target_id),
            "stage": signoff.stage,
            "meaning": signoff.meaning,
            "comment": signoff.comment,
            "signer_name": signoff.signer_name,
            "signer_role": signoff.signer_role,
            "signed_at": utc_iso(signoff.signed_at),
            "record_digest": signoff.record_digest,
            "canonical_version": signoff.canonical_version,
        },
    )


def signoff_create(
    *,
    signer: User,
    signer_role: str | None,
    password: str,
    target_type: str,
    target: models.Model,
    stage: str,
    meaning: str,
    comment: str = "",
    now: datetime | None = None,
) -> SignOff:
    """Sign a record at a stage after re-entering the password; the signature is audited."""
    if stage not in Stage.values:
        raise ValidationError({"stage": [f"Unknown stage {stage!r}."]})
    if meaning not in Meaning.values:
        raise ValidationError({"meaning": [f"Unknown meaning {meaning!r}."]})
    if len(comment) > MAX_COMMENT:
        raise ValidationError({"comment": [f"At most {MAX_COMMENT} characters."]})
    organization_id = org_id_of(target)
    if organization_id is None:
        raise ValidationError({"target_id": ["This record belongs to no organisation."]})
    _reauthenticate(
        user=signer,
        password=password,
        organization_id=organization_id,
        obj=target,
        what=f"sign {target_type} {target.pk} ({meaning}, {stage})",
        now=now,
    )
    if signer_role is None:
        signer_role = (
            Membership.objects.filter(user=signer, organization_id=organization_id)
            .values_list("role", flat=True)
            .first()
        )
    if signer_role not in SIGNER_ROLES:
        raise SigningRefused(f"Your role ({signer_role or 'none'}) cannot sign.")
    with transaction.atomic():
        signoff = SignOff.objects.create(
            organization_id=organization_id,
            target_type=target_type,
            **{TARGET_FIELDS[TargetType(target_type)]: target},
            stage=stage,
            meaning=meaning,
            comment=comment,
            signer=signer,
            signer_name=signer.printed_name,
            signer_role=signer_role,
            signed_at=timezone.now(),
            record_digest=record_digest(target_type=target_type, record=target),
            canonical_version=CANONICAL_VERSION,
        )
        _audit_signature(signoff)
    return signoff


def signoff_withdraw(
    *, signoff: SignOff, user: User, password: str, reason: str = ""
) -> SignOffWithdrawal:
    """Withdraw one's own signature (password re-entered): a new record; the signature stays."""
    if signoff.signer_id != user.pk:
        raise SigningRefused("Only the signer can withdraw a signature.")
    if len(reason) > MAX_COMMENT:
        raise ValidationError({"reason": [f"At most {MAX_COMMENT} characters."]})
    _reauthenticate(
        user=user,
        password=password,
        organization_id=signoff.organization_id,
        obj=signoff,
        what=f"withdraw sign-off {signoff.pk}",
    )
    with transaction.atomic():
        if SignOffWithdrawal.objects.select_for_update().filter(signoff=signoff).exists():
            raise ValidationError({"signoff": ["This signature is already withdrawn."]})
        withdrawal = SignOffWithdrawal.objects.create(
            signoff=signoff,
            organization_id=signoff.organization_id,
            withdrawn_by=user,
            withdrawn_by_name=user.printed_name,
            withdrawn_at=timezone.now(),
            reason=reason,
        )
        audit_record(
            actor=_actor(user),
            action=ACTION_WITHDRAWN,
            organization=signoff.organization_id,
            obj=signoff,
            changes={
                "withdrawn_by": withdrawal.withdrawn_by_name,
                "withdrawn_at": utc_iso(withdrawal.withdrawn_at),
                "reason": reason,
            },
        )
    return withdrawal
