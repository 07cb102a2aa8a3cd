"""Template context for every portal page: the organisation, the role and what it may do."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from apps.accounts.models import Organization
from apps.portal import access


def portal(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or request.path.startswith("/api/"):
        return {}
    actor = access.actor(request)
    org = access.current_organization(request)
    if org is None:
        return {"portal_orgs": []}
    role = actor.role_in(org.pk)
    return {
        "portal_org": org,
        "portal_orgs": list(Organization.objects.filter(pk__in=actor.org_ids)),
        "portal_role": role,
        "portal_role_label": access.roles_label([role]) if role else "",
        "perms_org": access.permissions_for(request, org.pk),
        "can_read_audit": access.can_read_audit(request, org.pk),
    }
