"""Bulk rows of one organisation in every tenant table, for planner tests and bench/api.py.

`bulk_create` sends no signals, so the rows carry no audit events of their own; the audit
table gets its own synthetic chain (`audit_events`). Rows are realistic in shape where it
matters to a list's speed: suites, runs and cards carry JSON of a few kilobytes to tens of
kilobytes, as real ones do (manifests, suite parameters, card documents).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from apps.accounts.models import ApiToken, Membership, Organization, Role, User
from apps.audit.models import AuditEvent
from apps.evaluations.models import DriftAlert, EvaluationRun, EvaluationSuite, Schedule
from apps.registry.models import AIModel, Dataset, DatasetVersion, ModelVersion
from apps.reports.models import ModelCard


def _blob(kilobytes: int, tag: str) -> dict[str, Any]:
    """A JSON object of about this many kilobytes (a manifest, a card document)."""
    items = [{"key": f"k{i}", "text": "x" * 100} for i in range(kilobytes * 9)]
    return {"tag": tag, "items": items}


def tenant_rows(org: Organization, n: int, *, blob_kb: int = 4, tag: str = "") -> dict[str, int]:
    """Create `n` rows in each tenant table for `org`; return the row count per table."""
    tag = tag or org.slug
    now = timezone.now()
    users = User.objects.bulk_create(User(username=f"{tag}-u{i}") for i in range(n))
    Membership.objects.bulk_create(
        Membership(user=u, organization=org, role=Role.AUDITOR) for u in users
    )
    ApiToken.objects.bulk_create(
        ApiToken(
            organization=org,
            created_by=users[i],
            holder=users[i],
            name=f"t{i}",
            role=Role.AUDITOR,
            prefix=hashlib.sha256(f"{tag}p{i}".encode()).hexdigest()[:12],
            key_hash=hashlib.sha256(f"{tag}{i}".encode()).hexdigest(),
            expires_at=now + timedelta(days=30),
        )
        for i in range(n)
    )
    models = AIModel.objects.bulk_create(
        AIModel(
            organization=org,
            name=f"{tag} model {i}",
            intended_use="Drafts discharge summaries.",
            decision_role="informs",
            application_area="clinical_workflow",
            risk_class="moderate",
        )
        for i in range(n)
    )
    versions = ModelVersion.objects.bulk_create(
        ModelVersion(
            model=m,
            version_label="1.0",
            source_kind="local",
            local_path=f"/models/{tag}/{i}",
            alignment_techniques=["instruction_tuning"],
        )
        for i, m in enumerate(models)
    )
    datasets = Dataset.objects.bulk_create(
        Dataset(organization=org, name=f"{tag} dataset {i}") for i in range(n)
    )
    DatasetVersion.objects.bulk_create(
        DatasetVersion(
            dataset=d,
            version=1,
            file=f"datasets/{tag}{i}.jsonl",
            original_filename="items.jsonl",
            sha256=hashlib.sha256(f"{tag}{i}".encode()).hexdigest(),
            size_bytes=10,
            format="jsonl",
            row_count=1,
            phi_status="none",
            licence="CC BY 4.0",
            provenance="bulk",
            demographics={"sex": {"female": 5, "male": 5}},
        )
        for i, d in enumerate(datasets)
    )
    blob = _blob(blob_kb, tag)
    suites = EvaluationSuite.objects.bulk_create(
        EvaluationSuite(organization=org, name=f"{tag} suite {i}", parameters=blob)
        for i in range(n)
    )
    runs = EvaluationRun.objects.bulk_create(
        EvaluationRun(
            organization=org,
            model_version=versions[i],
            suite=suites[i],
            manifest=blob,
            comparison=blob,
        )
        for i in range(n)
    )
    Schedule.objects.bulk_create(
        Schedule(organization=org, name=f"s{i}", suite=suites[i], model=models[i], cron="0 3 * * 1")
        for i in range(n)
    )
    DriftAlert.objects.bulk_create(
        DriftAlert(
            organization=org,
            model=models[i],
            run=runs[i],
            previous_run=runs[i - 1],
            kind="regression",
            check_name="knowledge",
            metric=f"accuracy{i}",
            message="Accuracy fell.",
        )
        for i in range(n)
    )
    ModelCard.objects.bulk_create(
        ModelCard(
            organization=org,
            model=models[i],
            model_version=versions[i],
            profile="hti1",
            version=1,
            document=_blob(blob_kb * 15, tag),
            completeness={"missing": [], "required": 31},
        )
        for i in range(n)
    )
    counts = {"auditevent": audit_events(org, n)}
    for model in (User, Membership, ApiToken, AIModel, ModelVersion, Dataset, DatasetVersion):
        counts[model._meta.model_name or ""] = n
    for model in (EvaluationSuite, EvaluationRun, Schedule, DriftAlert, ModelCard):
        counts[model._meta.model_name or ""] = n
    return counts


def audit_events(org: Organization, n: int) -> int:
    """Append `n` synthetic events to the organisation's chain (hashes are not verifiable)."""
    last = AuditEvent.objects.filter(organization=org).order_by("-seq").first()
    start, prev = (last.seq, last.hash) if last else (0, "0" * 64)
    now = timezone.now()
    events = []
    for seq in range(start + 1, start + n + 1):
        digest = hashlib.sha256(f"{org.pk}:{seq}".encode()).hexdigest()
        events.append(
            AuditEvent(
                organization=org,
                seq=seq,
                occurred_at=now,
                actor="system:bulk",
                source="system",
                action="update",
                object_type="registry.aimodel",
                object_id=str(seq),
                prev_hash=prev,
                hash=digest,
            )
        )
        prev = digest
    AuditEvent.objects.bulk_create(events, batch_size=5000)
    return n


def analyze() -> None:
    """Refresh the planner's statistics (rows inserted by this transaction included)."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
