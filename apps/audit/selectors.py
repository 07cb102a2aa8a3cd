"""Reads of the audit trail: scoped event lists, chain heads, verification, export records."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from apps.accounts.models import Role
from apps.audit.constants import EXPORT_CHUNK_SIZE
from apps.audit.models import AuditEvent, ChainVerification
from apps.audit.verify import GENESIS_HASH, HASHED_FIELDS, ChainResult, ChainVerifier, format_time
from apps.common.tenancy import Actor, scope

AUDIT_READERS = (Role.ADMIN, Role.AUDITOR)
# An exported or verified event: the hashed fields and the hash, under their export names.
RECORD_KEYS = (*HASHED_FIELDS, "hash")
RECORD_COLUMNS = tuple("organization_id" if key == "organization" else key for key in RECORD_KEYS)


def record_from_row(row: Sequence[Any] | AuditEvent) -> dict[str, Any]:
    """The record that is hashed and exported, from a RECORD_COLUMNS row or an event."""
    if isinstance(row, AuditEvent):
        row = [getattr(row, column) for column in RECORD_COLUMNS]
    record = dict(zip(RECORD_KEYS, row, strict=True))
    record["occurred_at"] = format_time(record["occurred_at"])
    return record


def audit_reader_organization_ids(actor: Actor) -> list[int]:
    return [org_id for org_id, role in actor.roles.items() if role in AUDIT_READERS]


def audit_event_list(*, actor: Actor) -> QuerySet[AuditEvent]:
    """Events of the organisations where the actor is an admin or an auditor."""
    # Scoped once, to the reader roles only: a second, identical organisation filter would
    # make the planner think the organisation's events are rarer than they are.
    readers = {org: role for org, role in actor.roles.items() if role in AUDIT_READERS}
    return scope(AuditEvent.objects.all(), replace(actor, roles=readers))


# Within one chain, sequence order is id order: an event is written under its chain's lock,
# so a later event of the chain has both the next seq and a higher id.
CHAIN_ORDER = {"id": "seq", "-id": "-seq"}


def audit_event_order(queryset: QuerySet[AuditEvent], *, actor: Actor) -> QuerySet[AuditEvent]:
    """The list in the order asked for, sorted by seq instead of id for a one-chain reader.

    The answer is the same, but only the (organisation, seq) index yields seq order for one
    organisation, while the primary key yields id order for all of them. Asked for id order,
    PostgreSQL weighed walking the primary key backwards, filtering out other tenants'
    events, against the organisation's own index; the two were within a quarter of each
    other, and statistics that make the caller's organisation look large, or its events
    look scattered in the table (as every tenant's are, interleaved, in production), made
    it walk through every newer event of every other tenant.
    """
    if len(audit_reader_organization_ids(actor)) != 1:
        return queryset
    order = queryset.query.order_by
    if not any(isinstance(key, str) and key in CHAIN_ORDER for key in order):
        return queryset
    return queryset.order_by(
        *(CHAIN_ORDER.get(key, key) if isinstance(key, str) else key for key in order)
    )


def chain_events(organization_id: int | None) -> QuerySet[AuditEvent]:
    """The events of one chain: an organisation's, or the platform chain (None)."""
    if organization_id is None:
        return AuditEvent.objects.filter(organization__isnull=True)
    return AuditEvent.objects.filter(organization_id=organization_id)


def audit_records(queryset: QuerySet[AuditEvent]) -> Iterator[dict[str, Any]]:
    """Stream records chain by chain in sequence order, without holding them in memory."""
    rows = (
        queryset.order_by("organization_id", "seq")
        .values_list(*RECORD_COLUMNS)
        .iterator(chunk_size=EXPORT_CHUNK_SIZE)
    )
    for row in rows:
        yield record_from_row(row)


@dataclass(frozen=True)
class ChainHead:
    """The last event of a chain: printed on model cards to anchor the chain outside the DB."""

    organization_id: int | None
    seq: int
    hash: str
    occurred_at: datetime | None


def audit_chain_head(*, organization_id: int | None) -> ChainHead:
    tip = (
        chain_events(organization_id)
        .order_by("-seq")
        .values_list("seq", "hash", "occurred_at")
        .first()
    )
    if tip is None:
        return ChainHead(organization_id, 0, GENESIS_HASH, None)
    return ChainHead(organization_id, *tip)


def audit_chain_verify(*, organization_id: int | None) -> ChainResult:
    """Re-walk one chain from its first event; the result names the first broken event."""
    verifier = ChainVerifier(organization_id)
    for record in audit_records(chain_events(organization_id)):
        if not verifier.add(record):
            break
    return verifier.result


def chain_verification_last(*, organization_id: int) -> ChainVerification | None:
    """The organisation's last finished verification (done or failed), if any."""
    finished = (ChainVerification.Status.DONE, ChainVerification.Status.FAILED)
    return (
        ChainVerification.objects.filter(organization_id=organization_id, status__in=finished)
        .order_by("-id")
        .first()
    )
