"""Portal charts: the model card's own SVG drawing (apps.reports.charts), fed portal data."""

from __future__ import annotations

from typing import Any

from django.utils.safestring import SafeString, mark_safe

from apps.portal.selectors import metric_ci
from apps.reports.charts import bar_ci_svg, line_svg


def history_chart(title: str, points: list[dict[str, Any]], threshold: Any = None) -> SafeString:
    """One metric of one suite over time, each point with its interval."""
    unit = next((p["unit"] for p in points if p.get("unit")), "")
    chart = {
        "kind": "line",
        "title": title,
        "unit": unit,
        "threshold": threshold,
        "series": [
            {
                "label": p["label"],
                "value": p["value"],
                "ci_low": p["ci_low"],
                "ci_high": p["ci_high"],
            }
            for p in points
        ],
    }
    # line_svg escapes every text it draws; the markup is our own.
    return mark_safe(line_svg(chart))


def group_chart(title: str, metrics: list[dict[str, Any]]) -> SafeString:
    """One metric across groups (specialties, languages, demographic values) with intervals."""
    series = []
    for metric in metrics:
        low, high = metric_ci(metric)
        series.append(
            {
                "label": metric.get("group"),
                "value": metric.get("value"),
                "ci_low": low,
                "ci_high": high,
            }
        )
    unit = next((m.get("unit") for m in metrics if m.get("unit")), "")
    return mark_safe(bar_ci_svg({"kind": "bar_ci", "title": title, "unit": unit, "series": series}))


def demographics_chart(variable: str, counts: dict[str, int]) -> SafeString:
    """A dataset's counts per category of one demographic variable, as shares with no interval."""
    total = sum(counts.values()) or 1
    series = [{"label": k, "value": v / total} for k, v in sorted(counts.items())]
    chart = {
        "kind": "bar_ci",
        "title": variable,
        "unit": "%",
        "y_min": 0,
        "y_max": 1,
        "series": series,
    }
    return mark_safe(bar_ci_svg(chart))


def threshold_of(thresholds: dict[str, Any], check: str, metric: str) -> float | None:
    """The suite's threshold on `check.metric`, drawn as a dashed line."""
    rule = (thresholds.get(check) or {}).get(metric) or {}
    for op in (">=", "<="):
        if isinstance(rule.get(op), int | float):
            return float(rule[op])
    return None


def win_rate_chart(title: str, results: dict[str, Any]) -> SafeString:
    """Each side's win rate among decisive judgments with its Wilson interval, and ties."""
    rates = results["win_rate"]
    labels = results["labels"]
    series = [
        {
            "label": labels[side],
            "value": rates[side]["rate"],
            "ci_low": rates[side]["low"],
            "ci_high": rates[side]["high"],
        }
        for side in ("a", "b")
    ] + [{"label": "ties (share of all)", "value": rates["tie_rate"]}]
    chart = {
        "kind": "bar_ci",
        "title": title,
        "unit": "%",
        "y_min": 0,
        "y_max": 1,
        "series": series,
    }
    return mark_safe(bar_ci_svg(chart))


def criteria_chart(title: str, results: dict[str, Any]) -> SafeString:
    """Mean 1-5 rating per criterion and side, each with its 95 % interval."""
    labels = results["labels"]
    series = []
    for criterion in results["criteria"]["a"]:
        for side in ("a", "b"):
            row = results["criteria"][side][criterion]
            series.append(
                {
                    "label": f"{criterion} · {labels[side]}",
                    "value": row["mean"],
                    "ci_low": row["low"],
                    "ci_high": row["high"],
                }
            )
    chart = {"kind": "bar_ci", "title": title, "unit": "", "y_min": 1, "y_max": 5, "series": series}
    return mark_safe(bar_ci_svg(chart))
