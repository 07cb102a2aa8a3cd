"""Contradictions between what the documentation claims and what the registry and the
evaluations hold. Each is listed in the completeness report and blocks issuing until the
data is fixed or the contradiction is explained (documentation `consistency_explanations`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from apps.registry.constants import ALIGNMENT_TECHNIQUES
from apps.reports.profiles import data, hints, metrics, prose

if TYPE_CHECKING:
    from apps.reports.context import CardContext

HINT = (
    "Fix the documentation or the registry, or explain it in "
    + hints.documentation("consistency_explanations")
    + ' as {"<id>": "<why>"}'
)
_RETRIEVAL = re.compile(r"\b(retriev\w*|RAG)\b", re.IGNORECASE)
_PREFERENCE = re.compile(r"\b(DPO|RLHF)\b")
# technique -> training dataset roles that would show it happened
_TECHNIQUE_ROLES = {
    "domain_pretraining": ("pretraining",),
    "instruction_tuning": ("fine_tuning",),
    "peft_lora": ("fine_tuning",),
    "rlhf": ("preference",),
    "dpo": ("preference",),
}


def _training_origin(ctx: CardContext) -> list[tuple[str, str]]:
    same = sorted(
        run_facts.suite_name for run_facts in ctx.runs if run_facts.origin == "same_source"
    )
    if same and not data.training_links(ctx):
        return [
            (
                "training-data-origin",
                f"Suite(s) {', '.join(same)} are documented as 'same source as the training "
                "data', but no training dataset is registered for this version.",
            )
        ]
    return []


def _demographic_inputs(ctx: CardContext) -> list[tuple[str, str]]:
    declared = ctx.documentation.get("demographic_input_features")
    if declared is None:
        return []
    attributes = sorted(
        {
            str(r["group"]).split("=")[0]
            for run_facts in ctx.runs_with("bias")
            for r in metrics.results_of(run_facts)
            if r["check"] == "bias" and r["group"]
        }
        - set(declared)
    )
    if not attributes:
        return []
    said = "no demographic variable" if not declared else ", ".join(declared) + " only"
    return [
        (
            "demographic-inputs",
            f"The documentation says {said} is used as an input feature (HTI-1 "
            "§ 170.315(b)(11)(iv)(B)(4)(ii)), but the bias check's vignettes put "
            f"{', '.join(attributes)} in the prompt.",
        )
    ]


def _alignment(ctx: CardContext) -> list[tuple[str, str]]:
    found = []
    techniques = list(ctx.version.alignment_techniques or [])
    roles = {link.role for link in data.training_links(ctx)}
    for technique in techniques:
        needed = _TECHNIQUE_ROLES.get(technique)
        if needed and not roles.intersection(needed):
            found.append(
                (
                    f"alignment-{technique}",
                    f"The model version records {ALIGNMENT_TECHNIQUES.get(technique, technique)}"
                    f", but no {'/'.join(needed)} dataset is registered for this version.",
                )
            )
    texts = " ".join(
        prose.documented(ctx, k) or ""
        for k in ("input_data_source", "system_architecture", "model_type", "design_specifications")
    )
    if "rag" in techniques and not _RETRIEVAL.search(texts):
        found.append(
            (
                "alignment-rag",
                "The model version records retrieval-augmented generation, but the "
                "documentation describes no retrieval (input data source, architecture, type).",
            )
        )
    claims = " ".join(
        prose.documented(ctx, k) or ""
        for k in ("bias_mitigation_approaches", "model_type", "summary")
    )
    if _PREFERENCE.search(claims) and not {"rlhf", "dpo"}.intersection(techniques):
        found.append(
            (
                "alignment-preference",
                "The documentation mentions RLHF/DPO, but the model version records neither.",
            )
        )
    return found


def contradictions(ctx: CardContext) -> list[dict[str, Any]]:
    """Every contradiction, with its explanation when the organisation gave one."""
    explanations = ctx.documentation.get("consistency_explanations") or {}
    found = _training_origin(ctx) + _demographic_inputs(ctx) + _alignment(ctx)
    return [
        {
            "id": cid,
            "message": message,
            "explained": bool(explanations.get(cid)),
            "explanation": explanations.get(cid) or None,
            "fill_hint": HINT,
        }
        for cid, message in found
    ]
