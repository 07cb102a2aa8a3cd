"""Writes to the audit trail: every event is one hash-chained append in the caller's transaction.

Three ways in:
- `audit_record()` for events that are not model changes (downloads, permission denials);
- model changes, captured whatever the path (API, portal, admin, command, shell) by the
  save/delete receivers of every model registered with `register_audited()`;
- Django's auth signals, for logins, failed logins and logouts.

Who and from where come from `audit_context()`: the middleware opens one per request, and
`manage.py <command>` is named after the command. `QuerySet.update()`, `bulk_create()` and
`bulk_update()` send no signals: the product's services never use them on audited models.
"""

from apps.audit.services.capture import connect_receivers, register_audited
from apps.audit.services.context import AuditContext, audit_context, current_context
from apps.audit.services.recording import (
    audit_download,
    audit_permission_denied,
    audit_record,
    chain_lock_key,
    user_organization_ids,
)
from apps.audit.services.verification import (
    chain_verification_fail,
    chain_verification_request,
    chain_verification_run,
)

__all__ = [
    "AuditContext",
    "audit_context",
    "audit_download",
    "audit_permission_denied",
    "audit_record",
    "chain_lock_key",
    "chain_verification_fail",
    "chain_verification_request",
    "chain_verification_run",
    "connect_receivers",
    "current_context",
    "register_audited",
    "user_organization_ids",
]
