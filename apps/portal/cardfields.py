"""The inputs next to a card's completeness checklist: for every missing item, the plain
fields a person fills (documentation, the model's and the version's registry fields, an
explanation for each contradiction), read from the item's fill hint; an item that only data
can fill (an evaluation, a sign-off) gets a link to where that is done. What is typed goes
to the same services as the API's PATCH endpoints."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django import forms

from apps.portal.forms import PortalForm
from apps.registry.constants import ALIGNMENT_TECHNIQUES, HTI1_DEMOGRAPHIC_VARIABLES
from apps.registry.models import AIModel, ModelVersion
from apps.registry.services import MODEL_FIELDS
from apps.reports.constants import (
    DATA_ORIGINS,
    DOCUMENTATION_FIELDS,
    LIST_DOCUMENTATION_FIELDS,
    NUMBER_DOCUMENTATION_FIELDS,
    OBJECT_DOCUMENTATION_FIELDS,
    OUTPUT_TYPES,
    TEXT_MAP_DOCUMENTATION_FIELDS,
)

DOC_HINT = re.compile(r"documentation → ([a-z_]+)")
# "Registry → model → target_population, intended_users (PATCH …)": every field named.
MODEL_HINT = re.compile(r"Registry → model → ([^(;]+)")
VERSION_HINT = re.compile(r"Registry → model version → ([^(;]+)")
VERSION_FIELDS = ("base_model", "alignment_techniques")  # the rest: fixed, or set by gates
CHOICE_MODEL_FIELDS = {
    "decision_role": AIModel.DecisionRole.choices,
    "application_area": AIModel.ApplicationArea.choices,
    "risk_class": AIModel.RiskClass.choices,
}


@dataclass
class Targets:
    """What a fill hint (or several) names: documentation keys, model and version fields."""

    docs: list[str] = field(default_factory=list)
    model_fields: list[str] = field(default_factory=list)
    version_fields: list[str] = field(default_factory=list)

    def add(self, other: Targets) -> None:
        for mine, theirs in (
            (self.docs, other.docs),
            (self.model_fields, other.model_fields),
            (self.version_fields, other.version_fields),
        ):
            mine.extend(name for name in theirs if name not in mine)


def hint_targets(hint: str) -> Targets:
    found = Targets()
    for key in DOC_HINT.findall(hint):
        if key in DOCUMENTATION_FIELDS and key not in TEXT_MAP_DOCUMENTATION_FIELDS:
            found.add(Targets(docs=[key]))
    for segment in MODEL_HINT.findall(hint):
        names = [n for n in re.findall(r"[a-z_]+", segment) if n in MODEL_FIELDS and n != "owner"]
        found.add(Targets(model_fields=names))
    for segment in VERSION_HINT.findall(hint):
        names = [n for n in re.findall(r"[a-z_]+", segment) if n in VERSION_FIELDS]
        found.add(Targets(version_fields=names))
    return found


def fillable(missing: list[dict[str, Any]]) -> Targets:
    """The inputs named by the missing fields' hints, in order, each once."""
    found = Targets()
    for entry in missing:
        found.add(hint_targets(str(entry.get("fill_hint") or "")))
    return found


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


def _model_field(name: str, current: Any) -> forms.Field:
    label = str(getattr(AIModel._meta.get_field(name), "verbose_name", name)).capitalize()
    if name in CHOICE_MODEL_FIELDS:
        return forms.ChoiceField(label=label, choices=CHOICE_MODEL_FIELDS[name], initial=current)
    return forms.CharField(
        label=label, required=False, widget=forms.Textarea(attrs={"rows": 2}), initial=current
    )


def _version_field(name: str, version: ModelVersion) -> forms.Field:
    if name == "alignment_techniques":
        return forms.MultipleChoiceField(
            label="Alignment techniques of this version",
            required=False,
            choices=list(ALIGNMENT_TECHNIQUES.items()),
            widget=forms.CheckboxSelectMultiple,
            initial=version.alignment_techniques or [],
        )
    return forms.CharField(
        label="Base model of this version",
        required=False,
        max_length=200,
        help_text="The foundation model it was built from, e.g. a hub id.",
        initial=version.base_model,
    )


class CardFieldsForm(PortalForm):
    """Inputs named doc__<key>, model__<field>, version__<field>, origin__<n> (one per
    evaluation suite) and explain__<n> (one per unexplained contradiction)."""

    def __init__(
        self,
        *args: Any,
        targets: Targets,
        model: AIModel,
        version: ModelVersion,
        values: dict[str, Any],
        suites: list[str],
        contradictions: list[dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.suites = suites
        self.values = values
        self.contradictions = [x for x in contradictions or [] if not x.get("explained")]
        for name in targets.model_fields:
            self.fields[f"model__{name}"] = _model_field(name, getattr(model, name))
        for name in targets.version_fields:
            self.fields[f"version__{name}"] = _version_field(name, version)
        for key in targets.docs:
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
        for i, item in enumerate(self.contradictions):
            self.fields[f"explain__{i}"] = forms.CharField(
                label=f"Why this is so ({item['id']})",
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
                help_text="Or fix the documentation or the registry so that they agree.",
            )

    def names_for(self, targets: Targets) -> list[str]:
        """The names of this form's inputs for one checklist item's targets."""
        names = [f"model__{n}" for n in targets.model_fields]
        names += [f"version__{n}" for n in targets.version_fields]
        for key in targets.docs:
            if key in OBJECT_DOCUMENTATION_FIELDS:
                names += [f"origin__{i}" for i in range(len(self.suites))]
            else:
                names.append(f"doc__{key}")
        return [n for n in names if n in self.fields]

    def documentation_values(self) -> dict[str, Any]:
        """What to send to model_documentation_update (only what the form shows; the maps
        keep the entries the form does not show)."""
        out: dict[str, Any] = {}
        origins: dict[str, str] = {}
        explanations: dict[str, str] = {}
        for name, value in self.cleaned_data.items():
            if name.startswith("doc__"):
                key = name[5:]
                if key in LIST_DOCUMENTATION_FIELDS and isinstance(value, str):
                    value = [line.strip() for line in value.splitlines() if line.strip()]
                    value = value or None
                out[key] = value
            elif name.startswith("origin__") and value:
                origins[self.suites[int(name[8:])]] = value
            elif name.startswith("explain__") and value.strip():
                explanations[self.contradictions[int(name[9:])]["id"]] = value.strip()
        if origins:
            out["evaluation_data_origin"] = {
                **(self.values.get("evaluation_data_origin") or {}),
                **origins,
            }
        if explanations:
            out["consistency_explanations"] = {
                **(self.values.get("consistency_explanations") or {}),
                **explanations,
            }
        return out

    def model_values(self) -> dict[str, Any]:
        return {
            name[7:]: value
            for name, value in self.cleaned_data.items()
            if name.startswith("model__") and value not in (None, "")
        }

    def version_values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in self.cleaned_data.items():
            if name == "version__base_model" and value:
                out["base_model"] = value
            elif name == "version__alignment_techniques":
                out["alignment_techniques"] = list(value)
        return out


def action_for(hint: str, links: dict[str, str]) -> tuple[str, str] | None:
    """Where an item that no typed answer fills is done: (link text, URL)."""
    if not links:
        return None
    if "lifecycle_stage" in hint or "sign-off" in hint.lower():
        return "Open the model's lifecycle and sign-offs", links["model"] + "#life-h"
    if "schedule" in hint.lower():
        return "Add a schedule on the model page", links["model"]
    if "thresholds" in hint:
        return "Define a suite with thresholds", links["suite"]
    if hint.startswith("Evaluations") or "run a suite" in hint:
        return "Start a run on this version", links["run"]
    if hint.startswith("Registry → dataset"):
        return "Open the datasets (demographic counts per version)", links["datasets"]
    if hint.startswith("Registry → model version"):
        return "Open the model's versions", links["model"] + "#versions-h"
    if hint.startswith("Accounts → organisation"):
        return "Open the organisation (admins)", links["org"]
    return None


def checklist(
    missing: list[dict[str, Any]],
    contradictions: list[dict[str, Any]],
    form: CardFieldsForm | None,
    links: dict[str, str],
) -> list[dict[str, Any]]:
    """Each missing item with its inputs (each input once, at its first item; later items
    name the item above that holds it) and, where data must be produced, a link."""
    placed: dict[str, str] = {}
    rows = []
    for entry in missing:
        hint = str(entry.get("fill_hint") or "")
        names = form.names_for(hint_targets(hint)) if form else []
        fresh = [n for n in names if n not in placed]
        above = sorted({placed[n] for n in names if n in placed})
        for name in fresh:
            placed[name] = str(entry["label"])
        rows.append(
            {
                "label": entry["label"],
                "hint": hint,
                "fields": [form[n] for n in fresh] if form else [],
                "above": above,
                "action": None if names else action_for(hint, links),
            }
        )
    for i, item in enumerate(form.contradictions if form else []):
        assert form is not None
        rows.append(
            {
                "label": f"Contradiction: {item['message']}",
                "hint": "",  # the API's hint shows JSON; the field's help says it plainly
                "fields": [form[f"explain__{i}"]],
                "above": [],
                "action": None,
            }
        )
    if not form:
        rows += [
            {"label": f"Contradiction: {x['message']}", "hint": str(x.get("fill_hint") or "")}
            for x in contradictions
            if not x.get("explained")
        ]
    return rows
