"""Appending events: one hash-chained insert per event, in the caller's transaction."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import connections, models, router, transaction
from django.db.models.fields.files import FieldFile

from apps.accounts.models import Membership
from apps.audit.constants import LOCK_NAMESPACE, MAX_LABEL, MAX_USER_AGENT, PLATFORM_CHAIN
from apps.audit.models import AuditAction, AuditEvent
from apps.audit.selectors import chain_events, record_from_row
from apps.audit.services.context import AuditContext, current_context
from apps.audit.verify import GENESIS_HASH, compute_hash, format_time
from apps.common.tenancy import Actor, actor_for_request, org_id_of

OrgRef = models.Model | int | None


def _clip(text: str, limit: int) -> str:
    return text.replace("\x00", "\ufffd")[:limit]


def jsonable(value: Any) -> Any:
    """A JSON value that survives a round trip through jsonb unchanged, so hashes re-verify.

    Floats and decimals are kept as text: jsonb would print 1e16 as an integer.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return _clip(str(value), sys.maxsize)
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, set | frozenset):
        return sorted((jsonable(item) for item in value), key=repr)
    if isinstance(value, FieldFile):
        return value.name or ""
    if isinstance(value, bytes | memoryview):
        return "sha256:" + hashlib.sha256(bytes(value)).hexdigest()
    return str(value)


def type_name(model: type[models.Model] | models.Model) -> str:
    return f"{model._meta.app_label}.{model._meta.model_name}"


def label_of(obj: models.Model) -> str:
    try:
        return str(obj)
    except ObjectDoesNotExist:  # a __str__ that follows a relation already deleted
        return f"{type_name(obj)} {obj.pk}"


def chain_lock_key(organization_id: int | None) -> int:
    """The 63-bit advisory lock key of a chain (positive, so it fits a signed bigint)."""
    chain = PLATFORM_CHAIN if organization_id is None else str(organization_id)
    digest = hashlib.sha256(f"{LOCK_NAMESPACE}:{chain}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


# The database clock and the chain's tip in one round trip (an empty chain gives NULLs).
_TIP_SQL = (
    "SELECT clock_timestamp(), tip.seq, tip.hash FROM (SELECT 1) AS one LEFT JOIN ("
    f"SELECT seq, hash FROM {AuditEvent._meta.db_table} WHERE organization_id {{match}} "
    "ORDER BY seq DESC LIMIT 1) AS tip ON true"
)


def _append(organization_id: int | None, fields: dict[str, Any]) -> AuditEvent:
    """Link one event to the tip of its chain and insert it, in the caller's transaction.

    savepoint=False: if the append fails, the caller's whole transaction must roll back, so no
    change is ever committed without its event. On PostgreSQL the chain's advisory lock is the
    first statement of the append; it is held to commit, so the tip read by the next statement
    is the committed tip under READ COMMITTED (a new snapshot per statement), even when the
    caller's transaction did other work before (under REPEATABLE READ the tip would be stale).
    The unique constraints on (organisation, seq) and (organisation, prev_hash) turn any missed
    serialisation into an IntegrityError, never a fork. The lock is held from a transaction's
    first audited write to its commit, so two transactions that then wait on each other's row
    locks deadlock: PostgreSQL aborts one, whose change and events roll back together.
    """
    alias = router.db_for_write(AuditEvent)
    connection = connections[alias]
    with transaction.atomic(using=alias, savepoint=False):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s)", [chain_lock_key(organization_id)]
                )
                if organization_id is None:
                    cursor.execute(_TIP_SQL.format(match="IS NULL"))
                else:
                    cursor.execute(_TIP_SQL.format(match="= %s"), [organization_id])
                occurred_at, tip_seq, tip_hash = cursor.fetchone()
        else:
            # SQLite lets one writer in at a time; its time comes from the Python clock.
            tip = (
                chain_events(organization_id)
                .using(alias)
                .order_by("-seq")
                .values_list("seq", "hash")
                .first()
            )
            occurred_at = datetime.now(UTC)
            tip_seq, tip_hash = tip if tip else (None, None)
        event = AuditEvent(
            organization_id=organization_id,
            seq=(tip_seq or 0) + 1,
            occurred_at=occurred_at,
            prev_hash=tip_hash or GENESIS_HASH,
            **fields,
        )
        event.hash = compute_hash(record_from_row(event))
        event.save(using=alias, force_insert=True)
    return event


def _actor_fields(
    actor: Actor | None, organization_id: int | None, context: AuditContext
) -> tuple[str, int | None, str]:
    if actor is None or (actor.user is None and actor.token is None):
        return ("anonymous" if context.request is not None else context.system_actor), None, ""
    role = actor.role_in(organization_id) or ""
    if not role and getattr(actor.user, "is_superuser", False):
        role = "superuser"
    return actor.label, getattr(actor.user, "pk", None), role


def audit_record(
    *,
    action: str,
    organization: OrgRef,
    obj: models.Model | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    label: str = "",
    changes: Mapping[str, Any] | None = None,
    actor: Actor | None = None,
) -> AuditEvent:
    """Append one event to the organisation's chain (None: the platform chain)."""
    organization_id = organization.pk if isinstance(organization, models.Model) else organization
    if obj is not None:
        object_type = object_type or type_name(obj)
        object_id = object_id if object_id is not None else str(obj.pk)
        label = label or label_of(obj)
    context = current_context()
    if actor is None and context.request is not None:
        actor = actor_for_request(context.request)
    actor_label, actor_user_id, actor_role = _actor_fields(actor, organization_id, context)
    return _append(
        organization_id,
        {
            "actor": _clip(actor_label, 200),
            "actor_user_id": actor_user_id,
            "actor_role": actor_role,
            "source": _clip(context.source, 100),
            "action": action,
            "object_type": object_type or "",
            "object_id": _clip(object_id or "", 64),
            "object_label": _clip(label, MAX_LABEL),
            "changes": jsonable(dict(changes or {})),
            "request_id": context.request_id,
            "client_ip": context.client_ip,
            "user_agent": _clip(context.user_agent, MAX_USER_AGENT),
        },
    )


def audit_download(*, obj: models.Model, label: str = "") -> AuditEvent:
    """Record that a stored file (dataset version, report) was handed out."""
    return audit_record(
        action=AuditAction.DOWNLOAD, organization=org_id_of(obj), obj=obj, label=label
    )


def audit_permission_denied(*, request: Any, organization_id: int | None, reason: str) -> None:
    """Record a refused write, on the chain of the organisation it targeted when known.

    Otherwise on the chains of the caller's organisations: a refusal is about their own actions.
    """
    actor = actor_for_request(request)
    chains: list[int | None] = [organization_id] if organization_id is not None else []
    for org_id in chains or actor.org_ids or [None]:
        audit_record(
            action=AuditAction.PERMISSION_DENIED,
            organization=org_id,
            label=f"{request.method} {request.path}: {reason}",
            actor=actor,
        )


def user_organization_ids(user: Any) -> list[int | None]:
    """The chains a user's own events go to: each of their organisations, else the platform."""
    ids = Membership.objects.filter(user_id=user.pk).values_list("organization_id", flat=True)
    return [*sorted(ids)] or [None]
