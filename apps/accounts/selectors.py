"""Reads for accounts that are not tenant-scoped lists: a person's own invitations."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from apps.accounts.models import Invitation, User


def invitation_list_received(*, user: User) -> QuerySet[Invitation]:
    """Open invitations addressed to this user (by username), newest first."""
    return Invitation.objects.select_related("organization", "invited_by").filter(
        username=user.username,
        status=Invitation.Status.PENDING,
        expires_at__gt=timezone.now(),
    )
