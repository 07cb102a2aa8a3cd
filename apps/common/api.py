"""API plumbing shared by every app: error shape, pagination, idempotent POSTs, scoped views."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.db import IntegrityError, transaction
from django.http import Http404
from rest_framework import exceptions, status, viewsets
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from apps.common.models import IdempotencyKey
from apps.common.parsers import check_request_text
from apps.common.roles import ALL_ROLES as ALL_ROLES  # re-exported for the apps' views
from apps.common.roles import Role
from apps.common.tenancy import Actor, actor_for_request, org_id_of, scope, tenant_model


class IdempotencyConflict(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = (
        "This Idempotency-Key was already used for a different request; "
        "use a new key for a new request."
    )


def _request_digest(request: Request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode() if request.method else b"")
    digest.update(request.path.encode())
    data = request.data
    fields = dict(data.lists()) if hasattr(data, "lists") else data
    digest.update(json.dumps(fields, sort_keys=True, default=str).encode())
    # A retry sends the same bytes: two different files of one name and size are two requests.
    for name, uploads in sorted(request.FILES.lists()):
        for upload in uploads:
            digest.update(f"{name}:{upload.name}:{upload.size}".encode())
            for chunk in upload.chunks():
                digest.update(chunk)
    return digest.hexdigest()


def _owner(request: Request) -> str:
    actor = actor_for_request(request)
    if actor.token is not None:
        return f"token:{actor.token.pk}"
    return f"user:{getattr(request.user, 'pk', None)}"


def _storable(view: Any, body: Any) -> Any:
    """The response body to keep for replays, without the view's `idempotent_secret_fields`:
    a secret shown once (an API token) must not be stored in clear nor shown again."""
    secret = getattr(view, "idempotent_secret_fields", ())
    if secret and isinstance(body, dict):
        return {name: value for name, value in body.items() if name not in secret}
    return body


def idempotent(view: Callable[..., Response]) -> Callable[..., Response]:
    """Honour the Idempotency-Key header: a retried POST replays the first response.

    The status code is the first one's; the body too, unless the view defines
    `idempotent_replay(body)`, which returns the object's current representation.

    The key is stored in the same transaction as the write, so of two concurrent requests
    with one key exactly one commits; the other replays its response.
    """

    @wraps(view)
    def wrapper(self: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get("Idempotency-Key")
        if not key:
            return view(self, request, *args, **kwargs)
        if len(key) > 255:
            raise exceptions.ValidationError({"Idempotency-Key": ["At most 255 characters."]})
        owner, digest = _owner(request), _request_digest(request)

        def replay() -> Response | None:
            stored = IdempotencyKey.objects.filter(owner=owner, key=key).first()
            if stored is None:
                return None
            if stored.request_digest != digest:
                raise IdempotencyConflict()
            # A view may show the object as it is now (a run that has finished since).
            current = getattr(self, "idempotent_replay", None)
            body = stored.response_body if current is None else current(stored.response_body)
            return Response(
                body,
                status=stored.status_code,
                headers={"Idempotent-Replayed": "true"},
            )

        replayed = replay()
        if replayed is not None:
            return replayed
        try:
            with transaction.atomic():
                response = view(self, request, *args, **kwargs)
                if 200 <= response.status_code < 300:
                    IdempotencyKey.objects.create(
                        owner=owner,
                        key=key,
                        method=request.method or "",
                        path=request.path,
                        request_digest=digest,
                        status_code=response.status_code,
                        response_body=_storable(self, response.data),
                    )
        except IntegrityError:
            replayed = replay()
            if replayed is None:
                raise
            return replayed
        return response

    return wrapper


def roles_for_action(view: Any, action: str | None, method: str | None) -> tuple[str, ...]:
    """The roles a view declares for one of its actions.

    `action_roles` names an action's roles explicitly ({"destroy": CURATORS, "issue": ...});
    other actions need `read_roles` to read and `write_roles` to write.
    """
    declared = getattr(view, "action_roles", {})
    if action in declared:
        return tuple(declared[action])
    if method in SAFE_METHODS:
        return tuple(getattr(view, "read_roles", ALL_ROLES))
    return tuple(getattr(view, "write_roles", ()))


def refusal_message(roles: Iterable[str]) -> str:
    labels = dict(Role.choices)
    names = ", ".join(str(labels.get(role, role)).lower() for role in roles) or "none"
    return f"{RolePermission.message} Roles allowed: {names}."


class RolePermission(BasePermission):
    """The one authorisation rule of the API: an action needs one of its declared roles
    (`roles_for_action`) in the organisation of the object it acts on.

    Objects outside the caller's organisations never reach this check because querysets are
    scoped (they 404 first). A create names its target organisation in the request body, so
    the view checks it with `ScopedViewSet.require_role` once it has found it.
    """

    message = "Your role in this organisation does not allow this action."

    def _roles(self, view: Any, request: Request) -> Iterable[str]:
        roles = roles_for_action(view, getattr(view, "action", None), request.method)
        self.message = refusal_message(roles)
        return roles

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        actor = actor_for_request(request)
        roles = set(self._roles(view, request))
        return any(role in roles for role in actor.roles.values())

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        actor: Actor = actor_for_request(request)
        return actor.has_role(org_id_of(obj), self._roles(view, request))


class ScopedViewSet(viewsets.GenericViewSet):  # type: ignore[type-arg]
    """Base for tenant-data endpoints: the queryset is always scoped to the caller."""

    permission_classes = [RolePermission]
    read_roles: tuple[str, ...] = ALL_ROLES
    write_roles: tuple[str, ...] = ()
    action_roles: dict[str, tuple[str, ...]] = {}
    audit_organization_id: int | None = None  # the organisation a refused write targeted
    # The columns a list returns (related ones as "relation__column"): a list loads only
    # these, not the large JSON and text it never shows (documents, manifests).
    list_columns: tuple[str, ...] = ()

    @property
    def actor(self) -> Actor:
        return actor_for_request(self.request)

    def get_queryset(self) -> Any:
        queryset = scope(super().get_queryset(), self.actor)
        if self.list_columns and getattr(self, "action", None) == "list":
            queryset = queryset.only(*self.list_columns)
        return queryset

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if request.method not in SAFE_METHODS:
            check_request_text(request.data)

    def check_object_permissions(self, request: Request, obj: Any) -> None:
        # A refused write is audited on the chain of the organisation it targeted.
        self.audit_organization_id = org_id_of(obj)
        super().check_object_permissions(request, obj)

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # An unknown or empty ?format= is a mistake in the request (400 naming the formats),
        # not a missing resource (DRF's 404) nor a request for the default format.
        name = self.settings.URL_FORMAT_OVERRIDE
        given = request.query_params.get(name, None) if name else None
        try:
            if given == "":
                raise Http404
            return super().perform_content_negotiation(request, force)
        except (exceptions.NotFound, Http404):
            if force or given is None:
                raise
            formats = sorted({r.format for r in self.get_renderers() if r.format != "api"})
            raise exceptions.ValidationError(
                {name: [f"Unknown format; use one of: {', '.join(formats)}."]}
            ) from None

    def handle_exception(self, exc: Exception) -> Response:
        # An error is JSON in the one error shape, also where the answer would have been a
        # download (CSV, JSON Lines): a client reads why its export was refused.
        response = super().handle_exception(exc)
        renderer = getattr(self.request, "accepted_renderer", None)  # None: negotiation failed
        if renderer is None or renderer.media_type not in ("application/json", "text/html"):
            self.request.accepted_renderer = JSONRenderer()
            self.request.accepted_media_type = JSONRenderer.media_type
        return response

    def check_permissions(self, request: Request) -> None:
        # DRF checks roles before it looks for a handler: an operation the endpoint does not
        # have must be 405 for everyone, not a misleading 403 for readers.
        if not hasattr(self, (request.method or "").lower()):
            self.http_method_not_allowed(request)
        super().check_permissions(request)

    def require_role(self, organization_id: int) -> None:
        """Refuse this action unless the caller holds one of its declared roles in the
        organisation it targets (the parent of a new object); the refusal is audited there."""
        roles = roles_for_action(self, getattr(self, "action", None), self.request.method)
        if not self.actor.has_role(organization_id, roles):
            self.audit_organization_id = organization_id
            raise exceptions.PermissionDenied(refusal_message(roles))

    def write_organization(self, slug: str | None) -> Any:
        """The organisation a new object goes to: named by slug, or the caller's only one
        (an instance of the tenant model, apps.accounts.models.Organization)."""
        organizations = tenant_model()._default_manager
        roles = roles_for_action(self, getattr(self, "action", None), self.request.method)
        allowed = [org for org, role in self.actor.roles.items() if role in roles]
        if slug:
            org = organizations.filter(slug=slug, id__in=self.actor.org_ids).first()
            if org is None:
                raise exceptions.ValidationError({"organization": [f"No organisation {slug!r}."]})
            if org.pk not in allowed:
                self.audit_organization_id = org.pk
                raise exceptions.PermissionDenied(RolePermission.message)
            return org
        if len(allowed) == 1:
            return organizations.get(pk=allowed[0])
        raise exceptions.ValidationError(
            {"organization": ["You belong to several organisations: name one by its slug."]}
        )
