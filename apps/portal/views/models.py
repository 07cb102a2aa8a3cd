"""Models: the list (and registering one), and a model's page: versions, lifecycle, history
charts per suite, cards per profile with their completeness, schedules."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.evaluations import services as evaluations
from apps.evaluations.models import EvaluationSuite, Schedule
from apps.portal import access, charts, selectors
from apps.portal.forms import (
    AIModelForm,
    CompareForm,
    ModelVersionForm,
    ScheduleForm,
    add_serializer_errors,
    add_service_errors,
)
from apps.registry import services as registry
from apps.registry.apis import ModelVersionInputSerializer
from apps.registry.models import AIModel, ModelVersion
from apps.reports.comparison_report import (
    ComparisonRefused,
    version_comparison_report_create,
)
from apps.reports.models import CardProfile, ComparisonReport
from apps.reports.pdf import RenderError
from apps.reports.profiles.metrics import HEADLINE
from apps.signoffs import selectors as signoffs
from apps.signoffs.constants import Stage


def _model(request: HttpRequest, pk: int) -> AIModel:
    org = access.current_organization(request)
    assert org is not None
    return get_object_or_404(
        selectors.models_for(actor=access.actor(request), organization_id=org.pk), pk=pk
    )


@access.member_required
def model_list(request: HttpRequest) -> HttpResponseBase:
    org = access.current_organization(request)
    assert org is not None
    form = AIModelForm(request.POST or None)
    if request.method == "POST":
        access.require(request, "register", org.pk)
        if form.is_valid():
            try:
                model = registry.ai_model_create(organization=org, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Model “{model.name}” is registered.")
                return redirect("portal:model", model.pk)
    rows = selectors.model_rows(actor=access.actor(request), organization_id=org.pk)
    status = 400 if form.errors else 200
    return render(request, "portal/models.html", {"rows": rows, "form": form}, status=status)


def _version_form_errors(form: ModelVersionForm, model: AIModel) -> dict[str, Any] | None:
    """Validate with the API's own input serializer; its cleaned fields, or None."""
    data = {k: v for k, v in form.cleaned_data.items() if v not in ("", None)}
    serializer = ModelVersionInputSerializer(data={**data, "model": model.pk})
    if not serializer.is_valid():
        add_serializer_errors(form, serializer.errors)
        return None
    fields = dict(serializer.validated_data)
    fields.pop("model")
    fields.pop("training_datasets", None)
    return fields


def _register_version(
    request: HttpRequest, model: AIModel, form: ModelVersionForm
) -> ModelVersion | None:
    access.require(request, "register", model)
    if not form.is_valid():
        return None
    fields = _version_form_errors(form, model)
    if fields is None:
        return None
    try:
        return registry.model_version_create(model=model, created_by=request.user, **fields)  # type: ignore[arg-type]
    except ValidationError as exc:
        add_service_errors(form, exc)
        return None


def _history_charts(model: AIModel) -> list[dict[str, Any]]:
    """Per suite: the headline metrics' charts (as on the cards), then the others."""
    out = []
    for suite_name, metrics in sorted(selectors.history(model).items()):
        suite = (
            EvaluationSuite.objects.filter(organization_id=model.organization_id, name=suite_name)
            .order_by("-version")
            .first()
        )
        thresholds = suite.thresholds if suite else {}
        headline: list[dict[str, Any]] = []
        more: list[dict[str, Any]] = []
        for key, points in sorted(metrics.items()):
            if all(p["value"] is None for p in points):
                continue  # a metric this suite's data never defines (e.g. no such items)
            check, metric = key.split(".", 1)
            threshold = charts.threshold_of(thresholds, check, metric)
            item = {
                "key": key,
                "svg": charts.history_chart(f"{suite_name}: {key}", points, threshold),
                "points": points,
            }
            is_headline = metric in HEADLINE.get(check, ()) or threshold is not None
            (headline if is_headline else more).append(item)
        out.append({"suite": suite_name, "charts": headline, "more": more})
    return out


def _cards_by_profile(request: HttpRequest, model: AIModel) -> list[dict[str, Any]]:
    cards = selectors.cards_for(
        actor=access.actor(request), organization_id=model.organization_id
    ).filter(model=model)
    rows = []
    for value, label in CardProfile.choices:
        newest = cards.filter(profile=value).order_by("-version").first()
        rows.append({"profile": value, "label": label, "card": newest})
    return rows


def _lifecycle(versions: Any) -> list[dict[str, Any]]:
    """Each live version's stage gate, as the API's gate endpoint reads it."""
    rows = []
    for version in versions:
        if version.lifecycle_stage == Stage.RETIRED:
            continue
        gate = signoffs.stage_gate(model_version=version)
        rows.append(
            {
                "version": version,
                "gate": gate,
                "next_label": Stage(gate.next_stage).label if gate.next_stage else None,
                "roles": access.roles_label(gate.required_roles),
            }
        )
    return rows


@access.member_required
def model_detail(request: HttpRequest, pk: int) -> HttpResponseBase:
    model = _model(request, pk)
    form = ModelVersionForm(request.POST or None, prefix="v")
    if request.method == "POST":
        version = _register_version(request, model, form)
        if version is not None:
            messages.success(request, f"Version {version.version_label} is registered.")
            return redirect("portal:model", model.pk)
    versions = model.versions.order_by("-created_at", "-pk")
    org_id = model.organization_id
    actor = access.actor(request)
    suites = EvaluationSuite.objects.filter(organization_id=org_id).order_by("name", "-version")
    context = {
        "model": model,
        "versions": versions,
        "form": form,
        "lifecycle": _lifecycle(versions),
        "stages": Stage.choices,
        "schedule_form": ScheduleForm(prefix="s", suites=suites, versions=versions),
        "schedules": Schedule.objects.filter(model=model).select_related("suite", "model_version"),
        "reports": _reports(model),
        "compare_form": CompareForm(prefix="c", suites=suites, versions=versions),
        "history": _history_charts(model),
        "cards": _cards_by_profile(request, model),
        "decisions": selectors.latest_decisions(model),
        "alerts": selectors.open_alerts(actor=actor, organization_id=org_id).filter(model=model),
        "perms": access.permissions_for(request, model),
    }
    return render(request, "portal/model.html", context, status=400 if form.errors else 200)


@require_POST
@access.member_required
def schedule_create(request: HttpRequest, pk: int) -> HttpResponseBase:
    model = _model(request, pk)
    access.require(request, "define", model)
    versions = model.versions.all()
    suites = EvaluationSuite.objects.filter(organization_id=model.organization_id)
    form = ScheduleForm(request.POST, prefix="s", suites=suites, versions=versions)
    if form.is_valid():
        data = form.cleaned_data
        version = (
            versions.filter(pk=data["model_version"]).first() if data["model_version"] else None
        )
        try:
            evaluations.schedule_create(
                organization=model.organization,
                name=data["name"],
                suite=suites.get(pk=data["suite"]),
                model=model,
                cron=data["cron"],
                cron_timezone=data["cron_timezone"],
                target=data["target"],
                model_version=version,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Schedule “{data['name']}” is set.")
            return redirect("portal:model", model.pk)
    for field, errors in form.errors.items():
        for error in errors:
            messages.error(request, f"Schedule {field if field != '__all__' else ''}: {error}")
    return redirect("portal:model", model.pk)


def _reports(model: AIModel) -> list[ComparisonReport]:
    """The model's alignment evidence, newest first (one query; the documents are not read)."""
    return list(
        ComparisonReport.objects.filter(model=model)
        .select_related("model_version", "baseline_version", "suite")
        .defer("document")
        .order_by("-created_at")[:20]
    )


@require_POST
@access.member_required
def comparison_create(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Issue a signed paired comparison of two versions scored by one suite version (the
    same service as POST /api/v1/comparison-reports/); refusals are shown with their reason."""
    model = _model(request, pk)
    access.require(request, "compare", model)
    versions = model.versions.all()
    suites = EvaluationSuite.objects.filter(organization_id=model.organization_id)
    form = CompareForm(request.POST, prefix="c", suites=suites, versions=versions)
    if not form.is_valid():
        messages.error(request, "Choose a suite and two different versions.")
        return redirect("portal:model", model.pk)
    data = form.cleaned_data
    try:
        report = version_comparison_report_create(
            actor=access.actor(request),
            suite_id=int(data["suite"]),
            version_ids=[int(data["baseline"]), int(data["candidate"])],
            user=request.user,
        )
    except (ComparisonRefused, RenderError) as exc:
        messages.error(request, f"No report: {exc}")
    else:
        messages.success(request, f"Comparison report issued: {report.summary}")
    return redirect("portal:model", model.pk)
