"""Comparison reports (alignment evidence) issued like cards: built, rendered with the card's
locked-down PDF pipeline, PAdES-signed with the organisation's card key, stored under their
SHA-256 (apps/common/filestore.py), downloadable (audited) and verifiable by digest or upload.

Creation is captured by the audit trail (apps/reports/apps.py registers the model); every
download and verification is recorded here. Reports are frozen at creation (model and a
database trigger), so a card citing one by digest always points at the same bytes.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.audit.services import audit_record
from apps.common import filestore
from apps.common.tenancy import Actor
from apps.evaluations.models import EvaluationSuite
from apps.evaluations.services.comparisons import ComparisonRefused, version_comparison_data
from apps.registry.models import ModelVersion
from apps.reports import comparison_document, signing, verification
from apps.reports.document import iso, software_id
from apps.reports.models import ComparisonReport

MEDIA_DIR = "comparison-reports"  # under MEDIA_ROOT: comparison-reports/<sha[:2]>/<sha>.<ext>
MIME = {"pdf": "application/pdf", "json": "application/json"}
Kind = ComparisonReport.Kind

__all__ = ["ComparisonRefused", "ReportFileAltered", "ReportFileMissing"]


class ReportFileAltered(Exception):
    """The stored file no longer matches its recorded digest."""


class ReportFileMissing(Exception):
    """No such format for a comparison report."""


def file_name(sha256: str, fmt: str) -> str:
    return filestore.content_name(MEDIA_DIR, sha256, f".{fmt}")


def _issue(
    *,
    kind: str,
    version: ModelVersion,
    baseline: ModelVersion | None,
    suite: EvaluationSuite,
    body: dict[str, Any],
    subject: str,
    user: Any = None,
    token: Any = None,
) -> ComparisonReport:
    """Build, render, sign and store the files, then record the frozen report."""
    organization = version.model.organization
    report_id = uuid.uuid4()
    printed = user.printed_name if getattr(user, "pk", None) else None
    document = comparison_document.document_build(
        report={
            "id": str(report_id),
            "generated_at": iso(timezone.now()),
            "software_id": software_id(),
            "created_by": printed,
            "suite": str(suite),
            "subject": subject,
        },
        organization={"name": organization.name, "slug": organization.slug},
        model={"id": version.model_id, "name": version.model.name},
        kind=kind,
        body=body,
    )
    json_file = comparison_document.json_bytes(document)
    pdf = comparison_document.render_pdf(document, json_file)
    key = signing.org_key(organization_id=organization.pk, organization_name=organization.name)
    pdf = signing.sign_pdf(
        pdf,
        key,
        reason=f"Comparison report {report_id} ({kind})",
        location=organization.name,
    )
    hashes = {
        f"{fmt}_sha256": filestore.store_bytes(MEDIA_DIR, content, f".{fmt}").sha256
        for fmt, content in (("pdf", pdf), ("json", json_file))
    }
    with transaction.atomic():  # the row and its audited creation commit together
        return ComparisonReport.objects.create(
            id=report_id,
            organization=organization,
            kind=kind,
            model_id=version.model_id,
            model_version=version,
            baseline_version=baseline,
            suite=suite,
            summary=document["summary"],
            document=document,
            created_by=user if getattr(user, "pk", None) else None,
            created_by_token=token,
            **hashes,
        )


def version_comparison_report_create(
    *, actor: Actor, suite_id: int, version_ids: list[int], user: Any = None, token: Any = None
) -> ComparisonReport:
    """A signed report of the paired comparison (the last version is the one it is evidence
    for, the first the baseline); ComparisonRefused when not like for like."""
    body = version_comparison_data(actor=actor, suite_id=suite_id, version_ids=version_ids)
    versions = {
        v.pk: v
        for v in ModelVersion.objects.select_related("model__organization").filter(
            pk__in=version_ids
        )
    }
    suite = EvaluationSuite.objects.get(pk=suite_id)
    labels = " vs ".join(v["label"] for v in body["versions"])
    return _issue(
        kind=Kind.VERSION_COMPARISON,
        version=versions[version_ids[-1]],
        baseline=versions[version_ids[0]],
        suite=suite,
        body=body,
        subject=labels,
        user=user,
        token=token,
    )


def reasoning_report_create(
    *,
    version: ModelVersion,
    suite: EvaluationSuite,
    study: dict[str, Any],
    user: Any = None,
    token: Any = None,
) -> ComparisonReport:
    """A signed report of a reasoning-mode study (worker/engine/reasoning.reasoning_study)."""
    return _issue(
        kind=Kind.REASONING_STUDY,
        version=version,
        baseline=None,
        suite=suite,
        body=study,
        subject=f"{version}: chain-of-thought vs direct answering",
        user=user,
        token=token,
    )


# --- downloads -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportFile:
    content: bytes
    filename: str
    content_type: str
    sha256: str


def report_file(*, report: ComparisonReport, fmt: str, actor: Actor | None = None) -> ReportFile:
    """The stored file, checked against its digest; every download is audited."""
    if fmt not in ComparisonReport.FORMATS:
        raise ReportFileMissing(f"Unknown format {fmt!r}; use pdf or json.")
    digest = report.sha256_of(fmt)
    try:
        content = filestore.read_verified(file_name(digest, fmt), digest)
    except filestore.StoredFileAltered as exc:
        audit_record(
            action="report_file_altered",
            organization=report.organization_id,
            obj=report,
            changes={"format": fmt, "expected_sha256": digest, "found_sha256": exc.found},
            actor=actor,
        )
        raise ReportFileAltered(
            f"The stored {fmt} file of this report no longer matches its recorded SHA-256 "
            f"({digest}); it was changed on the server and is not served."
        ) from exc
    audit_record(
        action="download",
        organization=report.organization_id,
        obj=report,
        label=f"{report} — {fmt} sha256 {digest[:12]}",
        changes={"format": fmt, "sha256": digest},
        actor=actor,
    )
    name = f"{report.kind.replace('_', '-')}-report-{str(report.pk)[:8]}.{fmt}"
    return ReportFile(content, name, MIME[fmt], digest)


# --- verification --------------------------------------------------------------------------


def _by_digest(sha256: str) -> tuple[ComparisonReport, str] | None:
    """Deliberately not scoped, like cards: whoever holds a report may check it."""
    from django.db.models import Q

    found = (
        ComparisonReport.objects.filter(Q(pdf_sha256=sha256) | Q(json_sha256=sha256))
        .select_related("organization", "model", "model_version", "baseline_version")
        .first()
    )
    if found is None:
        return None
    return found, "pdf" if found.pdf_sha256 == sha256 else "json"


def _answer(report: ComparisonReport, fmt: str, sha256: str) -> dict[str, Any]:
    return {
        "issued": True,
        "sha256": sha256,
        "format": fmt,
        "report": str(report.pk),
        "report_kind": report.kind,
        "report_title": report.get_kind_display(),
        "organization": report.organization.name,
        "model": report.model.name,
        "model_version": report.model_version.version_label,
        "baseline_version": (
            report.baseline_version.version_label if report.baseline_version else None
        ),
        "summary": report.summary,
        "status": "current",
        "issued_at": report.created_at,
        "reason": f"Authentic: the digest matches the {fmt} file of "
        f"{report.get_kind_display().lower()} report {report.pk} of {report.model}, "
        "frozen at creation.",
    }


def _audit_verify(
    report: ComparisonReport, sha256: str, answer: dict[str, Any], actor: Any
) -> None:
    audit_record(
        action="report_verify",
        organization=report.organization_id,
        obj=report,
        label=f"{report} — verified sha256 {sha256[:12]}: "
        + ("authentic" if answer["issued"] else "not an issued file"),
        changes={"sha256": sha256, "issued": answer["issued"], "reason": answer["reason"]},
        actor=actor,
    )


def report_verify(*, sha256: str, actor: Actor) -> dict[str, Any] | None:
    """The answer when this digest is a report's file; None (for the card check) otherwise."""
    sha256 = sha256.lower()
    found = _by_digest(sha256)
    if found is None:
        return None
    answer = _answer(found[0], found[1], sha256)
    _audit_verify(found[0], sha256, answer, actor)
    return answer


def report_verify_file(*, content: bytes, actor: Actor) -> dict[str, Any] | None:
    """An uploaded file that is, or claims to be, a comparison report; None otherwise."""
    sha256 = hashlib.sha256(content).hexdigest()
    fmt = verification.sniff(content)
    check = verification.check_signature(content, fmt)
    found = _by_digest(sha256)
    claimed: ComparisonReport | None = None
    if found is None:
        claimed_id = _claimed_id(content, fmt)
        if claimed_id is None:
            return None
        claimed = (
            ComparisonReport.objects.select_related("organization", "model")
            .filter(pk=claimed_id)
            .first()
        )
        if claimed is None:
            return None
    if found is not None:
        answer = _answer(found[0], found[1], sha256)
        report = found[0]
    else:
        assert claimed is not None
        report = claimed
        answer = {"issued": False, "sha256": sha256, "format": fmt, "report": str(report.pk)}
    fingerprint = _fingerprint(report.organization_id)
    answer["signature"] = verification.signature_answer(check, fingerprint)
    if found is None:
        answer["reason"] = _altered_reason(report, answer["signature"])
    _audit_verify(report, sha256, answer, actor)
    return answer


def _claimed_id(content: bytes, fmt: str) -> str | None:
    import json
    import re

    if fmt == "pdf":
        return verification.pdf_claimed_id(content, "reportId")
    found = ""
    if fmt == "json":
        try:
            data = json.loads(content)
            if data.get("format") == comparison_document.REPORT_FORMAT:
                found = str((data.get("report") or {}).get("id", ""))
        except (ValueError, AttributeError):
            return None
    uuid_re = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
    return found if uuid_re.fullmatch(found) else None


def _fingerprint(organization_id: int) -> str | None:
    folder = signing.key_dir(organization_id)
    if not (folder / signing.CERT_FILE).is_file():
        return None
    return signing.OrgKey(folder / signing.KEY_FILE, folder / signing.CERT_FILE).fingerprint


def _altered_reason(report: ComparisonReport, sig: dict[str, Any]) -> str:
    head = (
        f"Not verified: the file claims to be comparison report {report.pk} of {report.model}, "
        "but its SHA-256 matches none of its files"
    )
    if not sig["present"]:
        return f"{head}: it was altered or re-saved."
    if sig.get("organisation_certificate") is False:
        return f"{head}; it is signed with a certificate that is not {report.organization.name}'s."
    if not sig["intact"]:
        return f"{head}; its signature does not hold: the signed bytes changed."
    if not sig["covers_whole_file"]:
        return f"{head}; the signature holds for the signed part, but {sig['detail']}."
    return f"{head}; its signature holds, yet the file differs from the one recorded."
