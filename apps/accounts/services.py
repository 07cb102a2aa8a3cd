"""Writes for accounts: memberships and API tokens."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.accounts.authentication import TOKEN_PREFIX, hash_token
from apps.accounts.models import (
    ApiToken,
    Invitation,
    Membership,
    Organization,
    Role,
    ServiceAccount,
    User,
    role_covers,
)

MAX_TOKEN_DAYS = 366
INVITATION_DAYS = 14


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown once, never stored


def _holder_role(holder: User, organization: Organization) -> str | None:
    return (
        Membership.objects.filter(user=holder, organization=organization)
        .values_list("role", flat=True)
        .first()
    )


@transaction.atomic
def api_token_create(
    *,
    organization: Organization,
    created_by: User,
    name: str,
    role: str | None = None,
    expires_at: datetime | None = None,
    holder: User | None = None,
) -> IssuedToken:
    """Create a token held by `holder` (default: its creator); the secret is shown once.

    The token's role defaults to the holder's current role and may not be above it; a token
    made for someone else is only ever for a service account of the same organisation.
    """
    holder = holder or created_by
    if (
        holder.pk != created_by.pk
        and not ServiceAccount.objects.filter(user=holder, organization=organization).exists()
    ):
        raise ValidationError(
            {"service_account": ["A token is held by its creator or by a service account."]}
        )
    holder_role = _holder_role(holder, organization)
    if holder_role is None:
        raise ValidationError(
            {"organization": [f"{holder.username} is not a member of {organization.slug}."]}
        )
    role = role or holder_role
    if not role_covers(holder_role, role):
        raise ValidationError(
            {
                "role": [
                    f"A token cannot act above its holder's role: {holder.username} is "
                    f"{holder_role}, so the token's role must be {holder_role}."
                ]
            }
        )
    now = timezone.now()
    expires_at = expires_at or now + timedelta(days=90)
    if expires_at <= now:
        raise ValidationError({"expires_at": ["Must be in the future."]})
    if expires_at > now + timedelta(days=MAX_TOKEN_DAYS):
        raise ValidationError({"expires_at": [f"At most {MAX_TOKEN_DAYS} days from now."]})
    prefix = secrets.token_hex(4)
    secret = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        organization=organization,
        created_by=created_by,
        holder=holder,
        name=name,
        role=role,
        prefix=prefix,
        key_hash=hash_token(secret),
        created_at=now,
        expires_at=expires_at,
    )
    return IssuedToken(token=token, secret=secret)


@transaction.atomic
def service_account_create(
    *, organization: Organization, created_by: User, name: str, role: str
) -> ServiceAccount:
    """Create a named service account (a user that cannot sign in or sign) with its role."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": ["Give the service account a name."]})
    if ServiceAccount.objects.filter(organization=organization, name=name).exists():
        raise ValidationError(
            {"name": ["This organisation already has a service account of this name."]}
        )
    if role == Role.ADMIN:
        raise ValidationError({"role": ["A service account cannot be an admin."]})
    user = User(username=f"svc-{secrets.token_hex(6)}", first_name=name[:150])
    user.set_unusable_password()
    user.save()
    Membership.objects.create(user=user, organization=organization, role=role)
    return ServiceAccount.objects.create(
        user=user, organization=organization, name=name, created_by=created_by
    )


@transaction.atomic
def api_token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


@transaction.atomic
def membership_create(*, organization: Organization, user: User, role: str) -> Membership:
    if Membership.objects.filter(organization=organization, user=user).exists():
        raise ValidationError({"user": ["This user is already a member of the organisation."]})
    return Membership.objects.create(organization=organization, user=user, role=role)


def _keep_an_admin(membership: Membership) -> None:
    """Refuse to leave an organisation without an admin (nobody could manage it then)."""
    others = (
        Membership.objects.select_for_update()
        .filter(organization_id=membership.organization_id, role=Role.ADMIN)
        .exclude(pk=membership.pk)
    )
    if membership.role == Role.ADMIN and not others.exists():
        raise ValidationError(
            {"role": ["This is the organisation's last admin: appoint another admin first."]}
        )


@transaction.atomic
def membership_update(*, membership: Membership, role: str) -> Membership:
    if role == Role.ADMIN and ServiceAccount.objects.filter(user_id=membership.user_id).exists():
        raise ValidationError({"role": ["A service account cannot be an admin."]})
    if role != Role.ADMIN:
        _keep_an_admin(membership)
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_delete(*, membership: Membership) -> None:
    _keep_an_admin(membership)
    membership.delete()


@transaction.atomic
def invitation_create(
    *, organization: Organization, invited_by: User, username: str, role: str
) -> Invitation:
    """Invite a username to a role; the answer never says whether the username exists."""
    if Membership.objects.filter(organization=organization, user__username=username).exists():
        # Only admins invite, and they can list their members: this reveals nothing new.
        raise ValidationError({"username": ["This user is already a member of the organisation."]})
    pending = Invitation.objects.select_for_update().filter(
        organization=organization, username=username, status=Invitation.Status.PENDING
    )
    now = timezone.now()
    for stale in pending:  # a new invitation replaces the pending one (new role, new expiry)
        stale.status = Invitation.Status.REVOKED
        stale.responded_at = now
        stale.save(update_fields=["status", "responded_at"])
    invitation = Invitation(
        organization=organization,
        username=username,
        role=role,
        invited_by=invited_by,
        created_at=now,
        expires_at=now + timedelta(days=INVITATION_DAYS),
    )
    invitation.full_clean()
    invitation.save()
    return invitation


def _respond(invitation: Invitation, user: User) -> Invitation:
    locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if locked.username != user.username:
        raise ValidationError({"invitation": ["This invitation is addressed to someone else."]})
    if not locked.is_open:
        state = "expired" if locked.status == Invitation.Status.PENDING else locked.status
        raise ValidationError({"invitation": [f"This invitation is {state}."]})
    return locked


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """The invitee joins the organisation with the offered role."""
    invitation = _respond(invitation, user)
    membership = membership_create(
        organization=invitation.organization, user=user, role=invitation.role
    )
    invitation.status = Invitation.Status.ACCEPTED
    invitation.responded_at = timezone.now()
    invitation.save(update_fields=["status", "responded_at"])
    return membership


@transaction.atomic
def invitation_decline(*, invitation: Invitation, user: User) -> Invitation:
    invitation = _respond(invitation, user)
    invitation.status = Invitation.Status.DECLINED
    invitation.responded_at = timezone.now()
    invitation.save(update_fields=["status", "responded_at"])
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation: Invitation) -> Invitation:
    if invitation.status == Invitation.Status.PENDING:
        invitation.status = Invitation.Status.REVOKED
        invitation.responded_at = timezone.now()
        invitation.save(update_fields=["status", "responded_at"])
    return invitation
