"""The dashboard: models and their latest decisions, sign-offs waiting for me, runs in
progress, drift, recent cards."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.portal import access, selectors
from apps.portal.signing import waiting_for
from apps.reports.models import ModelCard


@access.member_required
def dashboard(request: HttpRequest) -> HttpResponse:
    org = access.current_organization(request)
    assert org is not None
    actor = access.actor(request)
    context = {
        "rows": selectors.model_rows(actor=actor, organization_id=org.pk),
        "runs": selectors.active_runs(actor=actor, organization_id=org.pk)[:20],
        "alerts": selectors.open_alerts(actor=actor, organization_id=org.pk)[:10],
        "cards": selectors.cards_for(actor=actor, organization_id=org.pk)
        .filter(status=ModelCard.Status.ISSUED)
        .order_by("-issued_at")[:8],
        "waiting": waiting_for(
            user=request.user,  # type: ignore[arg-type]
            role=actor.role_in(org.pk),
            organization_id=org.pk,
        ),
    }
    return render(request, "portal/dashboard.html", context)


@access.member_required
def active_runs(request: HttpRequest) -> HttpResponse:
    """The runs-in-progress table alone, polled by the dashboard every few seconds."""
    org = access.current_organization(request)
    assert org is not None
    runs = selectors.active_runs(actor=access.actor(request), organization_id=org.pk)[:20]
    return render(request, "portal/_active_runs.html", {"runs": runs})
