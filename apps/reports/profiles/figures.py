"""Chart data for the cards: bar charts with CIs by group, and the history of the latest runs.

The SVG drawing is apps/reports/charts.py; this module only picks the numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from apps.reports.profiles.metrics import results_of

if TYPE_CHECKING:
    from apps.reports.context import CardContext

# The result charts every profile draws from: chart id -> (check, metric, title).
STANDARD_CHARTS = {
    "accuracy_by_specialty": ("knowledge", "accuracy", "Accuracy by specialty"),
    "accuracy_gap_by_attribute": ("bias", "accuracy_gap", "Accuracy gap by demographic attribute"),
    "accuracy_by_language": ("multilingual", "accuracy", "Accuracy by language"),
}


def standard_chart(ctx: CardContext, chart_id: str) -> dict[str, Any] | None:
    check, name, title = STANDARD_CHARTS[chart_id]
    return group_chart(ctx, check, name, chart_id=chart_id, title=title)


def group_chart(
    ctx: CardContext,
    check: str,
    name: str,
    *,
    chart_id: str,
    title: str,
    prefix: str | None = None,
) -> dict[str, Any] | None:
    """A bar chart with CIs of one metric by group (optionally groups 'prefix=value')."""
    for run_facts in ctx.runs_with(check):
        series = []
        threshold = None
        for r in results_of(run_facts):
            if r["check"] != check or r["metric"] != name:
                continue
            if r["group"] is None:
                threshold = _threshold_number(r)
                continue
            group = str(r["group"])
            if prefix is not None:
                if not group.startswith(prefix + "="):
                    continue
                group = group.split("=", 1)[1]
            series.append(
                {
                    "label": group,
                    "value": r["value"],
                    "ci_low": r["ci_low"],
                    "ci_high": r["ci_high"],
                    "n": r["n"],
                }
            )
        if series:
            return {
                "id": chart_id,
                "kind": "bar_ci",
                "title": f"{title} — {run_facts.label}",
                "unit": "%",
                "y_min": 0,
                "y_max": 1,
                "threshold": threshold,
                "series": series,
            }
    return None


def _threshold_number(r: dict[str, Any]) -> float | None:
    if not r.get("threshold"):
        return None
    try:
        return float(str(r["threshold"]).split()[-1])
    except ValueError:
        return None


def history_chart(ctx: CardContext) -> dict[str, Any] | None:
    series = []
    for run, check in ctx.history:
        overall = next(
            (m for m in check.metrics or [] if m["name"] == "accuracy" and not m.get("group")),
            None,
        )
        if overall is None:
            continue
        when = run.finished_at or run.created_at
        series.append(
            {
                "label": f"run {run.pk} ({run.model_version.version_label})",
                "x": when.date().isoformat(),
                "value": overall.get("value"),
                "ci_low": overall.get("ci_low"),
                "ci_high": overall.get("ci_high"),
                "n": int(overall.get("n") or 0),
            }
        )
    if len(series) < 2:
        return None
    return {
        "id": "accuracy_over_time",
        "kind": "line",
        "title": "Medical-knowledge accuracy over the latest runs of this model",
        "unit": "%",
        "y_min": 0,
        "y_max": 1,
        "threshold": None,
        "series": series,
    }
