"""Preference studies: building blind pairs, recording judgments, exporting a DPO dataset."""

from __future__ import annotations

import hashlib
import json
import random
import tempfile
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Organization, User
from apps.evaluations.models import EvaluationRun, ItemResult
from apps.registry.models import Dataset, DatasetVersion
from apps.registry.services import dataset_version_create
from apps.signoffs.constants import CRITERIA, MAX_COMMENT, MAX_PAIRS
from apps.signoffs.models import (
    PreferenceExport,
    PreferenceJudgment,
    PreferencePair,
    PreferenceStudy,
)


def _answer(record: dict[str, Any]) -> str:
    """A scored item's answer: the generated text, else the chosen option's text."""
    generated = (record.get("generated") or "").strip()
    if generated:
        return generated
    chosen = record.get("chosen")
    for option in record.get("options") or []:
        if option.get("letter") == chosen:
            return f"{chosen}.{option.get('continuation', '')}"
    return ""


def pairs_from_runs(run_a: EvaluationRun, run_b: EvaluationRun) -> list[dict[str, str]]:
    """Items both runs scored, with each run's answer; items with no answer are skipped."""

    def answers(run: EvaluationRun) -> dict[tuple[str, str, str], dict[str, Any]]:
        rows = ItemResult.objects.filter(run=run).order_by("check_name", "item_id", "language")
        return {(r.check_name, r.item_id, r.language): r.record for r in rows}

    a, b = answers(run_a), answers(run_b)
    pairs = []
    for key in sorted(set(a) & set(b)):
        answer_a, answer_b = _answer(a[key]), _answer(b[key])
        prompt = str(a[key].get("context") or "").strip()
        if prompt and answer_a and answer_b:
            pairs.append(
                {"id": "/".join(key), "prompt": prompt, "answer_a": answer_a, "answer_b": answer_b}
            )
    return pairs


def _check_runs(organization: Organization, run_a: EvaluationRun, run_b: EvaluationRun) -> None:
    for name, run in (("run_a", run_a), ("run_b", run_b)):
        if run.organization_id != organization.pk:
            raise ValidationError({name: ["No such run in this organisation."]})
        if run.status != EvaluationRun.Status.SUCCEEDED:
            raise ValidationError({name: [f"Run {run.pk} has not succeeded ({run.status})."]})
    if run_a.pk == run_b.pk:
        raise ValidationError({"run_b": ["Compare two different runs."]})


def _pairs_create(study: PreferenceStudy, pairs: list[dict[str, Any]]) -> None:
    # The blind order comes from the recorded seed, so anyone can re-derive it.
    rng = random.Random(study.seed)
    PreferencePair.objects.bulk_create(
        PreferencePair(
            study=study,
            position=index,
            item_key=str(pair.get("id") or "")[:300],
            prompt=pair["prompt"],
            answer_a=pair["answer_a"],
            answer_b=pair["answer_b"],
            a_on_left=rng.random() < 0.5,
        )
        for index, pair in enumerate(pairs)
    )


@transaction.atomic
def preference_study_create(
    *,
    organization: Organization,
    created_by: User,
    name: str,
    description: str = "",
    run_a: EvaluationRun | None = None,
    run_b: EvaluationRun | None = None,
    pairs: list[dict[str, Any]] | None = None,
    labels: tuple[str, str] = ("A", "B"),
    source_sha256: str = "",
    seed: int | None = None,
) -> PreferenceStudy:
    """Create a study from two runs' answers or from uploaded pairs; left/right is seeded."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": ["Give the study a name."]})
    if PreferenceStudy.objects.filter(organization=organization, name=name).exists():
        raise ValidationError({"name": ["A study with this name already exists."]})
    if (run_a is None) != (run_b is None) or (run_a is None) == (pairs is None):
        raise ValidationError({"source": ["Give either run_a and run_b, or a file of pairs."]})
    if run_a is not None and run_b is not None:
        _check_runs(organization, run_a, run_b)
        pairs = pairs_from_runs(run_a, run_b)
        labels = (str(run_a.model_version), str(run_b.model_version))
        if not pairs:
            raise ValidationError(
                {"run_b": ["The two runs share no scored item with an answer on both sides."]}
            )
    assert pairs is not None
    if len(pairs) > MAX_PAIRS:
        raise ValidationError({"file": [f"At most {MAX_PAIRS} pairs per study."]})
    seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
    study = PreferenceStudy.objects.create(
        organization=organization,
        name=name,
        description=description,
        source=PreferenceStudy.Source.RUNS if run_a else PreferenceStudy.Source.UPLOAD,
        label_a=labels[0][:200],
        label_b=labels[1][:200],
        model_version_a=run_a.model_version if run_a else None,
        model_version_b=run_b.model_version if run_b else None,
        run_a=run_a,
        run_b=run_b,
        source_sha256=source_sha256,
        seed=seed,
        created_by=created_by,
    )
    _pairs_create(study, pairs)
    return study


def _ratings(value: Any, side: str) -> dict[str, int]:
    if not isinstance(value, dict):
        raise ValidationError({"ratings": [f"{side}: give {', '.join(CRITERIA)}, each 1-5."]})
    clean = {}
    for criterion in CRITERIA:
        score = value.get(criterion)
        if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
            raise ValidationError({"ratings": [f"{side}.{criterion}: a whole number 1-5."]})
        clean[criterion] = score
    extra = sorted(set(value) - set(CRITERIA))
    if extra:
        raise ValidationError({"ratings": [f"{side}: unknown criteria {', '.join(extra)}."]})
    return clean


@transaction.atomic
def preference_judgment_create(
    *,
    pair: PreferencePair,
    reviewer: User,
    reviewer_role: str,
    choice: str,
    ratings: dict[str, Any],
    rationale: str = "",
) -> PreferenceJudgment:
    """Record a blind judgment: `choice` and `ratings` are given as left/right and stored as A/B."""
    study = PreferenceStudy.objects.select_for_update().get(pk=pair.study_id)
    if study.closed_at is not None:
        raise ValidationError({"pair": ["This study is closed."]})
    if choice not in ("left", "right", "tie"):
        raise ValidationError({"preference": ["One of left, right, tie."]})
    if len(rationale) > MAX_COMMENT:
        raise ValidationError({"rationale": [f"At most {MAX_COMMENT} characters."]})
    if PreferenceJudgment.objects.filter(pair=pair, reviewer=reviewer).exists():
        raise ValidationError({"pair": ["You have already judged this pair."]})
    left, right = _ratings(ratings.get("left"), "left"), _ratings(ratings.get("right"), "right")
    a_side = "left" if pair.a_on_left else "right"
    preference = "tie" if choice == "tie" else ("a" if choice == a_side else "b")
    return PreferenceJudgment.objects.create(
        pair=pair,
        reviewer=reviewer,
        reviewer_name=reviewer.printed_name,
        reviewer_role=reviewer_role,
        preference=preference,
        ratings_a=left if pair.a_on_left else right,
        ratings_b=right if pair.a_on_left else left,
        rationale=rationale,
    )


@transaction.atomic
def preference_study_close(*, study: PreferenceStudy) -> PreferenceStudy:
    if study.closed_at is None:
        study.closed_at = timezone.now()
        study.save(update_fields=["closed_at"])
    return study


def preference_rows(study: PreferenceStudy) -> list[dict[str, Any]]:
    """One DPO row per decisive judgment (ties carry no preference and are left out)."""
    rows = []
    judgments = (
        PreferenceJudgment.objects.filter(pair__study=study)
        .exclude(preference="tie")
        .select_related("pair")
        .order_by("pair__position", "created_at", "id")
    )
    for j in judgments:
        a_wins = j.preference == "a"
        rows.append(
            {
                "prompt": j.pair.prompt,
                "chosen": j.pair.answer_a if a_wins else j.pair.answer_b,
                "rejected": j.pair.answer_b if a_wins else j.pair.answer_a,
                "reviewer_role": j.reviewer_role,
                "criteria": {
                    "chosen": j.ratings_a if a_wins else j.ratings_b,
                    "rejected": j.ratings_b if a_wins else j.ratings_a,
                },
                "rationale": j.rationale,
                "study": study.pk,
                "pair": j.pair.position,
            }
        )
    return rows


PHI_ORDER = ("none", "deidentified", "contains_phi")


def _inherited_phi(study: PreferenceStudy) -> tuple[str, str]:
    """The strictest PHI status of the data the study's prompts came from (runs' suites)."""
    status, method = "none", ""
    for run in (study.run_a, study.run_b):
        if run is None:
            continue
        for dv in run.suite.datasets.all():
            if PHI_ORDER.index(dv.phi_status) > PHI_ORDER.index(status):
                status, method = dv.phi_status, dv.deidentification_method
    return status, method


def preference_study_export(
    *,
    study: PreferenceStudy,
    user: User,
    dataset_name: str = "",
    phi_status: str | None = None,
    deidentification_method: str = "",
) -> PreferenceExport:
    """Export the judgments as JSONL and register it as the next version of a dataset.

    Its PHI status is the one given, else the strictest of the runs' evaluation data.
    """
    if phi_status is None:
        phi_status, deidentification_method = _inherited_phi(study)
    rows = preference_rows(study)
    if not rows:
        raise ValidationError({"study": ["No decisive judgments to export yet."]})
    body = "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows)
    name = dataset_name.strip() or f"Preferences: {study.name}"
    dataset, _ = Dataset.objects.get_or_create(
        organization_id=study.organization_id,
        name=name[:200],
        defaults={"description": f"Preference judgments from study {study.pk} ({study.name})."},
    )
    reviewers = sorted({row["reviewer_role"] for row in rows})
    provenance = (
        f"carealign:preference-study:{study.pk} — exported from preference study "
        f'"{study.name}" ({study.label_a} vs {study.label_b}), {len(rows)} decisive judgments '
        f"by {', '.join(reviewers)}; pair order seed {study.seed}."
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"preference-study-{study.pk}.jsonl"
        path.write_text(body, encoding="utf-8")
        with path.open("rb") as handle, transaction.atomic():
            version = dataset_version_create(
                dataset=dataset,
                upload=File(handle, name=path.name),
                format=DatasetVersion.Format.PREFERENCE,
                phi_status=phi_status,
                deidentification_method=deidentification_method,
                licence="Internal use",
                provenance=provenance,
                created_by=user,
            )
            return PreferenceExport.objects.create(
                study=study, dataset_version=version, rows=len(rows), created_by=user
            )


def sha256_text(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pairs_from_upload(upload: File[bytes]) -> tuple[list[dict[str, Any]], str]:
    """Read an uploaded JSONL of prompt / answer_a / answer_b; errors name line and field."""
    from django.conf import settings

    from apps.common.uploads import UploadTooLarge
    from worker.engine.readers.errors import DatasetFormatError
    from worker.engine.readers.preference import read_paired_answers

    limit = int(settings.UPLOAD_MAX_BYTES)
    digest = hashlib.sha256()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / (Path(upload.name or "pairs.jsonl").name[:100] or "pairs.jsonl")
        size = 0
        with path.open("wb") as out:
            for chunk in upload.chunks():
                size += len(chunk)
                if size > limit:
                    raise UploadTooLarge(limit)
                digest.update(chunk)
                out.write(chunk)
        try:
            records = read_paired_answers(path, layout="pairs")
        except DatasetFormatError as exc:
            raise ValidationError({"file": [str(exc)]}) from None
    pairs = [
        {
            "id": str(r.get("id") or ""),
            "prompt": r["prompt"],
            "answer_a": r["answer_a"],
            "answer_b": r["answer_b"],
        }
        for r in records
    ]
    return pairs, digest.hexdigest()
