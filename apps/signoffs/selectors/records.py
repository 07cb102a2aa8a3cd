"""The canonical JSON of a signed record, version `carealign-record/1`, and its SHA-256.

A signature is bound to the digest of this text (21 CFR 11.70). The text is

    {"canonical": "carealign-record/1", "type": <target type>, "id": "<primary key>",
     "content": {...}}

serialised as JSON with keys sorted, no whitespace (separators "," and ":"), UTF-8 without
escaping non-ASCII, no NaN or infinity; times as ISO 8601 in UTC; floats as Python's shortest
round-tripping repr. `content` holds what the signer vouches for, per type:

- dataset_version: dataset id and name, version number, file SHA-256, size, format, row count,
  languages, specialties, tasks, PHI status, de-identification method, licence, provenance,
  inclusion and exclusion criteria, demographics;
- model_version: model id, name, intended use, decision role and risk class; version label,
  source kind, hub id, revision, local path, weights digest, base model, alignment techniques,
  training datasets (version id, file SHA-256, role) — not its lifecycle stage, which the
  gates move;
- evaluation_run: suite id and version, model version id, status, verdict, seed, the SHA-256
  of the canonical manifest, and every check's verdict, threshold verdicts and metrics;
- model_card: profile, card version, model version id, the SHA-256 of the canonical document
  and of each stored file — not its status (a newer issue supersedes it without changing it).

A change to any of these makes the signature stale. A new version of this format gets a new
name; signatures keep the name they were computed with (`canonical_version`).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from django.db import models

from apps.evaluations.models import EvaluationRun
from apps.registry.models import DatasetVersion, ModelVersion
from apps.reports.models import ModelCard
from apps.signoffs.constants import CANONICAL_VERSION, TargetType


def canonical_bytes(value: Any) -> bytes:
    """The canonical JSON encoding (sorted keys, no whitespace, UTF-8)."""
    return json.dumps(
        _plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _sha(value: Any) -> str:
    return hashlib.sha256(canonical_bytes(value)).hexdigest()


def _dataset_version(dv: DatasetVersion) -> dict[str, Any]:
    return {
        "dataset_id": dv.dataset_id,
        "dataset": dv.dataset.name,
        "version": dv.version,
        "sha256": dv.sha256,
        "size_bytes": dv.size_bytes,
        "format": dv.format,
        "row_count": dv.row_count,
        "languages": dv.languages,
        "specialties": dv.specialties,
        "tasks": dv.tasks,
        "phi_status": dv.phi_status,
        "deidentification_method": dv.deidentification_method,
        "licence": dv.licence,
        "provenance": dv.provenance,
        "inclusion_criteria": dv.inclusion_criteria,
        "exclusion_criteria": dv.exclusion_criteria,
        "demographics": dv.demographics,
    }


def _model_version(mv: ModelVersion) -> dict[str, Any]:
    model = mv.model
    links = mv.dataset_links.select_related("dataset_version").order_by(
        "dataset_version_id", "role"
    )
    return {
        "model_id": model.pk,
        "model": model.name,
        "intended_use": model.intended_use,
        "decision_role": model.decision_role,
        "risk_class": model.risk_class,
        "version_label": mv.version_label,
        "source_kind": mv.source_kind,
        "hub_id": mv.hub_id,
        "revision": mv.revision,
        "local_path": mv.local_path,
        "weights_digest": mv.weights_digest,
        "base_model": mv.base_model,
        "alignment_techniques": mv.alignment_techniques,
        "training_datasets": [
            {
                "dataset_version_id": link.dataset_version_id,
                "sha256": link.dataset_version.sha256,
                "role": link.role,
            }
            for link in links
        ],
    }


def _evaluation_run(run: EvaluationRun) -> dict[str, Any]:
    return {
        "suite_id": run.suite_id,
        "suite_version": run.suite.version,
        "model_version_id": run.model_version_id,
        "status": run.status,
        "verdict": run.verdict,
        "seed": run.seed,
        "manifest_sha256": _sha(run.manifest),
        "checks": [
            {
                "check": check.check_name,
                "verdict": check.verdict,
                "verdicts": check.verdicts,
                "metrics": check.metrics,
            }
            for check in run.check_results.order_by("check_name")
        ],
    }


def _model_card(card: ModelCard) -> dict[str, Any]:
    return {
        "profile": card.profile,
        "version": card.version,
        "model_version_id": card.model_version_id,
        "document_sha256": _sha(card.document),
        "files": {
            "pdf": card.pdf_sha256,
            "json": card.json_sha256,
            "xml": card.xml_sha256,
            "md": card.md_sha256,
        },
    }


CONTENT = {
    TargetType.DATASET_VERSION: (DatasetVersion, _dataset_version),
    TargetType.MODEL_VERSION: (ModelVersion, _model_version),
    TargetType.EVALUATION_RUN: (EvaluationRun, _evaluation_run),
    TargetType.MODEL_CARD: (ModelCard, _model_card),
}


def record_canonical(*, target_type: str, record: models.Model) -> bytes:
    """The canonical JSON of a record as it is in the database now."""
    model, content = CONTENT[TargetType(target_type)]
    fresh = model._default_manager.get(pk=record.pk)  # never a stale in-memory copy
    return canonical_bytes(
        {
            "canonical": CANONICAL_VERSION,
            "type": str(target_type),
            "id": str(record.pk),
            "content": content(fresh),  # type: ignore[operator]
        }
    )


def record_digest(*, target_type: str, record: models.Model) -> str:
    """SHA-256 (hex) of the record's canonical JSON."""
    return hashlib.sha256(record_canonical(target_type=target_type, record=record)).hexdigest()
