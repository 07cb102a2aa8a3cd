"""Model cards: draft one for a profile, the completeness checklist with a form for each
missing field, preview, issue, downloads with their digests; and the verify page."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from apps.common import filestore
from apps.evaluations.models import EvaluationRun
from apps.portal import access, selectors
from apps.portal.cardfields import CardFieldsForm, fillable
from apps.portal.forms import CardDraftForm, VerifyForm, add_service_errors
from apps.registry import services as registry
from apps.reports import services as reports
from apps.reports.charts import chart_svg
from apps.reports.constants import FORMATS, VERIFY_MAX_BYTES
from apps.reports.models import ModelCard
from apps.reports.selectors import documentation_values
from worker import tasks

FORMAT_LABELS = {"pdf": "PDF", "json": "JSON", "xml": "CHAI XML", "md": "Hugging Face README"}


def _card(request: HttpRequest, pk: str) -> ModelCard:
    org = access.current_organization(request)
    assert org is not None
    return get_object_or_404(
        selectors.cards_for(actor=access.actor(request), organization_id=org.pk), pk=pk
    )


@access.member_required
def card_list(request: HttpRequest) -> HttpResponseBase:
    org = access.current_organization(request)
    assert org is not None
    actor = access.actor(request)
    versions = selectors.versions_for(actor=actor, organization_id=org.pk)
    if request.GET.get("model", "").isdigit():
        versions = versions.filter(model_id=int(request.GET["model"]))
    form = CardDraftForm(request.POST or None)
    form.fields["model_version"] = _version_field(versions)
    form.order_fields(["model_version", "profile"])
    if request.method == "POST":
        access.require(request, "draft", org.pk)
        if form.is_valid():
            version = versions.get(pk=form.cleaned_data["model_version"])
            try:
                card = reports.model_card_request(
                    model_version=version, profile=form.cleaned_data["profile"], user=request.user
                )
                tasks.send_model_card_render(str(card.pk), card.generation)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                return redirect("portal:card", card.pk)
    cards = selectors.cards_for(actor=actor, organization_id=org.pk).order_by("-created_at")[:100]
    return render(request, "portal/cards.html", {"form": form, "cards": cards})


def _version_field(versions: Any) -> Any:
    from django import forms

    return forms.ChoiceField(
        label="Model version",
        choices=[(v.pk, f"{v.model.name} {v.version_label}") for v in versions],
    )


def _suite_names(card: ModelCard) -> list[str]:
    names = EvaluationRun.objects.filter(model_version=card.model_version, status="succeeded")
    return sorted(set(names.values_list("suite__name", flat=True)))


def _fields_form(card: ModelCard, data: Any = None) -> CardFieldsForm | None:
    missing = (card.completeness or {}).get("missing") or []
    docs, model_fields = fillable(missing)
    if not docs and not model_fields:
        return None
    return CardFieldsForm(
        data,
        docs=docs,
        model_fields=model_fields,
        model=card.model,
        values=documentation_values(model_id=card.model_id),
        suites=_suite_names(card),
    )


def _downloads(card: ModelCard) -> list[dict[str, str]]:
    return [
        {"fmt": fmt, "label": FORMAT_LABELS[fmt], "sha256": card.sha256_of(fmt)}
        for fmt in FORMATS
        if card.sha256_of(fmt)
    ]


def _preview(card: ModelCard) -> list[dict[str, Any]]:
    """The card's sections as the portal shows them: fields, and charts drawn as SVG."""
    sections = []
    for section in (card.document or {}).get("sections") or []:
        svgs = []
        for chart in section.get("charts") or []:
            try:
                svg = mark_safe(chart_svg(chart))  # chart_svg escapes all text it draws
            except ValueError:
                continue
            svgs.append({"svg": svg, "title": chart.get("title", "")})
        sections.append({**section, "svgs": svgs})
    return sections


@access.member_required
def card_detail(request: HttpRequest, pk: str) -> HttpResponse:
    card = _card(request, pk)
    perms = access.permissions_for(request, card)
    form = _fields_form(card) if perms["issue"] and card.status == ModelCard.Status.DRAFT else None
    context = {
        "card": card,
        "perms": perms,
        "form": form,
        "downloads": _downloads(card),
        "sections": _preview(card),
    }
    return render(request, "portal/card.html", context)


@access.member_required
def card_status(request: HttpRequest, pk: str) -> HttpResponse:
    """Rendering progress (polled); the page reloads when the draft is ready."""
    card = _card(request, pk)
    response = render(request, "portal/_card_status.html", {"card": card})
    if card.status != ModelCard.Status.RENDERING:
        response["HX-Refresh"] = "true"
    return response


@require_POST
@access.member_required
def card_fill(request: HttpRequest, pk: str) -> HttpResponseBase:
    """Save the typed fields (documentation and registry), then render the draft again."""
    card = _card(request, pk)
    access.require(request, "issue", card)
    form = _fields_form(card, request.POST)
    if form is None:
        return redirect("portal:card", card.pk)
    if form.is_valid():
        try:
            with transaction.atomic():
                values = form.documentation_values()
                if values:
                    reports.model_documentation_update(
                        model=card.model, values=values, user=request.user
                    )
                model_values = form.model_values()
                if model_values:
                    registry.ai_model_update(model=card.model, **model_values)
                card = reports.model_card_request(
                    model_version=card.model_version, profile=card.profile, user=request.user
                )
                tasks.send_model_card_render(str(card.pk), card.generation)
        except ValidationError as exc:
            _prefix_errors(form, exc)
        else:
            messages.success(request, "Saved. The draft is being rendered again with your answers.")
            return redirect("portal:card", card.pk)
    context = {
        "card": card,
        "perms": access.permissions_for(request, card),
        "form": form,
        "downloads": _downloads(card),
        "sections": _preview(card),
    }
    return render(request, "portal/card.html", context, status=400)


def _prefix_errors(form: CardFieldsForm, exc: ValidationError) -> None:
    """Service errors name documentation keys or model fields: put them on our inputs."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for name, errors in exc.message_dict.items():
        target = next((f for f in (f"doc__{name}", f"model__{name}") if f in form.fields), None)
        for error in errors:
            form.add_error(target, error)


@require_POST
@access.member_required
def card_redraft(request: HttpRequest, pk: str) -> HttpResponseBase:
    card = _card(request, pk)
    access.require(request, "draft", card)
    card = reports.model_card_request(
        model_version=card.model_version, profile=card.profile, user=request.user
    )
    tasks.send_model_card_render(str(card.pk), card.generation)
    return redirect("portal:card", card.pk)


@require_POST
@access.member_required
def card_issue(request: HttpRequest, pk: str) -> HttpResponseBase:
    card = _card(request, pk)
    access.require(request, "issue", card)
    try:
        card = reports.model_card_issue_request(
            card=card, user=request.user, actor=access.actor(request)
        )
    except reports.CardIncomplete as exc:
        messages.error(request, f"Not issued: {exc}")
    except reports.CardStateError as exc:
        messages.error(request, f"Not issued: {exc}")
    else:
        # A worker renders, signs and freezes it; no lock is held through the render.
        tasks.send_model_card_issue(str(card.pk), card.generation)
        messages.success(
            request,
            f"Card v{card.version} is being issued: a worker renders and signs its files; "
            "once issued they can no longer change.",
        )
    return redirect("portal:card", card.pk)


@access.member_required
def verify(request: HttpRequest) -> HttpResponse:
    """Any signed-in user: is this file (or digest) an issued card? With the reason."""
    form = VerifyForm(request.POST or None, request.FILES or None)
    answer = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data.get("file")
        if upload is not None and upload.size > VERIFY_MAX_BYTES:
            form.add_error("file", f"At most {VERIFY_MAX_BYTES // (1024 * 1024)} MiB.")
        else:
            digest = (
                filestore.sha256_of(upload.chunks())[0]
                if upload is not None
                else form.cleaned_data["sha256"]
            )
            answer = reports.model_card_verify(sha256=digest, actor=access.actor(request))
    status = 400 if form.errors else 200
    return render(request, "portal/verify.html", {"form": form, "answer": answer}, status=status)
