"""Forms of the preference-study pages: they read and type the input; services decide."""

from __future__ import annotations

from typing import Any

from django import forms

from apps.portal.forms import PortalForm
from apps.registry.models import DatasetVersion
from apps.signoffs.constants import CRITERIA, MAX_COMMENT

SCORES = [(i, str(i)) for i in range(1, 6)]


class StudyForm(PortalForm):
    name = forms.CharField(max_length=200)
    description = forms.CharField(
        required=False, max_length=MAX_COMMENT, widget=forms.Textarea(attrs={"rows": 2})
    )
    run_a = forms.TypedChoiceField(
        coerce=int, required=False, label="Run A", help_text="A succeeded run."
    )
    run_b = forms.TypedChoiceField(
        coerce=int, required=False, label="Run B", help_text="Another succeeded run."
    )
    file = forms.FileField(
        required=False,
        label="Or a file of pairs",
        help_text="JSONL: one {prompt, answer_a, answer_b} per line (instead of two runs).",
    )
    label_a = forms.CharField(max_length=200, required=False, initial="A", label="Label of A")
    label_b = forms.CharField(max_length=200, required=False, initial="B", label="Label of B")

    def __init__(self, *args: Any, runs: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "—")] + [(r.pk, f"#{r.pk} {r.suite} on {r.model_version}") for r in runs]
        for name in ("run_a", "run_b"):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = choices


class JudgeForm(PortalForm):
    """One blind judgment: which side is better (or a tie) and 1-5 per criterion and side."""

    pair = forms.IntegerField(widget=forms.HiddenInput)
    preference = forms.ChoiceField(
        choices=[("left", "Left is better"), ("tie", "Tie"), ("right", "Right is better")],
        widget=forms.RadioSelect,
        label="Which answer is better?",
    )
    rationale = forms.CharField(
        required=False, max_length=MAX_COMMENT, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for side in ("left", "right"):
            for criterion in CRITERIA:
                self.fields[f"{side}_{criterion}"] = forms.TypedChoiceField(
                    choices=SCORES,
                    coerce=int,
                    widget=forms.RadioSelect,
                    label=f"{criterion.capitalize()} ({side})",
                )

    def rating_fields(self, side: str) -> list[Any]:
        return [self[f"{side}_{criterion}"] for criterion in CRITERIA]

    def ratings(self) -> dict[str, dict[str, int]]:
        data = self.cleaned_data
        return {
            side: {criterion: data[f"{side}_{criterion}"] for criterion in CRITERIA}
            for side in ("left", "right")
        }


class ExportForm(PortalForm):
    dataset_name = forms.CharField(
        required=False, max_length=200, help_text="Default: the study's name."
    )
    phi_status = forms.ChoiceField(
        required=False,
        label="PHI status",
        choices=[("", "Inherit from the runs' evaluation data")]
        + list(DatasetVersion.PhiStatus.choices),
    )
    deidentification_method = forms.CharField(required=False, max_length=200)
