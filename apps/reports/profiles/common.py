"""Facts shared by the profiles, computed from the card context at render time.

Each returns Markdown text, or None when the fact is missing (the field is then marked
missing with its fill hint). Nothing here reads the database.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from apps.registry.constants import ALIGNMENT_TECHNIQUES, HTI1_DEMOGRAPHIC_VARIABLES
from apps.reports.constants import CHECK_TITLES, DATA_ORIGINS, DRIFT_WINDOW_DAYS, GAP_PREFIX

if TYPE_CHECKING:
    from apps.evaluations.models import EvaluationRun
    from apps.registry.models import DatasetVersion
    from apps.reports.document import CardContext, RunFacts

VALIDITY_CHECKS = ("knowledge", "hallucination")
FAIRNESS_CHECKS = ("bias", "multilingual")
# (check, metric) pairs that summarise a check in one line, in this order.
HEADLINE = {
    "knowledge": ("accuracy", "ece", "brier"),
    "hallucination": ("fake_score", "nota_score", "fct_score", "grounded_answer_rate"),
    "bias": ("accuracy_gap_max", "excess_flip_rate_max", "flip_rate_control"),
    "multilingual": ("gap_to_pivot_max", "worst_language_ratio", "consistency"),
}

# Where to fill things, in the words of the portal and the API.
H_DOC = "Model cards → documentation → {} (PATCH /api/v1/model-documentation/<model id>/)"


def h_doc(key: str) -> str:
    return H_DOC.format(key)


def h_model(field: str) -> str:
    return f"Registry → model → {field} (PATCH /api/v1/models/<id>/)"


def h_version(field: str) -> str:
    return f"Registry → model version → {field} (PATCH /api/v1/model-versions/<id>/)"


def source_of(version: Any, model_name: str) -> str:
    """How a card names a model version's weights: a hub id and revision, or, for a local
    model, its registry name, version and weights digest (never a path on our server)."""
    if version.source_kind == "hub":
        return str(version.source)
    digest = version.weights_digest
    weights = f"weights sha256 {digest}" if digest else "weights digest not recorded"
    return f"local model {model_name} {version.version_label} ({weights})"


def text(value: Any) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def doc(ctx: CardContext, key: str) -> str | None:
    value = ctx.documentation.get(key)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or None
    return text(value)


def first(*values: str | None) -> str | None:
    return next((v for v in values if v), None)


def join(*parts: str | None, sep: str = "\n\n") -> str | None:
    kept = [p for p in parts if p]
    return sep.join(kept) if kept else None


def bullets(lines: Iterable[str]) -> str | None:
    lines = list(lines)
    return "\n".join(f"- {line}" for line in lines) if lines else None


# --- numbers -------------------------------------------------------------------------------


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if unit == "p-value":
        return f"{value:.3g}"
    return f"{value:.3f}"


def fmt_ci(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return "—"
    return f"{low:.3f}–{high:.3f}"


def _verdict_index(verdicts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(v.get("metric")): v for v in verdicts or []}


def _metric_key(metric: dict[str, Any]) -> str:
    group = metric.get("group")
    return f"{metric['name']}[{group}]" if group else str(metric["name"])


def results_of(rf: RunFacts) -> list[dict[str, Any]]:
    cached: list[dict[str, Any]] | None = rf.__dict__.get("_results")
    if cached is not None:
        return cached
    out: list[dict[str, Any]] = []
    for check_name in sorted(rf.checks):
        check = rf.checks[check_name]
        verdicts = _verdict_index(check.verdicts)
        for metric in check.metrics or []:
            verdict = verdicts.get(_metric_key(metric))
            out.append(
                {
                    "run": rf.run.pk,
                    "suite": rf.suite_label,
                    "origin": rf.origin,
                    "date": rf.date,
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
    rf.__dict__["_results"] = out
    return out


def results(ctx: CardContext) -> list[dict[str, Any]]:
    """Every metric of the latest runs, as numbers (the machine-readable part of the card)."""
    return [r for rf in ctx.runs for r in results_of(rf)]


def metric(rf: RunFacts, check: str, name: str, group: str | None = None) -> dict[str, Any] | None:
    for r in results_of(rf):
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
    ci = fmt_ci(r["ci_low"], r["ci_high"])
    detail = f"95% CI {ci}, n = {r['n']}{caveat}" if ci != "—" else f"n = {r['n']}{caveat}"
    return f"{r['metric']} {fmt(r['value'], r['unit'])} ({detail}){verdict}"


def headline(rf: RunFacts, checks: Iterable[str]) -> list[str]:
    lines = []
    for check in checks:
        if check not in rf.checks:
            continue
        parts = [describe(m) for name in HEADLINE[check] if (m := metric(rf, check, name))]
        if parts:
            lines.append(f"{CHECK_TITLES.get(check, check)}: " + "; ".join(parts))
    return lines


def performance(ctx: CardContext, checks: tuple[str, ...], origin: str) -> str | None:
    """Validity or fairness measured on data of one origin, from the latest runs."""
    runs = ctx.runs_with(*checks, origin=origin)
    if not runs:
        return None
    blocks = []
    for rf in runs:
        lines = headline(rf, checks)
        if lines:
            blocks.append(f"**{rf.label}**, {rf.run.items_total} items:\n" + bullets(lines))  # type: ignore[operator]
    return "\n\n".join(blocks) or None


def not_performed(ctx: CardContext, key: str) -> str | None:
    reason = doc(ctx, key)
    return f"{GAP_PREFIX}{reason}" if reason else None


def metrics_table(
    ctx: CardContext, checks: Iterable[str], *, table_id: str, title: str, groups: bool = True
) -> dict[str, Any] | None:
    checks = tuple(checks)
    rows = [
        [
            r["suite"] + f" (run {r['run']})",
            CHECK_TITLES.get(r["check"], r["check"]),
            r["metric"],
            r["group"] or "all",
            fmt(r["value"], r["unit"]),
            fmt_ci(r["ci_low"], r["ci_high"]),
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


# --- data ----------------------------------------------------------------------------------


def _dataset_line(dv: DatasetVersion, role: str | None = None) -> str:
    role_text = f" ({role})" if role else ""
    languages = ", ".join(dv.languages or []) or "not stated"
    phi = dv.get_phi_status_display()
    if dv.deidentification_method:
        phi += f" ({dv.deidentification_method})"
    return (
        f"**{dv.dataset.name} v{dv.version}**{role_text}: {dv.row_count:,} rows, "
        f"format {dv.format}, languages {languages}; PHI: {phi}; licence {dv.licence}; "
        f"provenance: {dv.provenance.strip()}; sha256 `{dv.sha256[:16]}…`"
    )


def training_links(ctx: CardContext) -> list[Any]:
    return [link for link in ctx.training_links if link.role != "evaluation"]


def datasheets(ctx: CardContext) -> str | None:
    lines = [
        _dataset_line(link.dataset_version, link.get_role_display()) for link in training_links(ctx)
    ]
    return join(bullets(lines), doc(ctx, "training_data_description"))


def training_criteria(ctx: CardContext) -> str | None:
    lines = []
    for link in training_links(ctx):
        dv = link.dataset_version
        if dv.inclusion_criteria or dv.exclusion_criteria:
            lines.append(
                f"**{dv.dataset.name} v{dv.version}** — inclusion: "
                f"{dv.inclusion_criteria.strip() or 'not stated'}; exclusion: "
                f"{dv.exclusion_criteria.strip() or 'not stated'}"
            )
    return join(bullets(lines), doc(ctx, "training_data_criteria"))


def demographics(versions: Iterable[DatasetVersion], variables: Iterable[str] | None) -> str | None:
    """Representativeness by HTI-1 variable: share of each category, per dataset."""
    wanted = list(variables) if variables else list(HTI1_DEMOGRAPHIC_VARIABLES)
    lines = []
    for dv in versions:
        for variable in wanted:
            counts = (dv.demographics or {}).get(variable)
            if not counts:
                continue
            total = sum(int(c) for c in counts.values()) or 1
            ordered = sorted(counts.items(), key=lambda kv: (-int(kv[1]), str(kv[0])))
            shares = ", ".join(f"{k} {100 * int(c) / total:.0f}%" for k, c in ordered)
            label = HTI1_DEMOGRAPHIC_VARIABLES.get(variable, variable)
            lines.append(f"{dv.dataset.name} v{dv.version} — {label}: {shares} (n = {total:,})")
    return bullets(lines)


def demographic_features(ctx: CardContext) -> str | None:
    value = ctx.documentation.get("demographic_input_features")
    if value is None:
        return None
    if not value:
        return "None of the HTI-1 demographic variables is used as an input feature."
    labels = [HTI1_DEMOGRAPHIC_VARIABLES.get(v, v) for v in value]
    return "Used as input features: " + ", ".join(labels) + "."


def training_demographics(ctx: CardContext) -> str | None:
    features = ctx.documentation.get("demographic_input_features") or None
    found = demographics([link.dataset_version for link in training_links(ctx)], features)
    return join(found, doc(ctx, "training_demographics_statement"))


def origin_datasets(ctx: CardContext, origin: str) -> list[DatasetVersion]:
    seen: dict[int, DatasetVersion] = {}
    for rf in ctx.runs:
        if rf.origin == origin:
            for dv in rf.datasets:
                seen.setdefault(dv.pk, dv)
    return list(seen.values())


def testing_data(ctx: CardContext, checks: tuple[str, ...]) -> str | None:
    lines = []
    for rf in ctx.runs_with(*checks):
        origin = DATA_ORIGINS.get(rf.origin or "", "origin not classified")
        names = "; ".join(_dataset_line(dv) for dv in rf.datasets) or "no datasets recorded"
        lines.append(f"{rf.label} — {origin}: {names}")
    return bullets(lines)


def unclassified_suites(ctx: CardContext) -> list[str]:
    return sorted({rf.suite_name for rf in ctx.runs if rf.origin is None})


# --- process -------------------------------------------------------------------------------

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
    return bullets(lines)


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
    return join(head, bullets(lines))


def version_history(ctx: CardContext) -> str | None:
    versions = ctx.versions
    if not versions:
        return None
    lines = [
        f"{v.version_label} — registered {v.created_at.date().isoformat()}, "
        f"stage {v.get_lifecycle_stage_display()}, source {source_of(v, ctx.model.name)}"
        for v in versions
    ]
    gaps = [
        (b.created_at - a.created_at) / timedelta(days=1)
        for a, b in zip(versions, versions[1:], strict=False)
    ]
    head = f"{len(versions)} version(s) registered"
    if gaps:
        head += f"; median interval between versions {statistics.median(gaps):.0f} days"
    return join(head + ".", bullets(lines))


def development_methods(ctx: CardContext) -> str | None:
    version = ctx.version
    techniques = [ALIGNMENT_TECHNIQUES.get(t, t) for t in version.alignment_techniques or []]
    if not version.base_model and not techniques:
        return None
    return join(
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
    for rf in ctx.runs:
        manifest = rf.run.manifest or {}
        # A run's manifest sums its shards' seconds; older manifests only list the shards.
        parts = [manifest] if "gpu_seconds" in manifest else manifest.get("shards") or []
        gpu += sum(float(p.get("gpu_seconds") or 0) for p in parts if isinstance(p, dict))
        cpu += sum(float(p.get("cpu_seconds") or 0) for p in parts if isinstance(p, dict))
        items += rf.run.items_done or rf.run.items_total
    return gpu, cpu, items


def computational_resources(ctx: CardContext) -> str | None:
    if not ctx.runs:
        return None
    gpu, cpu, items = compute_used(ctx)
    devices = sorted(
        {
            str((rf.run.manifest or {}).get("device", {}).get("name") or "not recorded")
            for rf in ctx.runs
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
    return join(
        f"**${money:,.4f} per 1,000 uses** (USD).",
        bullets(
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
    measures = doc(ctx, "human_oversight_measures")
    if not measures:
        return None
    return f"Decision role: {ctx.model.get_decision_role_display()}. {measures}"


# --- sign-offs and audit ------------------------------------------------------------------


def signed_test_reports(ctx: CardContext) -> str | None:
    """Test reports dated and signed by the responsible persons (current, not stale)."""
    lines = [
        f"{s['signer_name']} — {s['meaning']} — {s['signed_at']}"
        + (f" — {s['stage']}" if s.get("stage") else "")
        + f" — record sha256 `{str(s['record_digest'])[:16]}…`"
        for s in ctx.signatures
        if s.get("current") and s.get("meaning") in ("approved", "reviewed")
    ]
    return bullets(lines)


def stakeholders_consulted(ctx: CardContext) -> str | None:
    """Who signed off, in what role, at which stage, and whether the signature is current."""
    lines = [
        f"{s['signer_name']} ({s.get('signer_role') or 'stakeholder'}) — {s['meaning']}"
        + (f" {s['subject']}" if s.get("subject") else "")
        + (f" at stage {s['stage']}" if s.get("stage") else "")
        + f" on {str(s['signed_at'])[:10]}"
        + ("" if s.get("current") else " (stale: the record changed after signing)")
        for s in ctx.signatures
    ]
    return bullets(lines)


def operational_logging(ctx: CardContext) -> str | None:
    """Art. 12: the AI system's own logs in operation, as the organisation documents them."""
    return doc(ctx, "operational_logging")


def logging_arrangements(ctx: CardContext) -> str | None:
    """The provider's record-keeping in CareAlign (not the system's Art. 12 logs)."""
    audit = ctx.audit
    if audit.get("chain_head_hash") is None and not audit.get("event_count"):
        return None
    return (
        "Every change to the registry, evaluations, documentation and cards, every sign-off, "
        "download and verification is recorded automatically in an append-only, hash-chained "
        "audit trail (who, what, when, which object, before and after); the database refuses "
        "updates and deletions, and the chain can be re-verified on demand. "
        f"At generation: {audit.get('event_count', 0):,} events for this organisation, chain "
        f"head #{audit.get('chain_head_sequence')} sha256 `{audit.get('chain_head_hash')}`."
    )
