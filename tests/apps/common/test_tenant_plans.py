"""Every tenant-scoped list is served without reading another tenant's rows (PostgreSQL).

Each list endpoint is called as an admin of a small organisation while another organisation
holds a hundred times more rows in every table; the planner's statistics are fresh (ANALYZE).
Every SELECT the request runs is then EXPLAIN ANALYZEd: a scan that reads more rows of a
tenant table per loop than the caller's organisation has there has read other tenants' rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.accounts.models import Membership, Organization, Role, User
from apps.common.tenancy import Actor, scope
from tests.tenant_rows import analyze, audit_events, tenant_rows

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL planner"),
]

OWN, OTHER = 30, 2000
# The known case: an organisation with a long trail of its own, beside a far longer one.
OWN_AUDIT, OTHER_AUDIT = 2000, 20000

PLANNER_OFF = ("enable_seqscan", "enable_hashjoin", "enable_mergejoin")
LISTS = {
    "organizations": ["name", "created_at"],
    "memberships": ["created_at", "role"],
    "tokens": ["created_at", "expires_at"],
    "models": ["name", "created_at", "updated_at"],
    "model-versions": ["created_at", "version_label"],
    "datasets": ["name", "created_at"],
    "dataset-versions": ["created_at", "version"],
    "audit": ["id", "seq", "occurred_at"],
    "suites": ["name", "version", "created_at"],
    "runs": ["created_at", "finished_at", "status"],
    "schedules": ["name", "created_at"],
    "drift-alerts": ["created_at"],
    "model-cards": ["created_at", "version", "issued_at"],
}


def _urls() -> Iterator[str]:
    for name, fields in LISTS.items():
        yield f"/api/v1/{name}/"
        for field in fields:
            yield f"/api/v1/{name}/?ordering=-{field}"
    yield "/api/v1/audit/?ordering=id&page=2&page_size=10"
    yield "/api/v1/runs/?ordering=created_at&page=2&page_size=10"
    yield "/api/v1/audit/?actor=system:bulk&page_size=200"
    yield "/api/v1/audit/?since=2000-01-01T00:00:00Z&until=2999-01-01T00:00:00Z"
    yield "/api/v1/audit/?object_type=registry.aimodel&object_id=7"


@pytest.fixture(scope="module")
def tenants(django_db_setup: Any, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    """Two organisations, built once for the module inside a transaction rolled back after."""
    with django_db_blocker.unblock():
        from django.db import transaction

        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            own = Organization.objects.create(name="Small clinic", slug="small-clinic")
            other = Organization.objects.create(name="Large payer", slug="large-payer")
            admin = User.objects.create(username="small-admin")
            Membership.objects.create(user=admin, organization=own, role=Role.ADMIN)
            tenant_rows(own, OWN, blob_kb=0)
            audit_events(own, OWN_AUDIT - OWN)
            tenant_rows(other, OTHER, blob_kb=0)
            audit_events(other, OTHER_AUDIT - OTHER)
            analyze()
            yield {"admin": admin, "counts": own_counts(own)}
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def own_counts(org: Organization) -> dict[str, int]:
    """Rows of the organisation per tenant table (keyed by model name, as in table names)."""
    counts = {"user": User.objects.filter(memberships__organization=org).count()}
    actor = Actor(roles={org.pk: Role.ADMIN})
    for model in apps.get_models():
        if hasattr(model, "TENANT_FIELD") and model is not Organization:
            counts[model._meta.model_name or ""] = scope(model.objects.all(), actor).count()
    return counts


def _scans(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _scans(child)


def _foreign_reads(sql: str, own_rows: dict[str, int]) -> list[str]:
    """The scans of this query that read more rows of a tenant table than the caller owns."""
    with connection.cursor() as cursor:
        # Tables of a few thousand rows make whole-table scans and joins cheap; at a million
        # rows, where a tenant is a small part of each table, the planner must find index
        # paths that start at the organisation. Ask for those: is there one for every query?
        for setting in PLANNER_OFF:
            cursor.execute(f"SET {setting} = off")
        try:
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
            raw = cursor.fetchone()[0]
        finally:
            for setting in PLANNER_OFF:
                cursor.execute(f"RESET {setting}")
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
    found = []
    for node in _scans(plan):
        table = node.get("Relation Name", "")
        model = table.split("_", 1)[-1]
        if model not in own_rows:
            continue
        read = (
            node.get("Actual Rows", 0)
            + node.get("Rows Removed by Filter", 0)
            + node.get("Rows Removed by Index Recheck", 0)
        )
        if read > own_rows[model]:
            found.append(f"{node['Node Type']} on {table} read {read} rows per loop")
    return found


@pytest.mark.parametrize("url", list(_urls()))
def test_list_reads_only_the_callers_rows(tenants: dict[str, Any], url: str) -> None:
    client = APIClient()
    client.force_authenticate(tenants["admin"])
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    problems = []
    for query in queries.captured_queries:
        sql = query["sql"]
        if sql.lstrip().upper().startswith("SELECT"):
            problems += [f"{p}\n  {sql[:300]}" for p in _foreign_reads(sql, tenants["counts"])]
    assert not problems, "\n".join(problems)


def test_a_walk_through_other_tenants_rows_is_caught(tenants: dict[str, Any]) -> None:
    # The audit list before its (organization, id) index: the primary key walked backwards.
    own = tenants["admin"].memberships.get().organization_id
    sql = f"SELECT id FROM audit_auditevent WHERE organization_id + 0 = {own} ORDER BY id DESC"
    sql += " LIMIT 50"
    assert _foreign_reads(sql, tenants["counts"]) == [
        "Index Scan on audit_auditevent read 20050 rows per loop"
    ]


def _mislead_the_planner(own: int) -> None:
    """Statistics under which walking the primary key looks cheap: the caller's organisation
    holds most events, and they are scattered through the table (correlation 0), as every
    tenant's events are, interleaved, in a production table. Rolled back with the test."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attnum FROM pg_attribute WHERE attrelid = 'audit_auditevent'::regclass"
            " AND attname = 'organization_id'"
        )
        column = cursor.fetchone()[0]
        where = "WHERE starelid = 'audit_auditevent'::regclass AND staattnum = %s"
        for slot in range(1, 6):
            # Most common values (kind 1): the caller's at 95%; correlation (kind 3): none.
            cursor.execute(
                f"UPDATE pg_statistic SET stanumbers{slot} = ARRAY(SELECT CASE WHEN v = %s"
                f" THEN 0.95 ELSE 0.05 END FROM unnest(stavalues{slot}::text::bigint[]) v)"
                f"::real[] {where} AND stakind{slot} = 1",
                [own, column],
            )
            cursor.execute(
                f"UPDATE pg_statistic SET stanumbers{slot} = '{{0}}' {where} AND stakind{slot} = 3",
                [column],
            )


@pytest.mark.parametrize("url", [url for url in _urls() if url.startswith("/api/v1/audit/")])
def test_the_audit_list_reads_only_the_callers_rows_whatever_the_statistics(
    tenants: dict[str, Any], url: str
) -> None:
    own = tenants["admin"].memberships.get().organization_id
    _mislead_the_planner(own)
    # These statistics make PostgreSQL walk the primary key for id order (the old query)...
    walk = f"SELECT id FROM audit_auditevent WHERE organization_id = {own} ORDER BY id DESC"
    assert _foreign_reads(walk + " LIMIT 50", tenants["counts"]), "statistics not misleading"
    # ...but the list serves id order from the organisation's own index.
    test_list_reads_only_the_callers_rows(tenants, url)
