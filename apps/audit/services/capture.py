"""Model changes and logins, captured by signal receivers whatever path makes them."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save

from apps.audit.constants import REDACTED
from apps.audit.models import AuditAction
from apps.audit.services.recording import (
    audit_permission_denied,
    audit_record,
    jsonable,
    label_of,
    type_name,
    user_organization_ids,
)
from apps.common.signals import write_refused
from apps.common.tenancy import Actor, actor_for_user, org_id_of


@dataclass(frozen=True)
class _Audited:
    fields: tuple[Any, ...]
    redact: frozenset[str]
    organizations: Callable[[Any], Iterable[int | None]]
    label: Callable[[Any], str]


_AUDITED: dict[type[models.Model], _Audited] = {}
_BEFORE = "_audit_before"
_DELETING = "_audit_deleting"


def _tenant_organizations(instance: models.Model) -> list[int | None]:
    try:
        return [org_id_of(instance)]
    except ObjectDoesNotExist:  # a raw fixture row whose parent is not loaded yet
        return [None]


def register_audited(
    model: type[models.Model],
    *,
    exclude_fields: Iterable[str] = (),
    redact_fields: Iterable[str] = (),
    organizations: Callable[[Any], Iterable[int | None]] | None = None,
    label: Callable[[Any], str] | None = None,
) -> None:
    """Record every create, update and delete of `model`, whatever path makes it.

    Call from the owning app's AppConfig.ready(). Fields with auto_now are left out (the event
    has its own time); redacted fields record that they changed, never their values. Events go
    to the chain of the object's organisation (its TENANT_FIELD) unless `organizations` says
    otherwise. Proxy models of a registered model need registering themselves.
    """
    skip = set(exclude_fields)
    fields = tuple(
        field
        for field in model._meta.concrete_fields
        if not (field.primary_key or field.name in skip or getattr(field, "auto_now", False))
    )
    _AUDITED[model] = _Audited(
        fields=fields,
        redact=frozenset(redact_fields),
        organizations=organizations or _tenant_organizations,
        label=label or label_of,
    )
    uid = f"audit:{type_name(model)}"
    pre_save.connect(_before_save, sender=model, dispatch_uid=f"{uid}:pre_save")
    post_save.connect(_after_save, sender=model, dispatch_uid=f"{uid}:post_save")
    pre_delete.connect(_before_delete, sender=model, dispatch_uid=f"{uid}:pre_delete")
    post_delete.connect(_after_delete, sender=model, dispatch_uid=f"{uid}:post_delete")


def _value(field: Any, value: Any) -> Any:
    # "1" and 1, 1 and 1.0 are one value for the diff; an unconvertible value stays as it is.
    with contextlib.suppress(Exception):
        value = field.to_python(value)
    return jsonable(value)


def _shown(spec: _Audited, field: Any, value: Any) -> Any:
    return REDACTED if field.name in spec.redact and value not in (None, "") else value


def _record_change(
    instance: models.Model,
    action: str,
    changes: dict[str, Any],
    organizations: Iterable[int | None],
    label: str,
    pk: Any,
) -> None:
    for org_id in organizations:
        audit_record(
            action=action,
            organization=org_id,
            object_type=type_name(instance),
            object_id=str(pk),
            label=label,
            changes=changes,
        )


def _before_save(sender: Any, instance: Any, using: str, update_fields: Any, **kwargs: Any) -> None:
    spec = _AUDITED[sender]
    fields = spec.fields
    if update_fields is not None:
        fields = tuple(f for f in fields if f.name in update_fields or f.attname in update_fields)
    before = None
    if fields and instance.pk is not None:
        before = (
            sender._base_manager.using(using)
            .filter(pk=instance.pk)
            .values(*(f.attname for f in fields))
            .first()
        )
    instance.__dict__[_BEFORE] = (fields, before)


def _after_save(sender: Any, instance: Any, **kwargs: Any) -> None:
    spec = _AUDITED[sender]
    fields, before = instance.__dict__.pop(_BEFORE, (spec.fields, None))
    if not fields:
        return
    changes: dict[str, Any] = {}
    for field in fields:
        new = _value(field, field.value_from_object(instance))
        if before is None:
            changes[field.name] = [None, _shown(spec, field, new)]
            continue
        old = _value(field, before[field.attname])
        if old != new:
            changes[field.name] = [_shown(spec, field, old), _shown(spec, field, new)]
    if before is not None and not changes:
        return  # a save that changed nothing is not a change
    action = AuditAction.CREATE if before is None else AuditAction.UPDATE
    _record_change(
        instance,
        action,
        changes,
        spec.organizations(instance),
        spec.label(instance),
        instance.pk,
    )


def _before_delete(sender: Any, instance: Any, using: str, **kwargs: Any) -> None:
    # Organisation, label and stored values are read now: by post_delete the rows they
    # follow may be gone (a cascade deletes children first).
    spec = _AUDITED[sender]
    stored = (
        sender._base_manager.using(using)
        .filter(pk=instance.pk)
        .values(*(f.attname for f in spec.fields))
        .first()
    )
    values = stored or {f.attname: f.value_from_object(instance) for f in spec.fields}
    instance.__dict__[_DELETING] = (
        values,
        list(spec.organizations(instance)),
        spec.label(instance),
        instance.pk,
    )


def _after_delete(sender: Any, instance: Any, **kwargs: Any) -> None:
    spec = _AUDITED[sender]
    values, organizations, label, pk = instance.__dict__.pop(_DELETING)
    changes = {
        field.name: [_shown(spec, field, _value(field, values[field.attname])), None]
        for field in spec.fields
    }
    _record_change(instance, AuditAction.DELETE, changes, organizations, label, pk)


def _on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    actor = actor_for_user(user)
    for org_id in user_organization_ids(user):
        audit_record(action=AuditAction.LOGIN, organization=org_id, obj=user, actor=actor)


def _on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is None:  # logging out a session that was not signed in
        return
    actor = actor_for_user(user)
    for org_id in user_organization_ids(user):
        audit_record(action=AuditAction.LOGOUT, organization=org_id, obj=user, actor=actor)


def _on_login_failed(sender: Any, credentials: dict[str, Any], **kwargs: Any) -> None:
    """Record a failed login on the chains of the user it targeted, else the platform chain.

    An unknown username is recorded only as a digest: people type passwords into the username
    field, and this table can never be cleaned.
    """
    user_model = get_user_model()
    username = str(credentials.get(user_model.USERNAME_FIELD) or "")
    user = (
        user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()
        if username
        else None
    )
    anonymous = Actor()
    if user is None:
        digest = hashlib.sha256(username.encode("utf-8")).hexdigest()[:16]
        audit_record(
            action=AuditAction.LOGIN_FAILED,
            organization=None,
            object_type=type_name(user_model),
            label=f"unknown username (sha256 {digest}…)",
            actor=anonymous,
        )
        return
    for org_id in user_organization_ids(user):
        audit_record(
            action=AuditAction.LOGIN_FAILED, organization=org_id, obj=user, actor=anonymous
        )


def _on_locked_out(
    sender: Any, request: Any, username: Any = None, ip_address: Any = None, **kwargs: Any
) -> None:
    """Record a lockout (django-axes) where the failed logins that caused it are recorded."""
    user_model = get_user_model()
    name = str(username or "")
    user = (
        user_model._default_manager.filter(**{user_model.USERNAME_FIELD: name}).first()
        if name
        else None
    )
    label = f"sign-in locked out after repeated failures from {ip_address or 'unknown address'}"
    chains = user_organization_ids(user) if user is not None else [None]
    for org_id in chains:
        audit_record(
            action=AuditAction.LOGIN_LOCKED_OUT,
            organization=org_id,
            obj=user,
            object_type=None if user is not None else type_name(user_model),
            label=label,
            actor=Actor(),
        )


def _on_write_refused(
    sender: Any, *, request: Any, organization_id: Any, reason: str, **_: Any
) -> None:
    audit_permission_denied(request=request, organization_id=organization_id, reason=reason)


def connect_receivers() -> None:
    from axes.signals import user_locked_out

    write_refused.connect(_on_write_refused, dispatch_uid="audit:write_refused")
    user_locked_out.connect(_on_locked_out, dispatch_uid="audit:locked_out")
    user_logged_in.connect(_on_login, dispatch_uid="audit:login")
    user_logged_out.connect(_on_logout, dispatch_uid="audit:logout")
    user_login_failed.connect(_on_login_failed, dispatch_uid="audit:login_failed")
