"""Preference studies: list and create (two runs or an upload), the blind judging screen,
results (win rates, Bradley-Terry, agreement, per-criterion means) and the DPO export.

Visibility and every rule are apps.signoffs selectors' and services' (the API's own).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.common.tenancy import scope
from apps.evaluations.models import EvaluationRun
from apps.portal import access, charts
from apps.portal.forms import add_service_errors
from apps.portal.studyforms import ExportForm, JudgeForm, StudyForm
from apps.signoffs import services
from apps.signoffs.models import PreferenceJudgment, PreferenceStudy
from apps.signoffs.selectors import preferences as selectors


def _study(request: HttpRequest, pk: int) -> PreferenceStudy:
    return get_object_or_404(selectors.study_list(actor=access.actor(request)), pk=pk)


def _runs(request: HttpRequest, org_id: int) -> Any:
    return (
        scope(EvaluationRun.objects.select_related("suite", "model_version"), access.actor(request))
        .filter(organization_id=org_id, status=EvaluationRun.Status.SUCCEEDED)
        .order_by("-created_at")
    )


def _create(request: HttpRequest, form: StudyForm) -> PreferenceStudy | None:
    org = access.current_organization(request)
    assert org is not None
    access.require(request, "organise", org.pk)
    if not form.is_valid():
        return None
    data = form.cleaned_data
    kwargs: dict[str, Any] = {}
    try:
        if data["file"]:
            if data["run_a"] or data["run_b"]:
                raise ValidationError({"file": ["Give runs or a file, not both."]})
            pairs, sha256 = services.pairs_from_upload(data["file"])
            labels = (data["label_a"] or "A", data["label_b"] or "B")
            kwargs = {"pairs": pairs, "source_sha256": sha256, "labels": labels}
        else:
            runs = _runs(request, org.pk)
            for side in ("run_a", "run_b"):
                run = runs.filter(pk=data[side]).first() if data[side] else None
                if run is None:
                    raise ValidationError({side: ["Choose a run (or upload a file of pairs)."]})
                kwargs[side] = run
        return services.preference_study_create(
            organization=org,
            created_by=request.user,  # type: ignore[arg-type]
            name=data["name"],
            description=data["description"],
            **kwargs,
        )
    except ValidationError as exc:
        add_service_errors(form, exc)
        return None


@access.member_required
def study_list(request: HttpRequest) -> HttpResponseBase:
    org = access.current_organization(request)
    assert org is not None
    runs = _runs(request, org.pk)[:200]  # the newest 200 succeeded runs, as choices
    form = StudyForm(request.POST or None, request.FILES or None, runs=runs)
    if request.method == "POST":
        study = _create(request, form)
        if study is not None:
            messages.success(request, f"Study “{study.name}” has {study.pairs.count()} pairs.")
            return redirect("portal:study", study.pk)
    studies = selectors.study_list(actor=access.actor(request)).filter(organization=org)
    context = {"studies": studies.order_by("-created_at"), "form": form}
    return render(request, "portal/studies.html", context, status=400 if form.errors else 200)


def _progress(study: PreferenceStudy, user: Any) -> dict[str, int]:
    total = study.pairs.count()
    mine = PreferenceJudgment.objects.filter(pair__study=study, reviewer=user).count()
    return {"total": total, "mine": mine, "left": total - mine}


@access.member_required
def study_detail(request: HttpRequest, pk: int) -> HttpResponseBase:
    study = _study(request, pk)
    visible, reason = selectors.results_visible(study=study, actor=access.actor(request))
    context = {
        "study": study,
        "progress": _progress(study, request.user),
        "judgments": PreferenceJudgment.objects.filter(pair__study=study).count(),
        "results_visible": visible,
        "results_reason": reason,
        "perms": access.permissions_for(request, study.organization_id),
        "export_form": ExportForm(prefix="x"),
        "exports": study.exports.select_related("dataset_version__dataset").order_by("-pk"),
    }
    return render(request, "portal/study.html", context)


@access.member_required
def judge(request: HttpRequest, pk: int) -> HttpResponseBase:
    """One unjudged pair at a time; nobody else's judgment is shown here."""
    study = _study(request, pk)
    access.require(request, "judge", study.organization_id)
    form = JudgeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        pair = study.pairs.filter(pk=form.cleaned_data["pair"]).first()
        if pair is None:
            form.add_error(None, "No such pair in this study.")
        else:
            try:
                services.preference_judgment_create(
                    pair=pair,
                    reviewer=request.user,  # type: ignore[arg-type]
                    reviewer_role=access.role_in(request, study.organization_id) or "",
                    choice=form.cleaned_data["preference"],
                    ratings=form.ratings(),
                    rationale=form.cleaned_data["rationale"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                return redirect("portal:study-judge", study.pk)
    pair = (
        study.pairs.exclude(judgments__reviewer=request.user.pk).order_by("position").first()
        if study.closed_at is None
        else None
    )
    if pair is not None and not form.is_bound:
        form = JudgeForm(initial={"pair": pair.pk})
    blind = selectors.blind_pair(pair) if pair else None
    context = {
        "study": study,
        "pair": blind,
        "sides": [(side, blind[side], form.rating_fields(side)) for side in ("left", "right")]
        if blind
        else [],
        "form": form,
        "progress": _progress(study, request.user),
    }
    return render(request, "portal/study_judge.html", context, status=400 if form.errors else 200)


@access.member_required
def results(request: HttpRequest, pk: int) -> HttpResponseBase:
    study = _study(request, pk)
    visible, reason = selectors.results_visible(study=study, actor=access.actor(request))
    if not visible:
        messages.error(request, reason)
        return redirect("portal:study", study.pk)
    body = selectors.study_results(study=study)
    context = {
        "study": study,
        "r": body,
        "win_chart": charts.win_rate_chart(f"{study.name}: win rate", body),
        "criteria_chart": charts.criteria_chart(f"{study.name}: mean ratings", body),
    }
    return render(request, "portal/study_results.html", context)


@require_POST
@access.member_required
def close(request: HttpRequest, pk: int) -> HttpResponseBase:
    study = _study(request, pk)
    access.require(request, "organise", study.organization_id)
    services.preference_study_close(study=study)
    messages.success(request, f"Study “{study.name}” is closed.")
    return redirect("portal:study", study.pk)


@require_POST
@access.member_required
def export(request: HttpRequest, pk: int) -> HttpResponseBase:
    study = _study(request, pk)
    access.require(request, "organise", study.organization_id)
    form = ExportForm(request.POST, prefix="x")
    if form.is_valid():
        data = form.cleaned_data
        try:
            done = services.preference_study_export(
                study=study,
                user=request.user,  # type: ignore[arg-type]
                dataset_name=data["dataset_name"],
                phi_status=data["phi_status"] or None,
                deidentification_method=data["deidentification_method"],
            )
        except ValidationError as exc:
            for error in exc.messages:
                messages.error(request, f"Export refused: {error}")
        else:
            version = done.dataset_version
            messages.success(
                request,
                f"Exported {done.rows} preference rows as {version.dataset.name} "
                f"version {version.version}.",
            )
            return redirect("portal:dataset", version.dataset_id)
    for field, field_errors in form.errors.items():
        for message in field_errors:
            messages.error(request, f"Export {field}: {message}")
    return redirect("portal:study", study.pk)
