"""Portal forms: they read and type the input; the services decide (no rules here).

A service's ValidationError is shown next to the field it names (`add_service_errors`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.accounts.models import Role
from apps.evaluations.models import Schedule
from apps.registry.constants import ALIGNMENT_TECHNIQUES, HTI1_DEMOGRAPHIC_VARIABLES
from apps.registry.models import AIModel, DatasetVersion, ModelVersion
from apps.reports.models import CardProfile


class PortalForm(forms.Form):
    """Labels without Django's trailing colon, as the portal shows them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def _choices(form: forms.Form, name: str) -> forms.ChoiceField:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    return field


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's errors next to the fields they name (others at the top of the form)."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            field = name if name in form.fields else None
            for error in errors:
                form.add_error(field, error)
    else:
        for error in exc.messages:
            form.add_error(None, error)


class TokenForm(PortalForm):
    name = forms.CharField(
        max_length=100, help_text="What the token is for, e.g. release pipeline."
    )
    expires_at = forms.DateField(
        label="Expires on",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="At most a year from today.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["expires_at"].initial = (timezone.now() + timedelta(days=90)).date()


class OrgTokenForm(TokenForm):
    role = forms.ChoiceField(choices=Role.choices, help_text="The token acts with this role.")
    holder = forms.ChoiceField(
        label="Held by",
        required=False,
        help_text="You, or one of the organisation's service accounts; never above its role.",
    )

    def __init__(self, *args: Any, services: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "holder").choices = [("", "Me")] + [
            (str(s.user_id), f"Service account “{s.name}”") for s in services
        ]


class ServiceAccountForm(PortalForm):
    name = forms.CharField(max_length=100, help_text="What it is, e.g. release pipeline.")
    role = forms.ChoiceField(
        choices=[(v, label) for v, label in Role.choices if v != Role.ADMIN],
        help_text="A service account cannot sign and cannot be an admin.",
    )


class AIModelForm(PortalForm):
    name = forms.CharField(max_length=200)
    intended_use = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    intended_users = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    target_population = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    decision_role = forms.ChoiceField(choices=AIModel.DecisionRole.choices)
    out_of_scope_uses = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    application_area = forms.ChoiceField(choices=AIModel.ApplicationArea.choices)
    risk_class = forms.ChoiceField(choices=AIModel.RiskClass.choices)


class ModelVersionForm(PortalForm):
    version_label = forms.CharField(max_length=100, help_text="e.g. 1.4.0")
    source_kind = forms.ChoiceField(choices=ModelVersion.SourceKind.choices, label="Source")
    hub_id = forms.CharField(required=False, label="Hugging Face id", help_text="For hub models.")
    revision = forms.CharField(
        required=False, help_text="For hub models: the full 40-character commit hash."
    )
    local_path = forms.CharField(
        required=False, help_text="For local models: a model folder under the model roots."
    )
    base_model = forms.CharField(required=False)
    alignment_techniques = forms.MultipleChoiceField(
        choices=list(ALIGNMENT_TECHNIQUES.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    lifecycle_stage = forms.ChoiceField(choices=ModelVersion.LifecycleStage.choices)


class DatasetForm(PortalForm):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class DatasetVersionForm(PortalForm):
    file = forms.FileField(help_text="Validated line by line before anything is stored.")
    format = forms.ChoiceField(choices=DatasetVersion.Format.choices)
    phi_status = forms.ChoiceField(choices=DatasetVersion.PhiStatus.choices, label="PHI status")
    deidentification_method = forms.CharField(
        required=False, help_text="Required when the data is de-identified."
    )
    licence = forms.CharField(max_length=200)
    provenance = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    inclusion_criteria = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    exclusion_criteria = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    demographics = forms.CharField(
        required=False,
        label="Demographic counts",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One variable a line, e.g. “sex: female=40, male=38”. Variables: "
        + ", ".join(HTI1_DEMOGRAPHIC_VARIABLES)
        + ".",
    )

    def clean_demographics(self) -> dict[str, dict[str, int]]:
        """Turn the lines into {variable: {category: count}}; the service checks the names."""
        table: dict[str, dict[str, int]] = {}
        for number, line in enumerate(self.cleaned_data["demographics"].splitlines(), 1):
            if not line.strip():
                continue
            variable, sep, rest = line.partition(":")
            counts: dict[str, int] = {}
            for part in rest.split(","):
                category, eq, count = part.partition("=")
                if not sep or not eq or not count.strip().isdigit() or not category.strip():
                    raise ValidationError(
                        f"Line {number}: write “variable: category=count, category=count”."
                    )
                counts[category.strip()] = int(count.strip())
            table[variable.strip()] = counts
        return table


class RunStartForm(PortalForm):
    suite = forms.ChoiceField(label="Evaluation suite")
    model_version = forms.ChoiceField(label="Model version")

    def __init__(self, *args: Any, suites: Any, versions: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "suite").choices = [(s.pk, f"{s.name} v{s.version}") for s in suites]
        _choices(self, "model_version").choices = [
            (v.pk, f"{v.model.name} {v.version_label}") for v in versions
        ]


class ItemFilterForm(PortalForm):
    check = forms.ChoiceField(required=False)
    wrong = forms.ChoiceField(
        required=False,
        label="Answers",
        choices=[("", "All"), ("true", "Wrong only"), ("false", "Correct only")],
    )
    language = forms.ChoiceField(required=False)
    group = forms.ChoiceField(required=False)

    def __init__(self, *args: Any, options: dict[str, list[str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("check", "language", "group"):
            _choices(self, name).choices = [("", "All")] + [(v, v) for v in options[name]]


class ScheduleForm(PortalForm):
    name = forms.CharField(max_length=200)
    suite = forms.ChoiceField()
    target = forms.ChoiceField(choices=Schedule.Target.choices)
    model_version = forms.ChoiceField(required=False, help_text="For a fixed target only.")
    cron = forms.CharField(max_length=100, help_text="Five fields, e.g. 0 3 * * 1 (Mondays 03:00).")
    cron_timezone = forms.CharField(max_length=64, initial="UTC", label="Time zone")

    def __init__(self, *args: Any, suites: Any, versions: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "suite").choices = [(s.pk, f"{s.name} v{s.version}") for s in suites]
        _choices(self, "model_version").choices = [("", "—")] + [
            (v.pk, v.version_label) for v in versions
        ]


class CompareForm(PortalForm):
    """Two versions of one model, scored by one suite version (the API's comparison report)."""

    suite = forms.ChoiceField(help_text="Both versions need a succeeded run of this suite version.")
    baseline = forms.ChoiceField(label="Baseline version")
    candidate = forms.ChoiceField(label="New version")

    def __init__(self, *args: Any, suites: Any, versions: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "suite").choices = [(s.pk, f"{s.name} v{s.version}") for s in suites]
        labels = [(v.pk, v.version_label) for v in versions]
        _choices(self, "baseline").choices = labels
        _choices(self, "candidate").choices = labels

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("baseline") and data.get("baseline") == data.get("candidate"):
            raise ValidationError("Choose two different versions.")
        return data


class CardDraftForm(PortalForm):
    profile = forms.ChoiceField(choices=CardProfile.choices)


class VerifyForm(PortalForm):
    file = forms.FileField(required=False, label="Card file (PDF, JSON, XML or README)")
    sha256 = forms.CharField(
        required=False, label="or its SHA-256 digest", max_length=64, strip=True
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("file") and not data.get("sha256"):
            raise ValidationError("Upload the card file or paste its SHA-256 digest.")
        digest = data.get("sha256") or ""
        if digest and (len(digest) != 64 or any(c not in "0123456789abcdefABCDEF" for c in digest)):
            self.add_error("sha256", "A SHA-256 digest is 64 hexadecimal characters.")
        return data


class MemberForm(PortalForm):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices)


class RoleForm(PortalForm):
    role = forms.ChoiceField(choices=Role.choices)


class AuditFilterForm(PortalForm):
    actor = forms.CharField(required=False, help_text="e.g. user:alice or token:1a2b3c4d")
    action = forms.CharField(required=False)
    object_type = forms.CharField(required=False, label="Object type")
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))


def add_serializer_errors(form: forms.Form, errors: dict[str, Any]) -> None:
    """Show an API input serializer's errors (the API's own rules) next to the form fields."""
    for name, messages in errors.items():
        field = name if name in form.fields else None
        for message in messages if isinstance(messages, list) else [messages]:
            form.add_error(field, str(message))
