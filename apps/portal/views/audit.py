"""The audit trail for auditors and admins: filter and page through events, verify the chain
and see its head, export, and the offline verification command with the anchor to use."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.accounts.models import Organization
from apps.audit import selectors
from apps.audit.apis import AuditEventFilter
from apps.portal import access

EVENTS_PER_PAGE = 50


def _organization(request: HttpRequest) -> Organization:
    org = access.current_organization(request)
    assert org is not None
    if not access.can_read_audit(request, org.pk):
        raise PermissionDenied("The audit trail is for auditors and admins.")
    return org


LABELS = {
    "actor": ("Actor", "user:<name> or token:<prefix>"),
    "action": ("Action", "e.g. download, update, login"),
    "object_type": ("Object type", "e.g. reports.modelcard"),
    "object_id": ("Object id", ""),
    "source": ("Source", "api, web, admin, command:…"),
    "since": ("Since (UTC)", "2026-01-31T00:00:00Z"),
    "until": ("Until (UTC)", "2026-02-01T00:00:00Z"),
}


def _label(form: Any) -> None:
    form.label_suffix = ""
    for name, (label, placeholder) in LABELS.items():
        if name in form.fields:
            form.fields[name].label = label
            form.fields[name].widget.attrs["placeholder"] = placeholder


@access.member_required
def audit_trail(request: HttpRequest) -> HttpResponse:
    org = _organization(request)
    events = selectors.audit_event_list(actor=access.actor(request)).filter(organization=org)
    # The API's own filter set: the portal filters exactly as GET /api/v1/audit/ does.
    filters = AuditEventFilter(request.GET or None, queryset=events.order_by("-seq"))
    _label(filters.form)
    page = Paginator(filters.qs, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    export_query = query.copy()
    export_query["organization"] = org.slug
    context = {
        "filters": filters,
        "page": page,
        "query": query.urlencode(),
        "export_query": export_query.urlencode(),
        "head": selectors.audit_chain_head(organization_id=org.pk),
    }
    template = "portal/_audit_events.html" if request.htmx else "portal/audit.html"  # type: ignore[attr-defined]
    return render(request, template, context)


@access.member_required
def audit_verify(request: HttpRequest) -> HttpResponse:
    """Re-walk the organisation's chain now (loaded on demand: it reads every event)."""
    org = _organization(request)
    result = selectors.audit_chain_verify(organization_id=org.pk)
    return render(request, "portal/_audit_verify.html", {"result": result, "org": org})
