"""The form next to a card's completeness checklist: one input per missing field that a person
can fill (the model's registry fields and its documentation), built from each missing field's
fill hint. What is typed goes to the same services as the API's PATCH endpoints."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from apps.portal.forms import PortalForm
from apps.registry.constants import HTI1_DEMOGRAPHIC_VARIABLES
from apps.registry.models import AIModel
from apps.registry.services import MODEL_FIELDS
from apps.reports.constants import (
    DATA_ORIGINS,
    DOCUMENTATION_FIELDS,
    LIST_DOCUMENTATION_FIELDS,
    NUMBER_DOCUMENTATION_FIELDS,
    OBJECT_DOCUMENTATION_FIELDS,
    OUTPUT_TYPES,
)

DOC_HINT = re.compile(r"documentation → ([a-z_]+)")
MODEL_HINT = re.compile(r"Registry → model → ([a-z_]+)")
CHOICE_MODEL_FIELDS = {
    "decision_role": AIModel.DecisionRole.choices,
    "application_area": AIModel.ApplicationArea.choices,
    "risk_class": AIModel.RiskClass.choices,
}


def fillable(missing: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """The documentation keys and model fields named by the missing fields' hints, in order."""
    docs: list[str] = []
    model_fields: list[str] = []
    for entry in missing:
        hint = str(entry.get("fill_hint") or "")
        for key in DOC_HINT.findall(hint):
            if key in DOCUMENTATION_FIELDS and key not in docs:
                docs.append(key)
        for name in MODEL_HINT.findall(hint):
            if name in MODEL_FIELDS and name != "owner" and name not in model_fields:
                model_fields.append(name)
    return docs, model_fields


def _doc_field(key: str, value: Any) -> forms.Field:
    label, help_text = DOCUMENTATION_FIELDS[key]
    if key == "demographic_input_features":
        return forms.MultipleChoiceField(
            label=label,
            required=False,
            choices=[(v, v.replace("_", " ")) for v in HTI1_DEMOGRAPHIC_VARIABLES],
            widget=forms.CheckboxSelectMultiple,
            help_text="Tick none if the model uses no demographic input.",
            initial=value or [],
        )
    if key in LIST_DOCUMENTATION_FIELDS:
        return forms.CharField(
            label=label,
            required=False,
            widget=forms.Textarea(attrs={"rows": 3}),
            help_text="One per line.",
            initial="\n".join(value or []),
        )
    if key in NUMBER_DOCUMENTATION_FIELDS:
        return forms.FloatField(
            label=label, required=False, min_value=0, help_text=help_text, initial=value
        )
    if key == "output_type":
        return forms.ChoiceField(
            label=label,
            required=False,
            choices=[("", "—")] + [(v, v) for v in OUTPUT_TYPES],
            initial=value,
        )
    return forms.CharField(
        label=label,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=help_text,
        initial=value,
    )


class CardFieldsForm(PortalForm):
    """Inputs named doc__<key>, model__<field> and origin__<n> (one per evaluation suite)."""

    def __init__(
        self,
        *args: Any,
        docs: list[str],
        model_fields: list[str],
        model: AIModel,
        values: dict[str, Any],
        suites: list[str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.suites = suites
        for name in model_fields:
            label = str(getattr(AIModel._meta.get_field(name), "verbose_name", name)).capitalize()
            current = getattr(model, name)
            if name in CHOICE_MODEL_FIELDS:
                self.fields[f"model__{name}"] = forms.ChoiceField(
                    label=label, choices=CHOICE_MODEL_FIELDS[name], initial=current
                )
            else:
                self.fields[f"model__{name}"] = forms.CharField(
                    label=label,
                    required=False,
                    widget=forms.Textarea(attrs={"rows": 2}),
                    initial=current,
                )
        for key in docs:
            if key in OBJECT_DOCUMENTATION_FIELDS:
                origins = values.get(key) or {}
                for i, suite in enumerate(suites):
                    self.fields[f"origin__{i}"] = forms.ChoiceField(
                        label=f"Evaluation data origin of suite “{suite}”",
                        required=False,
                        choices=[("", "—"), *DATA_ORIGINS.items()],
                        initial=origins.get(suite, ""),
                    )
                continue
            self.fields[f"doc__{key}"] = _doc_field(key, values.get(key))

    def documentation_values(self) -> dict[str, Any]:
        """What to send to model_documentation_update (only what the form shows)."""
        out: dict[str, Any] = {}
        origins: dict[str, str] = {}
        for name, value in self.cleaned_data.items():
            if name.startswith("doc__"):
                key = name[5:]
                if key in LIST_DOCUMENTATION_FIELDS and isinstance(value, str):
                    value = [line.strip() for line in value.splitlines() if line.strip()]
                    value = value or None
                out[key] = value
            elif name.startswith("origin__") and value:
                origins[self.suites[int(name[8:])]] = value
        if origins:
            out["evaluation_data_origin"] = origins
        return out

    def model_values(self) -> dict[str, Any]:
        return {
            name[7:]: value
            for name, value in self.cleaned_data.items()
            if name.startswith("model__") and value not in (None, "")
        }
