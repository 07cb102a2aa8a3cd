"""Benchmark each list endpoint against a plain Django view over the same rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/carealign .venv/bin/python bench/api.py \
        [--rows 400] [--page-size 200] [--repeat 15]

Runs in a throwaway database (<name>_apibench, created, migrated and dropped). One
organisation holds --rows rows in every table (suite parameters, run manifests and
comparisons of about 4 KB, card documents of about 60 KB, as real ones are); a second holds
as many, so scoping has work to do. For each list, the API view (DRF: scoping, filters,
ordering, pagination, serializer) and a plain view (the same scoped rows and page, the same
keys: the returned columns loaded as model instances, one dict per row, `JsonResponse`) are
called in turn --repeat times through the same middleware; the ratio is the plain view's
fastest time over the API's (goal: >= 0.5). Not a test.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")

import django  # noqa: E402 - after the path and settings are set

django.setup()

from django.core.serializers.json import DjangoJSONEncoder  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.db.models import QuerySet  # noqa: E402
from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.test import override_settings  # noqa: E402
from django.urls import path  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from apps.accounts.models import ApiToken, Membership, Organization, Role, User  # noqa: E402
from apps.audit.models import AuditEvent  # noqa: E402
from apps.common.tenancy import actor_for_request, scope  # noqa: E402
from apps.evaluations.models import (  # noqa: E402
    DriftAlert,
    EvaluationRun,
    EvaluationSuite,
    Schedule,
)
from apps.registry.models import AIModel, Dataset, DatasetVersion, ModelVersion  # noqa: E402
from apps.reports.models import ModelCard  # noqa: E402
from governance.urls import urlpatterns as project_urls  # noqa: E402
from tests.tenant_rows import analyze, tenant_rows  # noqa: E402

ORG = ["organization__slug"]
# Per list: the model, and what the API returns, as columns or "relation__column" paths.
# Keys the API computes per row (URLs, ETAs, nested lists) are given as the columns they come
# from: the plain view returns those columns, the API what it derives from them.
LISTS: dict[str, tuple[type[Any], list[str]]] = {
    "memberships": (Membership, ["id", "role", "created_at", *ORG, "user__username"]),
    "tokens": (
        ApiToken,
        [
            "id",
            "name",
            "role",
            "prefix",
            "created_at",
            "expires_at",
            "revoked_at",
            "last_used_at",
            *ORG,
            "created_by__username",
        ],
    ),
    "models": (
        AIModel,
        [
            "id",
            "name",
            "intended_use",
            "intended_users",
            "target_population",
            "decision_role",
            "out_of_scope_uses",
            "application_area",
            "risk_class",
            "created_at",
            "updated_at",
            *ORG,
            "owner__username",
        ],
    ),
    "model-versions": (
        ModelVersion,
        [
            "id",
            "model_id",
            "version_label",
            "source_kind",
            "hub_id",
            "revision",
            "local_path",
            "weights_digest",
            "base_model",
            "alignment_techniques",
            "lifecycle_stage",
            "created_at",
            "updated_at",
        ],
    ),
    "datasets": (Dataset, ["id", "name", "description", "created_at", *ORG]),
    "dataset-versions": (
        DatasetVersion,
        [
            "id",
            "dataset_id",
            "version",
            "original_filename",
            "sha256",
            "size_bytes",
            "format",
            "row_count",
            "languages",
            "specialties",
            "tasks",
            "phi_status",
            "deidentification_method",
            "licence",
            "provenance",
            "inclusion_criteria",
            "exclusion_criteria",
            "demographics",
            "created_at",
        ],
    ),
    "audit": (
        AuditEvent,
        [
            "id",
            "seq",
            "occurred_at",
            "actor",
            "actor_user_id",
            "actor_role",
            "source",
            "action",
            "object_type",
            "object_id",
            "object_label",
            "changes",
            "request_id",
            "client_ip",
            "user_agent",
            "prev_hash",
            "hash",
            *ORG,
        ],
    ),
    "suites": (
        EvaluationSuite,
        [
            "id",
            "name",
            "version",
            "description",
            "checks",
            "parameters",
            "thresholds",
            "drift_tolerance",
            "dataset_checks",
            "created_at",
            *ORG,
            "created_by__username",
        ],
    ),
    "runs": (
        EvaluationRun,
        [
            "id",
            "model_version_id",
            "suite_id",
            "status",
            "verdict",
            "progress",
            "items_done",
            "items_total",
            "shards_total",
            "trigger",
            "schedule_id",
            "due_key",
            "seed",
            "shard_size",
            "error",
            "cancel_requested",
            "created_at",
            "started_at",
            "finished_at",
            *ORG,
            "model_version__model_id",
            "suite__name",
            "suite__version",
            "started_by__username",
        ],
    ),
    "schedules": (
        Schedule,
        [
            "id",
            "name",
            "suite_id",
            "model_id",
            "target",
            "model_version_id",
            "cron",
            "cron_timezone",
            "enabled",
            "created_at",
            *ORG,
            "periodic_task__name",
        ],
    ),
    "drift-alerts": (
        DriftAlert,
        [
            "id",
            "model_id",
            "run_id",
            "previous_run_id",
            "kind",
            "check_name",
            "metric",
            "previous_value",
            "value",
            "tolerance",
            "message",
            "acknowledged_at",
            "created_at",
        ],
    ),
    "model-cards": (
        ModelCard,
        [
            "id",
            "model_id",
            "model_version_id",
            "profile",
            "version",
            "status",
            "progress",
            "error",
            "completeness",
            "pdf_sha256",
            "json_sha256",
            "xml_sha256",
            "md_sha256",
            "created_at",
            "rendered_at",
            "issued_at",
            "superseded_by_id",
            "superseded_at",
            *ORG,
            "issued_by__username",
        ],
    ),
}


def _value(obj: Any, path: str) -> Any:
    for name in path.split("__"):
        obj = getattr(obj, name) if obj is not None else None
    return obj


# Lists that return a nested list per row: the relation the plain view prefetches for it.
NESTED = {ModelVersion: "dataset_links"}  # training_datasets: [{dataset_version, role}]


def plain_view(model: type[Any], paths: list[str]) -> Callable[..., Any]:
    """What a careful plain Django view does: load the returned columns (and the related
    rows they name) as model instances, and return one dict per row."""
    relations = sorted({p.rsplit("__", 1)[0] for p in paths if "__" in p})
    columns = [p if "__" in p else model._meta.get_field(p).name for p in paths]

    def view(request: HttpRequest) -> JsonResponse:
        size = int(request.GET.get("page_size", 50))
        rows: QuerySet[Any] = scope(model.objects.all(), actor_for_request(request))
        if relations:  # select_related() without names would follow every relation
            rows = rows.select_related(*relations)
        page = rows.only(*columns, *relations)[:size]
        nested = NESTED.get(model)
        if nested:
            page = page.prefetch_related(nested)
        results = [{path: _value(obj, path) for path in paths} for obj in page]
        if nested:
            for row, obj in zip(results, page, strict=True):
                row[nested] = [
                    {"dataset_version": link.dataset_version_id, "role": link.role}
                    for link in getattr(obj, nested).all()
                ]
        return JsonResponse({"count": rows.count(), "results": results}, encoder=DjangoJSONEncoder)

    return view


urlpatterns = [
    *project_urls,
    *(path(f"plain/{name}/", plain_view(*spec)) for name, spec in LISTS.items()),
]


def timed(client: Any, urls: tuple[str, str], repeat: int) -> tuple[list[float], int]:
    """Fastest seconds per call of each URL, called in turn (so both see the same load on a
    shared machine), and the first one's response size (after a warm-up call of each)."""
    size = len(client.get(urls[0]).content)
    client.get(urls[1])
    times: list[list[float]] = [[], []]
    for _ in range(repeat):
        for which, url in enumerate(urls):
            began = time.perf_counter()
            response = client.get(url)
            times[which].append(time.perf_counter() - began)
            assert response.status_code == 200, (url, response.status_code, response.content[:99])
    return [min(t) for t in times], size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=400, help="rows per table per organisation")
    parser.add_argument("--page-size", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench/api.py measures PostgreSQL: set DATABASE_URL=postgres://...")

    original = connection.settings_dict["NAME"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{original}_apibench"
    bench_db = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        org = Organization.objects.create(name="Bench clinic", slug="bench-clinic")
        other = Organization.objects.create(name="Other payer", slug="other-payer")
        admin = User.objects.create(username="bench-admin")
        Membership.objects.create(user=admin, organization=org, role=Role.ADMIN)
        tenant_rows(org, args.rows)
        tenant_rows(other, args.rows)
        analyze()
        print(
            f"database {bench_db}: {args.rows} rows per table per organisation, "
            f"page_size {args.page_size}, fastest of {args.repeat} calls"
        )
        client = APIClient()
        client.force_login(admin)
        print(f"{'list':18} {'API ms':>8} {'plain ms':>9} {'ratio':>6}  API bytes")
        with override_settings(ROOT_URLCONF=__name__, ALLOWED_HOSTS=["testserver"]):
            for name in LISTS:
                query = f"?page_size={args.page_size}"
                urls = (f"/api/v1/{name}/{query}", f"/plain/{name}/{query}")
                (api_s, plain_s), api_bytes = timed(client, urls, args.repeat)
                ratio = plain_s / api_s
                flag = "" if ratio >= 0.5 else "  < 0.5"
                print(
                    f"{name:18} {api_s * 1000:8.1f} {plain_s * 1000:9.1f} {ratio:6.2f}  "
                    f"{api_bytes:,}{flag}"
                )
    finally:
        connections.close_all()
        connection.creation.destroy_test_db(original, verbosity=0)


if __name__ == "__main__":
    main()
