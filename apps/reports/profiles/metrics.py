"""The latest runs' metrics on a card: the numbers, their verdicts and how they read."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from apps.reports.constants import CHECK_TITLES, GAP_PREFIX
from apps.reports.profiles import prose

if TYPE_CHECKING:
    from apps.reports.context import CardContext, RunFacts


VALIDITY_CHECKS = ("knowledge", "hallucination")


FAIRNESS_CHECKS = ("bias", "multilingual")


# (check, metric) pairs that summarise a check in one line, in this order.
HEADLINE = {
    "knowledge": ("accuracy", "ece", "brier"),
    "hallucination": ("fake_score", "nota_score", "fct_score", "grounded_answer_rate"),
    "bias": ("accuracy_gap_max", "excess_flip_rate_max", "flip_rate_control"),
    "multilingual": ("gap_to_pivot_max", "worst_language_ratio", "consistency"),
}


def number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if unit == "p-value":
        return f"{value:.3g}"
    return f"{value:.3f}"


def interval(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return "—"
    return f"{low:.3f}–{high:.3f}"


def _verdict_index(verdicts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(v.get("metric")): v for v in verdicts or []}


def _metric_key(metric: dict[str, Any]) -> str:
    group = metric.get("group")
    return f"{metric['name']}[{group}]" if group else str(metric["name"])


def results_of(run_facts: RunFacts) -> list[dict[str, Any]]:
    cached: list[dict[str, Any]] | None = run_facts.__dict__.get("_results")
    if cached is not None:
        return cached
    out: list[dict[str, Any]] = []
    for check_name in sorted(run_facts.checks):
        check = run_facts.checks[check_name]
        verdicts = _verdict_index(check.verdicts)
        for metric in check.metrics or []:
            verdict = verdicts.get(_metric_key(metric))
            out.append(
                {
                    "run": run_facts.run.pk,
                    "suite": run_facts.suite_label,
                    "origin": run_facts.origin,
                    "date": run_facts.date,
                    "check": check_name,
                    "metric": metric["name"],
                    "group": metric.get("group"),
                    "value": metric.get("value"),
                    "ci_low": metric.get("ci_low"),
                    "ci_high": metric.get("ci_high"),
                    "n": int(metric.get("n") or 0),
                    "level": float(metric.get("level") or 0.95),
                    "unit": metric.get("unit") or "",
                    "verdict": verdict.get("verdict") if verdict else None,
                    "threshold": (
                        f"{verdict['op']} {verdict['threshold']}"
                        if verdict and "op" in verdict
                        else None
                    ),
                }
            )
    run_facts.__dict__["_results"] = out
    return out


def results(ctx: CardContext) -> list[dict[str, Any]]:
    """Every metric of the latest runs, as numbers (the machine-readable part of the card)."""
    return [r for run_facts in ctx.runs for r in results_of(run_facts)]


def metric(
    run_facts: RunFacts, check: str, name: str, group: str | None = None
) -> dict[str, Any] | None:
    for r in results_of(run_facts):
        if r["check"] == check and r["metric"] == name and r["group"] == group:
            return r
    return None


VERDICT_TEXT = {
    "pass": "**pass**",
    "fail": "**FAIL**",
    # Not a pass: the interval spans the threshold, or too little data to tell.
    "inconclusive": "*inconclusive — the interval spans the threshold*",
    "insufficient_data": "*insufficient data — too few items to decide*",
    "not_evaluated": "*not evaluated*",
}


SMALL_N = 30


def overall_verdict(verdicts: list[str]) -> str:
    """A run's verdict over its checks: any fail fails; a pass needs every check to pass."""
    for state in ("fail", "inconclusive", "insufficient_data", "incomplete"):
        if state in verdicts:
            return state.replace("_", " ")
    return "pass" if verdicts and all(v == "pass" for v in verdicts) else "not evaluated"


def describe(r: dict[str, Any]) -> str:
    """'accuracy 0.620 (95% CI 0.550–0.690, n = 180) — **pass** (>= 0.6)'."""
    verdict = ""
    if r.get("verdict"):
        shown = VERDICT_TEXT.get(r["verdict"], f"**{r['verdict']}**")
        verdict = f" — {shown} ({r['threshold']})" if r.get("threshold") else f" — {shown}"
    caveat = f"; fewer than {SMALL_N} items" if 0 < r["n"] < SMALL_N else ""
    if r["value"] is None:
        return f"{r['metric']} not evaluated (n = {r['n']}){verdict}"
    ci = interval(r["ci_low"], r["ci_high"])
    detail = f"95% CI {ci}, n = {r['n']}{caveat}" if ci != "—" else f"n = {r['n']}{caveat}"
    return f"{r['metric']} {number(r['value'], r['unit'])} ({detail}){verdict}"


def headline(run_facts: RunFacts, checks: Iterable[str]) -> list[str]:
    lines = []
    for check in checks:
        if check not in run_facts.checks:
            continue
        parts = [describe(m) for name in HEADLINE[check] if (m := metric(run_facts, check, name))]
        if parts:
            lines.append(f"{CHECK_TITLES.get(check, check)}: " + "; ".join(parts))
    return lines


def performance(ctx: CardContext, checks: tuple[str, ...], origin: str) -> str | None:
    """Validity or fairness measured on data of one origin, from the latest runs."""
    runs = ctx.runs_with(*checks, origin=origin)
    if not runs:
        return None
    blocks = []
    for run_facts in runs:
        lines = headline(run_facts, checks)
        if lines:
            blocks.append(
                f"**{run_facts.label}**, {run_facts.run.items_total} items:\n"
                + (prose.bullets(lines) or "")
            )
    return "\n\n".join(blocks) or None


def not_performed(ctx: CardContext, key: str) -> str | None:
    reason = prose.documented(ctx, key)
    return f"{GAP_PREFIX}{reason}" if reason else None


def table(
    ctx: CardContext, checks: Iterable[str], *, table_id: str, title: str, groups: bool = True
) -> dict[str, Any] | None:
    checks = tuple(checks)
    rows = [
        [
            r["suite"] + f" (run {r['run']})",
            CHECK_TITLES.get(r["check"], r["check"]),
            r["metric"],
            r["group"] or "all",
            number(r["value"], r["unit"]),
            interval(r["ci_low"], r["ci_high"]),
            str(r["n"]),
            r["verdict"],
        ]
        for r in results(ctx)
        if r["check"] in checks and (groups or not r["group"])
    ]
    if not rows:
        return None
    return {
        "id": table_id,
        "title": title,
        "caption": "Latest succeeded run of each suite on this model version; "
        "95% bootstrap confidence intervals.",
        "columns": ["Suite", "Check", "Metric", "Group", "Value", "95% CI", "n", "Verdict"],
        "rows": rows,
    }
