"""How the model is kept up: schedules, drift, versions, methods, compute and its cost."""

from __future__ import annotations

import statistics
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from apps.registry.constants import ALIGNMENT_TECHNIQUES
from apps.reports.constants import CHECK_TITLES, DRIFT_WINDOW_DAYS
from apps.reports.profiles import prose

if TYPE_CHECKING:
    from apps.evaluations.models import EvaluationRun
    from apps.reports.context import CardContext


_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]


def describe_cron(cron: str) -> str:
    """A plain-English frequency for the common five-field crons; the cron itself otherwise."""
    parts = cron.split()
    if len(parts) != 5:
        return f"cron `{cron}`"
    minute, hour, dom, month, dow = parts
    if not (minute.isdigit() and hour.isdigit()):
        return f"cron `{cron}`"
    at = f"{int(hour):02d}:{int(minute):02d}"
    if dom == "*" and month == "*" and dow == "*":
        return f"daily at {at}"
    if dom == "*" and month == "*" and dow.isdigit() and int(dow) <= 7:
        return f"weekly on {_DAYS[int(dow) % 7]} at {at}"
    if dom.isdigit() and month == "*" and dow == "*":
        return f"monthly on day {dom} at {at}"
    return f"cron `{cron}` ({at})"


def monitoring(ctx: CardContext, checks: tuple[str, ...]) -> str | None:
    """How and how often the checks are re-run, from the live schedules."""
    lines = []
    for schedule in ctx.schedules:
        suite = schedule.suite
        covered = [c for c in suite.checks if c in checks]
        if not covered or not schedule.enabled:
            continue
        target = (
            "the version in deployment"
            if schedule.target == "deployed"
            else f"version {schedule.model_version.version_label}"  # type: ignore[union-attr]
        )
        runs = ctx.schedule_run_counts.get(schedule.pk, 0)
        tolerance = suite.drift_tolerance or {}
        tol = ", ".join(f"{k} {v}" for k, v in sorted(tolerance.items())) or "not set"
        lines.append(
            f"Schedule *{schedule.name}*: suite {suite.name} v{suite.version} "
            f"({', '.join(CHECK_TITLES.get(c, c) for c in covered)}) on {target}, "
            f"{describe_cron(schedule.cron)} ({schedule.cron_timezone}), cron `{schedule.cron}`; "
            f"{runs} run(s) in the last {DRIFT_WINDOW_DAYS} days; drift tolerance: {tol}. "
            "A drop beyond tolerance or a newly failed threshold raises a drift alert."
        )
    return prose.bullets(lines)


def drift(ctx: CardContext) -> str | None:
    alerts = ctx.drift_alerts
    if not ctx.schedules and not alerts:
        return None
    if not alerts:
        return f"No drift alert in the last {DRIFT_WINDOW_DAYS} days."
    acked = [a for a in alerts if a.acknowledged_at]
    hours = [(a.acknowledged_at - a.created_at).total_seconds() / 3600 for a in acked]  # type: ignore[operator]
    median = f"; median time to acknowledge {statistics.median(hours):.1f} h" if hours else ""
    lines = [
        f"{a.created_at.date().isoformat()}: {a.message}"
        + (" (acknowledged)" if a.acknowledged_at else " (open)")
        for a in alerts[:10]
    ]
    head = (
        f"{len(alerts)} drift alert(s) in the last {DRIFT_WINDOW_DAYS} days, "
        f"{len(alerts) - len(acked)} open{median}."
    )
    return prose.join(head, prose.bullets(lines))


def version_history(ctx: CardContext) -> str | None:
    versions = ctx.versions
    if not versions:
        return None
    lines = [
        f"{v.version_label} — registered {v.created_at.date().isoformat()}, "
        f"stage {v.get_lifecycle_stage_display()}, source {prose.source_of(v, ctx.model.name)}"
        for v in versions
    ]
    gaps = [
        (b.created_at - a.created_at) / timedelta(days=1)
        for a, b in zip(versions, versions[1:], strict=False)
    ]
    head = f"{len(versions)} version(s) registered"
    if gaps:
        head += f"; median interval between versions {statistics.median(gaps):.0f} days"
    return prose.join(head + ".", prose.bullets(lines))


def development_methods(ctx: CardContext) -> str | None:
    version = ctx.version
    techniques = [ALIGNMENT_TECHNIQUES.get(t, t) for t in version.alignment_techniques or []]
    if not version.base_model and not techniques:
        return None
    return prose.join(
        f"Base (pre-trained) model: {version.base_model or 'none (trained from scratch)'}.",
        f"Alignment and adaptation techniques: {', '.join(techniques) or 'none'}.",
        sep=" ",
    )


def manifest_of(run: EvaluationRun) -> dict[str, Any]:
    return dict(run.manifest or {})


def compute_used(ctx: CardContext) -> tuple[float, float, int]:
    """GPU-seconds, CPU-seconds and items of the latest runs, from their manifests."""
    gpu = cpu = 0.0
    items = 0
    for run_facts in ctx.runs:
        manifest = run_facts.run.manifest or {}
        # A run's manifest sums its shards' seconds; older manifests only list the shards.
        parts = [manifest] if "gpu_seconds" in manifest else manifest.get("shards") or []
        gpu += sum(float(p.get("gpu_seconds") or 0) for p in parts if isinstance(p, dict))
        cpu += sum(float(p.get("cpu_seconds") or 0) for p in parts if isinstance(p, dict))
        items += run_facts.run.items_done or run_facts.run.items_total
    return gpu, cpu, items


def computational_resources(ctx: CardContext) -> str | None:
    if not ctx.runs:
        return None
    gpu, cpu, items = compute_used(ctx)
    devices = sorted(
        {
            str((run_facts.run.manifest or {}).get("device", {}).get("name") or "not recorded")
            for run_facts in ctx.runs
        }
    )
    return (
        f"Evaluation of this version: {items:,} items, {gpu:,.1f} GPU-seconds, "
        f"{cpu:,.1f} CPU-seconds on {', '.join(devices)} (from the runs' manifests)."
    )


def _price(ctx: CardContext, key: str, default: float) -> tuple[float, str]:
    value = ctx.documentation.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value), "this model's documentation"
    return default, "the deployment's default price"


def cost_per_1000(ctx: CardContext) -> str | None:
    """Money per 1,000 uses, from the compute the latest runs measured and configured prices."""
    from django.conf import settings

    gpu, cpu, items = compute_used(ctx)
    if not items:
        return None
    gpu_price, gpu_from = _price(ctx, "gpu_hour_cost_usd", settings.CAREALIGN_GPU_HOUR_PRICE_USD)
    cpu_price, cpu_from = _price(ctx, "cpu_hour_cost_usd", settings.CAREALIGN_CPU_HOUR_PRICE_USD)
    per_gpu_h = 1000 * gpu / items / 3600
    per_cpu_h = 1000 * cpu / items / 3600
    money = per_gpu_h * gpu_price + per_cpu_h * cpu_price
    return prose.join(
        f"**${money:,.4f} per 1,000 uses** (USD).",
        prose.bullets(
            [
                f"Compute per 1,000 uses: {per_gpu_h:,.4f} GPU-hours and {per_cpu_h:,.4f} "
                f"CPU-hours, measured over {items:,} evaluated items of the latest runs "
                "(their manifests' GPU-seconds and CPU-seconds).",
                f"Prices: ${gpu_price:,.2f} per GPU-hour ({gpu_from}); ${cpu_price:,.2f} per "
                f"CPU-hour ({cpu_from}).",
                "Assumption: one use is one answer of the model, costed like one evaluated "
                "item (prompt and answer options scored once); hosting, staff time and "
                "licences are not included.",
            ]
        ),
    )


def oversight(ctx: CardContext) -> str | None:
    measures = prose.documented(ctx, "human_oversight_measures")
    if not measures:
        return None
    return f"Decision role: {ctx.model.get_decision_role_display()}. {measures}"
