"""Writes for the registry: models, versions, datasets and immutable dataset files."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import Max

from apps.accounts.models import Organization, User
from apps.common import filestore
from apps.common.text import strip_bidi, strip_bidi_values
from apps.common.uploads import UploadTooLarge, upload_name
from apps.registry.constants import HTI1_DEMOGRAPHIC_VARIABLES
from apps.registry.models import (
    AIModel,
    Dataset,
    DatasetVersion,
    ModelVersion,
    ModelVersionDataset,
    validate_alignment_techniques,
)

CHUNK = 1024 * 1024
DATASET_KIND = "datasets"  # dataset files are stored as datasets/<sha256[:2]>/<sha256><ext>
MODEL_FIELDS = (
    "name",
    "intended_use",
    "intended_users",
    "target_population",
    "decision_role",
    "out_of_scope_uses",
    "application_area",
    "risk_class",
    "owner",
)


def _apply(obj: Any, fields: dict[str, Any], allowed: tuple[str, ...]) -> list[str]:
    changed = []
    for name, value in strip_bidi_values(fields).items():
        if name not in allowed:
            raise ValidationError({name: ["This field cannot be changed."]})
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed.append(name)
    return changed


@transaction.atomic
def ai_model_create(*, organization: Organization, **fields: Any) -> AIModel:
    if AIModel.objects.filter(organization=organization, name=fields.get("name")).exists():
        raise ValidationError({"name": ["A model with this name already exists."]})
    model = AIModel(organization=organization, **strip_bidi_values(fields))
    model.full_clean()
    model.save()
    return model


@transaction.atomic
def ai_model_update(*, model: AIModel, **fields: Any) -> AIModel:
    changed = _apply(model, fields, MODEL_FIELDS)
    if changed:
        model.full_clean()
        model.save()
    return model


@transaction.atomic
def ai_model_delete(*, model: AIModel) -> None:
    if model.versions.exists():
        raise ValidationError(
            {"non_field_errors": ["This model has versions; retire them instead of deleting."]}
        )
    model.delete()


def _check_alignment(techniques: list[str]) -> list[str]:
    try:
        validate_alignment_techniques(techniques)
    except ValidationError as exc:
        raise ValidationError({"alignment_techniques": exc.messages}) from None
    return sorted(set(techniques))


def _local_model_path(raw: str) -> Path:
    path = Path(raw).resolve()
    if not any(path == root or root in path.parents for root in settings.MODEL_ROOTS):
        roots = ", ".join(str(root) for root in settings.MODEL_ROOTS)
        raise ValidationError(
            {
                "local_path": [
                    f"Local models must live under one of the configured model roots ({roots}); "
                    "set CAREALIGN_MODEL_ROOTS to add one."
                ]
            }
        )
    if not (path / "config.json").is_file():
        raise ValidationError(
            {"local_path": [f"{raw} is not a model folder on this server (no config.json)."]}
        )
    return path


@transaction.atomic
def model_version_create(
    *,
    model: AIModel,
    version_label: str,
    source_kind: str,
    hub_id: str = "",
    revision: str = "",
    local_path: str = "",
    base_model: str = "",
    alignment_techniques: list[str] | None = None,
    lifecycle_stage: str = "data_curation",
    training_datasets: list[tuple[DatasetVersion, str]] | None = None,
    created_by: User | None = None,
) -> ModelVersion:
    """Register a pinned model version; a local folder's weights are digested now."""
    version_label, base_model = strip_bidi(version_label), strip_bidi(base_model)
    if ModelVersion.objects.filter(model=model, version_label=version_label).exists():
        raise ValidationError(
            {"version_label": ["This model already has a version with this label."]}
        )
    weights_digest = ""
    if source_kind == ModelVersion.SourceKind.LOCAL:
        from worker.engine.loading import weights_digest as digest_folder

        # Store the path that was checked and digested, not one relative to this process.
        resolved = _local_model_path(local_path)
        local_path = str(resolved)
        weights_digest = digest_folder(resolved)
    version = ModelVersion(
        model=model,
        version_label=version_label,
        source_kind=source_kind,
        hub_id=hub_id,
        revision=revision.lower(),
        local_path=local_path,
        weights_digest=weights_digest,
        base_model=base_model,
        alignment_techniques=_check_alignment(alignment_techniques or []),
        lifecycle_stage=lifecycle_stage,
        created_by=created_by,
    )
    version.full_clean()
    version.save()
    for dataset_version, role in training_datasets or []:
        if dataset_version.dataset.organization_id != model.organization_id:
            raise ValidationError(
                {"training_datasets": ["Datasets must belong to the model's organisation."]}
            )
        ModelVersionDataset.objects.create(
            model_version=version, dataset_version=dataset_version, role=role
        )
    return version


@transaction.atomic
def model_version_update(
    *,
    version: ModelVersion,
    lifecycle_stage: str | None = None,
    alignment_techniques: list[str] | None = None,
    base_model: str | None = None,
) -> ModelVersion:
    """Move a version through its lifecycle or correct its description; its source is fixed."""
    if lifecycle_stage is not None:
        version.lifecycle_stage = lifecycle_stage
    if alignment_techniques is not None:
        version.alignment_techniques = _check_alignment(alignment_techniques)
    if base_model is not None:
        version.base_model = strip_bidi(base_model)
    version.full_clean()
    version.save()
    return version


@transaction.atomic
def dataset_create(*, organization: Organization, name: str, description: str = "") -> Dataset:
    name, description = strip_bidi(name), strip_bidi(description)
    if Dataset.objects.filter(organization=organization, name=name).exists():
        raise ValidationError({"name": ["A dataset with this name already exists."]})
    return Dataset.objects.create(organization=organization, name=name, description=description)


def _check_demographics(table: dict[str, Any]) -> dict[str, dict[str, int]]:
    if not isinstance(table, dict):
        raise ValidationError(
            {"demographics": ["Must be an object: variable -> {category: count}."]}
        )
    clean: dict[str, dict[str, int]] = {}
    for variable, counts in table.items():
        if variable not in HTI1_DEMOGRAPHIC_VARIABLES:
            raise ValidationError(
                {
                    "demographics": [
                        f"Unknown variable {variable!r}; HTI-1 variables are "
                        f"{', '.join(HTI1_DEMOGRAPHIC_VARIABLES)}."
                    ]
                }
            )
        if not isinstance(counts, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in counts.values()
        ):
            raise ValidationError(
                {
                    "demographics": [
                        f"{variable}: must map each category to a non-negative whole count."
                    ]
                }
            )
        clean[variable] = {str(k): int(v) for k, v in counts.items()}
    return clean


def _stream_to_disk(upload: File[bytes], directory: Path) -> tuple[Path, str, int]:
    """Write the upload under `directory` while hashing it; return (path, sha256, size)."""
    limit = int(settings.UPLOAD_MAX_BYTES)
    name = upload_name(upload.name)
    target = directory / name
    digest = hashlib.sha256()
    size = 0
    with target.open("wb") as out:
        for chunk in upload.chunks(CHUNK):
            size += len(chunk)
            if size > limit:
                raise UploadTooLarge(limit)
            digest.update(chunk)
            out.write(chunk)
    return target, digest.hexdigest(), size


def _read_summary(path: Path, format: str) -> dict[str, Any]:
    """Validate a file with the engine's readers and summarise it (preference JSONL too)."""
    from worker.engine.readers import read_items, summarize_items
    from worker.engine.readers.preference import read_paired_answers, summarize_preferences

    if format == DatasetVersion.Format.PREFERENCE:
        return summarize_preferences(read_paired_answers(path, layout="preferences"))
    return summarize_items(read_items(path, fmt=format))


# long: validate, store and record one upload top to bottom; the cleanup on failure spans all three
def dataset_version_create(
    *,
    dataset: Dataset,
    upload: File[bytes],
    format: str,
    phi_status: str,
    licence: str,
    provenance: str,
    deidentification_method: str = "",
    inclusion_criteria: str = "",
    exclusion_criteria: str = "",
    demographics: dict[str, Any] | None = None,
    created_by: User | None = None,
) -> DatasetVersion:
    """Store a validated file once under its SHA-256 and record it as the next version.

    The file is validated by the evaluation engine's own readers before anything is kept;
    an invalid file leaves neither a row nor a file behind.
    """
    licence, provenance, deidentification_method, inclusion_criteria, exclusion_criteria = (
        strip_bidi(text)
        for text in (
            licence,
            provenance,
            deidentification_method,
            inclusion_criteria,
            exclusion_criteria,
        )
    )
    from worker.engine.readers import DatasetFormatError
    from worker.engine.readers.collect import collect_errors

    if phi_status == DatasetVersion.PhiStatus.DEIDENTIFIED and not deidentification_method:
        raise ValidationError(
            {
                "deidentification_method": [
                    "Required when the data is de-identified "
                    "(e.g. HIPAA Safe Harbor, Expert Determination)."
                ]
            }
        )
    demographics = _check_demographics(demographics or {})
    # Validated in a private local copy; only a valid file reaches the store.
    with tempfile.TemporaryDirectory(prefix="carealign-upload-") as tmp:
        path, sha256, size = _stream_to_disk(upload, Path(tmp))
        if size == 0:
            raise ValidationError({"file": [f"{path.name} is empty: upload a file with items."]})
        try:
            summary = _read_summary(path, format)
        except DatasetFormatError as exc:
            if format == DatasetVersion.Format.PREFERENCE:
                raise ValidationError({"file": [str(exc)]}) from None
            # Every problem of the file, each with its line and field, so one upload shows
            # all there is to fix (the first error is the one the reader raised).
            errors = collect_errors(path, fmt=format)
            raise ValidationError({"file": [str(error) for error in errors]}) from None
        stored = filestore.store_local_file(DATASET_KIND, path, sha256, path.suffix)
    relative = stored.name
    try:
        with transaction.atomic():
            Dataset.objects.select_for_update().get(pk=dataset.pk)
            existing = dataset.versions.filter(sha256=sha256).first()
            if existing is not None:
                raise ValidationError(
                    {"file": [f"This file is already version {existing.version} of this dataset."]}
                )
            number = (dataset.versions.aggregate(n=Max("version"))["n"] or 0) + 1
            version = DatasetVersion(
                dataset=dataset,
                version=number,
                file=relative,
                original_filename=path.name,
                sha256=sha256,
                size_bytes=size,
                format=format,
                row_count=summary["row_count"],
                languages=summary["languages"],
                specialties=summary["specialties"],
                tasks=summary.get("tasks", {}),
                phi_status=phi_status,
                deidentification_method=deidentification_method,
                licence=licence,
                provenance=provenance,
                inclusion_criteria=inclusion_criteria,
                exclusion_criteria=exclusion_criteria,
                demographics=demographics,
                created_by=created_by,
            )
            version.full_clean()
            version.save()
    except Exception:
        if stored.created and not DatasetVersion.objects.filter(sha256=sha256).exists():
            filestore.delete_unreferenced(stored.name)
        raise
    return version
