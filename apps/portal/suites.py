"""The suite form: which dataset feeds which check, thresholds and drift tolerance as rows
(no JSON). The suite service validates everything; this only assembles its arguments."""

from __future__ import annotations

from typing import Any

from django import forms

from apps.portal.forms import PortalForm
from worker.engine.sharding import check_names

OPS = [(">=", "at least (>=)"), ("<=", "at most (<=)")]
THRESHOLD_ROWS = 4


class SuiteForm(PortalForm):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    drift_tolerance = forms.FloatField(
        required=False,
        min_value=0,
        label="Drift tolerance",
        help_text="Largest change of any metric between two runs before a drift alert, e.g. 0.05.",
    )
    n_resamples = forms.IntegerField(
        required=False,
        min_value=50,
        label="Bootstrap resamples",
        help_text="For the confidence intervals; empty: the engine's default (2,000).",
    )

    def __init__(self, *args: Any, dataset_versions: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.dataset_versions = list(dataset_versions)
        checks = [(c, c) for c in check_names()]
        for version in self.dataset_versions:
            self.fields[f"ds_{version.pk}"] = forms.MultipleChoiceField(
                label=f"{version.dataset.name} v{version.version} "
                f"({version.row_count} items) feeds",
                choices=checks,
                required=False,
                widget=forms.CheckboxSelectMultiple,
            )
        for i in range(THRESHOLD_ROWS):
            self.fields[f"t{i}_metric"] = forms.CharField(
                required=False,
                label=f"Threshold {i + 1}: metric",
                help_text="check.metric, e.g. knowledge.accuracy" if i == 0 else "",
            )
            self.fields[f"t{i}_op"] = forms.ChoiceField(
                required=False, choices=OPS, label=f"Threshold {i + 1}: must be"
            )
            self.fields[f"t{i}_value"] = forms.FloatField(
                required=False, label=f"Threshold {i + 1}: value"
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for i in range(THRESHOLD_ROWS):
            metric = (data.get(f"t{i}_metric") or "").strip()
            if metric and ("." not in metric or data.get(f"t{i}_value") is None):
                self.add_error(
                    f"t{i}_metric", "Write check.metric and give a value, e.g. knowledge.accuracy."
                )
        return data

    def suite_arguments(self) -> dict[str, Any]:
        """The keyword arguments of suite_create, from what was ticked and typed."""
        data = self.cleaned_data
        feeds = {
            version: data.get(f"ds_{version.pk}") or []
            for version in self.dataset_versions
            if data.get(f"ds_{version.pk}")
        }
        checks = sorted({check for names in feeds.values() for check in names})
        thresholds: dict[str, dict[str, dict[str, float]]] = {}
        for i in range(THRESHOLD_ROWS):
            metric = (data.get(f"t{i}_metric") or "").strip()
            if metric:
                check, name = metric.split(".", 1)
                thresholds.setdefault(check, {})[name] = {data[f"t{i}_op"]: data[f"t{i}_value"]}
        parameters = {"n_resamples": data["n_resamples"]} if data.get("n_resamples") else {}
        tolerance = data.get("drift_tolerance")
        return {
            "name": data["name"],
            "description": data.get("description", ""),
            "checks": checks,
            "datasets": list(feeds),
            "dataset_checks": {str(v.pk): names for v, names in feeds.items()},
            "thresholds": thresholds,
            "parameters": parameters,
            "drift_tolerance": {"*": tolerance} if tolerance is not None else {},
        }
