"""Define an evaluation suite (compliance officers and admins, as in the API)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect, render

from apps.common.tenancy import scope
from apps.evaluations.models import EvaluationSuite
from apps.evaluations.services import suite_create
from apps.portal import access
from apps.portal.forms import add_service_errors
from apps.portal.suites import THRESHOLD_ROWS, SuiteForm
from apps.registry.models import DatasetVersion


@access.member_required
def suite_new(request: HttpRequest) -> HttpResponseBase:
    org = access.current_organization(request)
    assert org is not None
    access.require(request, "define", org.pk)
    versions = (
        scope(DatasetVersion.objects.select_related("dataset"), access.actor(request))
        .filter(dataset__organization=org)
        .order_by("dataset__name", "-version")
    )
    form = SuiteForm(request.POST or None, dataset_versions=versions)
    if request.method == "POST" and form.is_valid():
        try:
            suite = suite_create(
                organization=org,
                created_by=request.user,  # type: ignore[arg-type]
                **form.suite_arguments(),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Suite “{suite}” is defined.")
            return redirect("portal:runs")
    suites = EvaluationSuite.objects.filter(organization=org).order_by("name", "-version")
    rows = [[f"t{i}_metric", f"t{i}_op", f"t{i}_value"] for i in range(THRESHOLD_ROWS)]
    context = {"form": form, "suites": suites, "rows": rows}
    return render(request, "portal/suite_new.html", context, status=400 if form.errors else 200)
