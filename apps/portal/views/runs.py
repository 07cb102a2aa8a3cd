"""Evaluation runs: start one, follow its progress live, cancel it, read its results (per
check: decisions and reasons, group charts, drift against the previous run), drill down to
single items, and read the manifest."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.evaluations import selectors as evaluations
from apps.evaluations import services
from apps.evaluations.models import EvaluationRun, EvaluationSuite, ItemResult
from apps.portal import access, charts, selectors
from apps.portal.forms import ItemFilterForm, RunStartForm, add_service_errors
from worker import tasks

ITEMS_PER_PAGE = 25


def _run(request: HttpRequest, pk: int) -> EvaluationRun:
    org = access.current_organization(request)
    assert org is not None
    runs = selectors.runs_for(actor=access.actor(request), organization_id=org.pk)
    return get_object_or_404(runs, pk=pk)


@access.member_required
def run_list(request: HttpRequest) -> HttpResponseBase:
    org = access.current_organization(request)
    assert org is not None
    actor = access.actor(request)
    suites = EvaluationSuite.objects.filter(organization_id=org.pk).order_by("name", "-version")
    versions = selectors.versions_for(actor=actor, organization_id=org.pk)
    # ?model_version=<id> (from a card's checklist) preselects the version to run.
    initial = {"model_version": request.GET.get("model_version", "")}
    form = RunStartForm(request.POST or None, suites=suites, versions=versions, initial=initial)
    if request.method == "POST":
        access.require(request, "run", org.pk)
        if form.is_valid():
            try:
                run = services.run_create(
                    suite=suites.get(pk=form.cleaned_data["suite"]),
                    model_version=versions.get(pk=form.cleaned_data["model_version"]),
                    trigger=EvaluationRun.Trigger.PORTAL,
                    started_by=request.user,  # type: ignore[arg-type]
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                tasks.send_run_start(run.pk)  # the task layer sends, after commit
                messages.success(request, f"Run #{run.pk} is queued.")
                return redirect("portal:run", run.pk)
    runs = selectors.runs_for(actor=actor, organization_id=org.pk)
    if request.GET.get("model", "").isdigit():
        runs = runs.filter(model_version__model_id=int(request.GET["model"]))
    context = {"form": form, "runs": runs[:100], "has_suites": suites.exists()}
    return render(request, "portal/runs.html", context, status=400 if form.errors else 200)


def _results(run: EvaluationRun) -> list[dict[str, Any]]:
    out = []
    for result in run.check_results.order_by("check_name"):
        overall = [m for m in result.metrics or [] if not m.get("group")]
        grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for metric in result.metrics or []:
            if metric.get("group"):
                grouped[metric["name"]].append(metric)
        for metric in overall:
            metric["low"], metric["high"] = selectors.metric_ci(metric)
        out.append(
            {
                "result": result,
                "metrics": overall,
                "verdicts": result.verdicts or [],
                "group_charts": [
                    {
                        "title": f"{result.check_name}: {name} by group (95 % intervals)",
                        "svg": charts.group_chart(f"{result.check_name}: {name} by group", metrics),
                    }
                    for name, metrics in sorted(grouped.items())
                ],
            }
        )
    return out


@access.member_required
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run(request, pk)
    succeeded = run.status == EvaluationRun.Status.SUCCEEDED
    previous = evaluations.previous_run(run) if succeeded else None
    comparison = run.comparison or {}
    if not comparison and previous is not None:
        comparison = evaluations.run_comparison(previous=previous, run=run)
    context = {
        "run": run,
        "results": _results(run) if succeeded else [],
        "previous": previous,
        "comparison": comparison,
        "manifest": json.dumps(run.manifest, indent=2, sort_keys=True, default=str),
        "perms": access.permissions_for(request, run),
        "eta": evaluations.run_eta_seconds(run),
        "items": _items_context(request, run),
    }
    return render(request, "portal/run.html", context)


@access.member_required
def run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress block alone (polled); a finished run makes the browser reload the page."""
    run = _run(request, pk)
    response = render(
        request,
        "portal/_run_progress.html",
        {
            "run": run,
            "eta": evaluations.run_eta_seconds(run),
            "perms": access.permissions_for(request, run),
        },
    )
    if run.status not in selectors.ACTIVE and request.GET.get("was") in selectors.ACTIVE:
        response["HX-Refresh"] = "true"  # results appeared: show the whole page
    return response


@require_POST
@access.member_required
def run_cancel(request: HttpRequest, pk: int) -> HttpResponseBase:
    run = _run(request, pk)
    access.require(request, "run", run)
    try:
        services.run_cancel(run=run)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Run #{run.pk} is cancelled.")
    return redirect("portal:run", run.pk)


def _item_options(run: EvaluationRun) -> dict[str, list[str]]:
    items = ItemResult.objects.filter(run=run)

    def distinct(field: str) -> list[str]:
        values = items.order_by(field).values_list(field, flat=True).distinct()
        return [v for v in values if v]

    return {
        "check": distinct("check_name"),
        "language": distinct("language"),
        "group": distinct("group"),
    }


def _items_context(request: HttpRequest, run: EvaluationRun) -> dict[str, Any]:
    form = ItemFilterForm(request.GET or None, options=_item_options(run))
    filters: dict[str, Any] = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = {k: data[k] for k in ("check", "language", "group") if data.get(k)}
        if data.get("wrong"):
            filters["wrong"] = data["wrong"] == "true"
    items = evaluations.run_items(run=run, **filters)
    page = Paginator(items, ITEMS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return {"form": form, "page": page, "query": query.urlencode()}


@access.member_required
def run_items(request: HttpRequest, pk: int) -> HttpResponse:
    """Per-item drill-down; htmx swaps just the table when a filter changes."""
    run = _run(request, pk)
    context = {"run": run, "items": _items_context(request, run)}
    template = "portal/_run_items.html" if request.htmx else "portal/run_items.html"  # type: ignore[attr-defined]
    return render(request, template, context)
