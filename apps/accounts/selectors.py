"""Reads for accounts that are not tenant-scoped lists: a person's own invitations."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.accounts.models import ApiToken, Invitation, Role, User
from apps.common.tenancy import Actor


def invitation_list_received(*, user: User) -> QuerySet[Invitation]:
    """Open invitations addressed to this user (by username), newest first."""
    return Invitation.objects.select_related("organization", "invited_by").filter(
        username=user.username,
        status=Invitation.Status.PENDING,
        expires_at__gt=timezone.now(),
    )


def api_token_visible(
    tokens: QuerySet[ApiToken], *, actor: Actor, user: User
) -> QuerySet[ApiToken]:
    """Tokens a person may see: all of their admin organisations', and the ones they hold."""
    admin_orgs = [org for org, role in actor.roles.items() if role == Role.ADMIN]
    return tokens.filter(Q(organization_id__in=admin_orgs) | Q(holder_id=user.pk))
