"""API for organisations (read), memberships and API tokens (admins)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from apps.accounts import selectors, services
from apps.accounts.models import (
    ApiToken,
    Invitation,
    Membership,
    Organization,
    Role,
    ServiceAccount,
)
from apps.common.api import ALL_ROLES, ScopedViewSet, idempotent
from apps.common.serializers import InputSerializer


class OrganizationOutputSerializer(serializers.ModelSerializer[Organization]):
    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "kind", "created_at"]


class OrganizationApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Organisations the caller belongs to."""

    queryset = Organization.objects.all()
    serializer_class = OrganizationOutputSerializer
    lookup_field = "slug"
    filterset_fields = ["kind"]
    ordering_fields = ["name", "created_at"]


class MembershipOutputSerializer(serializers.ModelSerializer[Membership]):
    username = serializers.CharField(source="user.username", read_only=True)
    organization: serializers.SlugRelatedField[Organization] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = Membership
        fields = ["id", "organization", "username", "role", "created_at"]


class MembershipUpdateSerializer(InputSerializer):
    role = serializers.ChoiceField(choices=Role.choices)


class MembershipApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Who holds which role; admins only. People join by accepting an invitation."""

    queryset = Membership.objects.select_related("user", "organization")
    serializer_class = MembershipOutputSerializer
    list_columns = ("id", "role", "created_at", "organization__slug", "user__username")
    read_roles = (Role.ADMIN,)
    write_roles = (Role.ADMIN,)
    filterset_fields = ["role"]
    ordering_fields = ["created_at", "role"]

    def get_queryset(self) -> Any:
        admin_orgs = [org for org, role in self.actor.roles.items() if role == Role.ADMIN]
        return super().get_queryset().filter(organization_id__in=admin_orgs)

    @extend_schema(request=MembershipUpdateSerializer, responses=MembershipOutputSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        membership = self.get_object()
        data = MembershipUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.membership_update(
            membership=membership, role=data.validated_data["role"]
        )
        return Response(MembershipOutputSerializer(membership).data)

    def destroy(self, request: Request, pk: str) -> Response:
        services.membership_delete(membership=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiTokenOutputSerializer(serializers.ModelSerializer[ApiToken]):
    organization: serializers.SlugRelatedField[Organization] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    holder = serializers.CharField(source="holder.username", read_only=True)
    holder_name = serializers.CharField(source="holder.printed_name", read_only=True)
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "organization",
            "name",
            "role",
            "prefix",
            "created_by",
            "holder",
            "holder_name",
            "created_at",
            "expires_at",
            "revoked_at",
            "last_used_at",
            "is_active",
        ]


class ApiTokenCreatedSerializer(ApiTokenOutputSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

    class Meta(ApiTokenOutputSerializer.Meta):
        fields = [*ApiTokenOutputSerializer.Meta.fields, "token"]


class ApiTokenInputSerializer(InputSerializer):
    organization = serializers.CharField(
        required=False, allow_blank=True, help_text="Organisation slug (blank: your only one)"
    )
    name = serializers.CharField(max_length=100)
    role = serializers.ChoiceField(
        choices=Role.choices, required=False, help_text="Default: the holder's current role."
    )
    expires_at = serializers.DateTimeField(required=False)
    service_account = serializers.IntegerField(
        required=False, help_text="Id of the service account that holds the token (default: you)."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # An HTML form's empty field reads as "not given": refuse it rather than silently
        # give the default expiry to a token whose expiry was meant to be set.
        if self.initial_data.get("expires_at", None) == "":
            raise serializers.ValidationError(
                {"expires_at": ["Give a date-time, or leave the field out for 90 days."]}
            )
        return attrs


class ApiTokenApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """API tokens for automation: created and revoked by admins; the secret is shown once."""

    queryset = ApiToken.objects.select_related("organization", "created_by", "holder")
    serializer_class = ApiTokenOutputSerializer
    list_columns = (
        "id",
        "name",
        "role",
        "prefix",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
        "organization__slug",
        "created_by__username",
        "holder__username",
        "holder__first_name",
        "holder__last_name",
    )
    read_roles = (Role.ADMIN,)
    write_roles = (Role.ADMIN,)
    # Everyone sees and revokes the tokens they hold; admins those of their organisations.
    action_roles = {"list": ALL_ROLES, "retrieve": ALL_ROLES, "revoke": ALL_ROLES}
    filterset_fields = ["role"]
    ordering_fields = ["created_at", "expires_at"]
    # A retried create replays the token without its secret, which exists only in clear once.
    idempotent_secret_fields = ("token",)

    def get_queryset(self) -> Any:
        return selectors.api_token_visible(
            super().get_queryset(),
            actor=self.actor,
            user=self.request.user,  # type: ignore[arg-type]
        )

    @extend_schema(request=ApiTokenInputSerializer, responses=ApiTokenCreatedSerializer)
    @idempotent
    def create(self, request: Request) -> Response:
        data = ApiTokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        org = self.write_organization(data.validated_data.get("organization"))
        holder = None
        if "service_account" in data.validated_data:
            account = ServiceAccount.objects.filter(
                pk=data.validated_data["service_account"], organization=org
            ).first()
            if account is None:
                raise serializers.ValidationError(
                    {"service_account": ["No service account with this id in the organisation."]}
                )
            holder = account.user
        issued = services.api_token_create(
            organization=org,
            created_by=request.user,  # type: ignore[arg-type]
            holder=holder,
            name=data.validated_data["name"],
            role=data.validated_data.get("role"),
            expires_at=data.validated_data.get("expires_at"),
        )
        body = ApiTokenOutputSerializer(issued.token).data
        body["token"] = issued.secret
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ApiTokenOutputSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str) -> Response:
        token = services.api_token_revoke(token=self.get_object())
        return Response(ApiTokenOutputSerializer(token).data)


class ServiceAccountOutputSerializer(serializers.ModelSerializer[ServiceAccount]):
    organization: serializers.SlugRelatedField[Organization] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    username = serializers.CharField(source="user.username", read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True)

    class Meta:
        model = ServiceAccount
        fields = ["id", "organization", "name", "username", "created_by", "created_at"]


class ServiceAccountInputSerializer(InputSerializer):
    organization = serializers.CharField(
        required=False, allow_blank=True, help_text="Organisation slug (blank: your only one)"
    )
    name = serializers.CharField(max_length=100)
    role = serializers.ChoiceField(
        choices=[c for c in Role.choices if c[0] != Role.ADMIN],
        help_text="The highest role its tokens may act in.",
    )


class ServiceAccountApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Named service accounts ("release pipeline") that hold tokens and can never sign."""

    queryset = ServiceAccount.objects.select_related("organization", "user", "created_by")
    serializer_class = ServiceAccountOutputSerializer
    read_roles = (Role.ADMIN,)
    write_roles = (Role.ADMIN,)
    ordering_fields = ["name", "created_at"]

    def get_queryset(self) -> Any:
        admin_orgs = [org for org, role in self.actor.roles.items() if role == Role.ADMIN]
        return super().get_queryset().filter(organization_id__in=admin_orgs)

    @extend_schema(request=ServiceAccountInputSerializer, responses=ServiceAccountOutputSerializer)
    @idempotent
    def create(self, request: Request) -> Response:
        data = ServiceAccountInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        org = self.write_organization(data.validated_data.get("organization"))
        account = services.service_account_create(
            organization=org,
            created_by=request.user,  # type: ignore[arg-type]
            name=data.validated_data["name"],
            role=data.validated_data["role"],
        )
        return Response(
            ServiceAccountOutputSerializer(account).data, status=status.HTTP_201_CREATED
        )


class AuthTokenThrottle(SimpleRateThrottle):
    """At most AUTH_TOKEN_THROTTLE_RATE password attempts per client address."""

    scope = "auth_token"

    def get_rate(self) -> str:
        return str(getattr(settings, "AUTH_TOKEN_THROTTLE_RATE", "10/minute"))

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class AuthTokenInputSerializer(InputSerializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)
    organization = serializers.CharField(
        required=False, help_text="Organisation slug (needed if you belong to several)."
    )
    name = serializers.CharField(max_length=100, required=False, default="personal token")
    role = serializers.ChoiceField(
        choices=Role.choices, required=False, help_text="Default: your current role."
    )
    expires_at = serializers.DateTimeField(required=False, help_text="Default: 90 days.")


class AuthTokenObtainApi(APIView):
    """Exchange your username and password for your own API token (shown once).

    The token is held by you, acts at most in your current role and is attributed to you.
    """

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthTokenThrottle]

    @extend_schema(request=AuthTokenInputSerializer, responses={201: ApiTokenCreatedSerializer})
    def post(self, request: Request) -> Response:
        data = AuthTokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        # Through authenticate() so login throttling (django-axes) and the audit's failed-login
        # event see this attempt like any other login.
        user = authenticate(
            request=request._request, username=values["username"], password=values["password"]
        )
        if getattr(request._request, "axes_locked_out", False):
            raise Throttled(detail="Too many failed logins for this account; try again later.")
        if user is None:
            raise serializers.ValidationError({"non_field_errors": ["Wrong username or password."]})
        # From here on the request acts as the person who proved who they are: the token's
        # creation is audited as theirs, not as an anonymous caller's.
        request.user = user
        memberships = Membership.objects.filter(user=user).select_related("organization")
        slug = values.get("organization")
        if slug:
            memberships = memberships.filter(organization__slug=slug)
        chosen = list(memberships[:2])
        if not chosen:
            raise serializers.ValidationError(
                {"organization": ["You are not a member of this organisation."]}
            )
        if len(chosen) > 1:
            raise serializers.ValidationError(
                {"organization": ["You belong to several organisations: name one by its slug."]}
            )
        issued = services.api_token_create(
            organization=chosen[0].organization,
            created_by=user,
            name=values["name"],
            role=values.get("role"),
            expires_at=values.get("expires_at"),
        )
        body = ApiTokenOutputSerializer(issued.token).data
        body["token"] = issued.secret
        return Response(body, status=status.HTTP_201_CREATED)


class InvitationOutputSerializer(serializers.ModelSerializer[Invitation]):
    organization: serializers.SlugRelatedField[Organization] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    invited_by = serializers.CharField(source="invited_by.username", read_only=True)

    class Meta:
        model = Invitation
        fields = [
            "id",
            "organization",
            "username",
            "role",
            "status",
            "invited_by",
            "created_at",
            "expires_at",
            "responded_at",
        ]


class InvitationInputSerializer(InputSerializer):
    organization = serializers.CharField(
        required=False, allow_blank=True, help_text="Organisation slug (blank: your only one)"
    )
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices)


class InvitationApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Invitations to join an organisation: sent and revoked by its admins.

    The answer to a new invitation is the same whether or not the username exists.
    """

    queryset = Invitation.objects.select_related("organization", "invited_by")
    serializer_class = InvitationOutputSerializer
    read_roles = (Role.ADMIN,)
    write_roles = (Role.ADMIN,)
    filterset_fields = ["status", "role"]
    ordering_fields = ["created_at", "expires_at"]
    lookup_value_regex = r"\d+"

    @extend_schema(request=InvitationInputSerializer, responses={201: InvitationOutputSerializer})
    @idempotent
    def create(self, request: Request) -> Response:
        data = InvitationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        org = self.write_organization(data.validated_data.get("organization"))
        invitation = services.invitation_create(
            organization=org,
            invited_by=request.user,  # type: ignore[arg-type]
            username=data.validated_data["username"],
            role=data.validated_data["role"],
        )
        return Response(InvitationOutputSerializer(invitation).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=InvitationOutputSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str) -> Response:
        invitation = services.invitation_revoke(invitation=self.get_object())
        return Response(InvitationOutputSerializer(invitation).data)


class ReceivedInvitationApi(mixins.ListModelMixin, viewsets.GenericViewSet):  # type: ignore[type-arg]
    """The caller's own open invitations, to accept or decline (signed in, not by token)."""

    serializer_class = InvitationOutputSerializer
    permission_classes = [IsAuthenticated]
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> Any:
        return selectors.invitation_list_received(user=self.request.user)  # type: ignore[arg-type]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if isinstance(request.auth, ApiToken):
            raise exceptions.PermissionDenied(
                "Invitations are answered by the person, signed in, not with an API token."
            )

    @extend_schema(request=None, responses={201: MembershipOutputSerializer})
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str) -> Response:
        membership = services.invitation_accept(
            invitation=self.get_object(),
            user=request.user,  # type: ignore[arg-type]
        )
        return Response(MembershipOutputSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=InvitationOutputSerializer)
    @action(detail=True, methods=["post"])
    def decline(self, request: Request, pk: str) -> Response:
        invitation = services.invitation_decline(
            invitation=self.get_object(),
            user=request.user,  # type: ignore[arg-type]
        )
        return Response(InvitationOutputSerializer(invitation).data)
