"""Datasets: create one, upload versions (every error listed with its line and field), and a
dataset's page: versions with digest, PHI status, content and demographic representativeness."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render

from apps.portal import access, charts, selectors
from apps.portal.forms import DatasetForm, DatasetVersionForm, add_service_errors
from apps.registry import services as registry
from apps.registry.models import Dataset, DatasetVersion


def _dataset(request: HttpRequest, pk: int) -> Dataset:
    org = access.current_organization(request)
    assert org is not None
    return get_object_or_404(
        selectors.datasets_for(actor=access.actor(request), organization_id=org.pk), pk=pk
    )


@access.member_required
def dataset_list(request: HttpRequest) -> HttpResponseBase:
    org = access.current_organization(request)
    assert org is not None
    form = DatasetForm(request.POST or None)
    if request.method == "POST":
        access.require(request, "register", org.pk)
        if form.is_valid():
            try:
                dataset = registry.dataset_create(organization=org, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(
                    request, f"Dataset “{dataset.name}” is created: upload its first file."
                )
                return redirect("portal:dataset", dataset.pk)
    datasets = selectors.datasets_for(actor=access.actor(request), organization_id=org.pk)
    status = 400 if form.errors else 200
    return render(
        request, "portal/datasets.html", {"datasets": datasets, "form": form}, status=status
    )


def _version_rows(dataset: Dataset) -> list[dict[str, Any]]:
    rows = []
    for version in dataset.versions.order_by("-version"):
        rows.append(
            {
                "version": version,
                "charts": [
                    {
                        "title": f"{variable}: share of items per category (n = "
                        f"{sum(counts.values())})",
                        "svg": charts.demographics_chart(variable, counts),
                    }
                    for variable, counts in sorted((version.demographics or {}).items())
                    if counts
                ],
            }
        )
    return rows


@access.member_required
def dataset_detail(request: HttpRequest, pk: int) -> HttpResponseBase:
    dataset = _dataset(request, pk)
    form = DatasetVersionForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        access.require(request, "register", dataset)
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                version = registry.dataset_version_create(
                    dataset=dataset,
                    upload=data.pop("file"),
                    created_by=request.user,  # type: ignore[arg-type]
                    **data,
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    f"Version {version.version} is stored: {version.row_count} items, "
                    f"SHA-256 {version.sha256}.",
                )
                return redirect("portal:dataset", dataset.pk)
    context = {
        "dataset": dataset,
        "rows": _version_rows(dataset),
        "form": form,
        "perms": access.permissions_for(request, dataset),
        "phi": dict(DatasetVersion.PhiStatus.choices),
    }
    return render(request, "portal/dataset.html", context, status=400 if form.errors else 200)
