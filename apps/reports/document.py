"""The card document: one JSON-serialisable dict per card, built from a loaded context.

`selectors.card_context_load` does every database read (a fixed number of queries, whatever
the number of runs, checks and items); everything here is pure computation over the context,
so the quantitative fields are always computed at render time and never stored as text.
"""

from __future__ import annotations

import functools
import re
import tomllib
from datetime import datetime
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

from django.conf import settings

from apps.common.text import strip_bidi_values
from apps.reports.constants import SCHEMA_VERSION
from apps.reports.profiles import PROFILES, data, lifecycle, metrics, prose
from apps.reports.profiles.base import build_sections, completeness
from apps.reports.profiles.consistency import contradictions

if TYPE_CHECKING:
    from apps.registry.models import ModelVersion
    from apps.reports.context import CardContext
    from apps.reports.models import ModelCard


def neutralise(value: Any) -> Any:
    """Every string inside `value` without bidirectional controls (apps.common.text)."""
    return strip_bidi_values({"v": value})["v"]


@functools.cache
def software_id() -> str:
    """The producing application, for CHAI's chaiMcSoftwareId: 'CareAlign <version>'."""
    try:
        with (Path(settings.BASE_DIR) / "pyproject.toml").open("rb") as handle:
            version = tomllib.load(handle)["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        version = "unknown"
    return f"CareAlign {version}"


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


# long: the card document as one literal, key by key in the order of its JSON schema
def document_build(
    *, card: ModelCard, ctx: CardContext, status: str, issued_by: str | None = None
) -> dict[str, Any]:
    """Return the card document for `card` in its profile, with the given status."""
    profile = PROFILES[card.profile]
    sections = build_sections(profile, ctx)
    model, version = ctx.model, ctx.version
    latest = ctx.runs[0] if ctx.runs else None
    hub = hub_metadata(ctx)
    status_of = completeness(sections, contradictions(ctx))
    # The README's Hub keys the registry cannot fill are gaps of the card, listed with them.
    status_of["gaps"] += [
        {
            "section": "hub_metadata",
            "field": key,
            "label": f"Hugging Face README metadata: {key}",
            "declared": False,
        }
        for key in hub["missing"]
    ]
    document: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "card": {
            "id": str(card.pk),
            "version": card.version,
            "status": status,
            "profile": profile.key,
            "profile_title": profile.title,
            "profile_reference": profile.reference,
            "generated_at": iso(ctx.now),
            "issued_at": iso(ctx.now) if status == "issued" else None,
            "issued_by": issued_by,
            "software_id": software_id(),
        },
        "organization": {
            "name": ctx.organization.name,
            "slug": ctx.organization.slug,
            "kind": ctx.organization.kind,
        },
        "model": {
            "id": model.pk,
            "name": model.name,
            "intended_use": model.intended_use,
            "intended_users": model.intended_users,
            "target_population": model.target_population,
            "decision_role": model.decision_role,
            "out_of_scope_uses": model.out_of_scope_uses,
            "application_area": model.application_area,
            "risk_class": model.risk_class,
        },
        "model_version": {
            "id": version.pk,
            "version_label": version.version_label,
            "source_kind": version.source_kind,
            "source": prose.source_of(version, model.name),
            "weights_digest": version.weights_digest,
            "base_model": version.base_model,
            "alignment_techniques": list(version.alignment_techniques or []),
            "lifecycle_stage": version.lifecycle_stage,
            "created_at": iso(version.created_at),
        },
        "sections": sections,
        "results": metrics.results(ctx),
        "signatures": list(ctx.signatures),
        "completeness": status_of,
        "hub": hub,
        "manifest": _manifest(latest.run, version, model.name) if latest else None,
        "audit": dict(ctx.audit),
    }
    # Registry text was typed before bidi controls were refused at input: none reaches a card.
    neutral: dict[str, Any] = neutralise(document)
    if version.source_kind != "hub" and version.source:
        # Belt and braces: the server path of a local model never appears on a card.
        label = prose.source_of(version, model.name)
        neutral = _replace_text(neutral, str(version.source), label)
    return neutral


_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[\w.-]{1,96}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


def hub_metadata(ctx: CardContext) -> dict[str, Any]:
    """The Hugging Face metadata keys, from the registry; those it cannot fill are named."""
    datasets = [link.dataset_version for link in data.training_links(ctx)]
    evaluated = [dv for run_facts in ctx.runs for dv in run_facts.datasets]
    languages = sorted(
        {str(lang) for dv in datasets + evaluated for lang in dv.languages or []}
        if datasets + evaluated
        else set()
    )
    base = ctx.version.base_model.strip()
    licence = str(ctx.documentation.get("model_license") or "").strip()
    hub: dict[str, Any] = {
        "license": licence or None,
        "language": [lang for lang in languages if _LANGUAGE.match(lang)],
        "datasets": sorted({dv.dataset.name for dv in datasets}),
        "metrics": sorted({str(r["metric"]) for r in metrics.results(ctx)}),
        # A base model named in words (not a Hub id) cannot go in `base_model`.
        "base_model": base if _HUB_ID.match(base) else None,
        "pipeline_tag": "text-generation",  # every registered model is a generative LLM
        "library_name": "transformers",  # what the engine loads it with
    }
    hub["missing"] = [k for k, v in hub.items() if v in (None, [])]
    return hub


def _manifest(run: Any, version: ModelVersion, model_name: str) -> dict[str, Any]:
    manifest = lifecycle.manifest_of(run)
    if version.source_kind != "hub" and version.source:
        manifest = _replace_text(
            manifest, str(version.source), prose.source_of(version, model_name)
        )
    scrubbed: dict[str, Any] = scrub_paths(manifest)
    return scrubbed


_ABSOLUTE_PATH = re.compile(r"^(/|~/|[A-Za-z]:[\\/]|\\\\)")


def scrub_paths(value: Any, key: str = "") -> Any:
    """A manifest without server paths: 'path' entries go, absolute paths keep their name."""
    if isinstance(value, dict):
        return {k: scrub_paths(v, str(k)) for k, v in value.items() if str(k) != "path"}
    if isinstance(value, list):
        return [scrub_paths(v, key) for v in value]
    if isinstance(value, str) and _ABSOLUTE_PATH.match(value):
        return f"(server path withheld: {PurePath(value).name})"
    return value


def _replace_text(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, dict):
        return {k: _replace_text(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_text(v, old, new) for v in value]
    return value
