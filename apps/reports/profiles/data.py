"""The datasets behind a card: training and testing data, criteria and demographics."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from apps.registry.constants import HTI1_DEMOGRAPHIC_VARIABLES
from apps.reports.constants import DATA_ORIGINS
from apps.reports.profiles import prose

if TYPE_CHECKING:
    from apps.registry.models import DatasetVersion
    from apps.reports.context import CardContext


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
    return prose.join(prose.bullets(lines), prose.documented(ctx, "training_data_description"))


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
    return prose.join(prose.bullets(lines), prose.documented(ctx, "training_data_criteria"))


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
    return prose.bullets(lines)


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
    return prose.join(found, prose.documented(ctx, "training_demographics_statement"))


def origin_datasets(ctx: CardContext, origin: str) -> list[DatasetVersion]:
    seen: dict[int, DatasetVersion] = {}
    for run_facts in ctx.runs:
        if run_facts.origin == origin:
            for dv in run_facts.datasets:
                seen.setdefault(dv.pk, dv)
    return list(seen.values())


def testing_data(ctx: CardContext, checks: tuple[str, ...]) -> str | None:
    lines = []
    for run_facts in ctx.runs_with(*checks):
        origin = DATA_ORIGINS.get(run_facts.origin or "", "origin not classified")
        names = "; ".join(_dataset_line(dv) for dv in run_facts.datasets) or "no datasets recorded"
        lines.append(f"{run_facts.label} — {origin}: {names}")
    return prose.bullets(lines)


def unclassified_suites(ctx: CardContext) -> list[str]:
    return sorted({run_facts.suite_name for run_facts in ctx.runs if run_facts.origin is None})
