"""API for organisations (read), memberships and API tokens (admins)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts import services
from apps.accounts.models import ApiToken, Membership, Organization, Role, User
from apps.common.api import ScopedViewSet, idempotent


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


class MembershipInputSerializer(serializers.Serializer[Any]):
    organization = serializers.CharField(
        required=False, allow_blank=True, help_text="Organisation slug (blank: your only one)"
    )
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices)


class MembershipUpdateSerializer(serializers.Serializer[Any]):
    role = serializers.ChoiceField(choices=Role.choices)


class MembershipApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Who holds which role; admins only."""

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

    @extend_schema(request=MembershipInputSerializer, responses=MembershipOutputSerializer)
    @idempotent
    def create(self, request: Request) -> Response:
        data = MembershipInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        org = self.write_organization(data.validated_data.get("organization"))
        user = User.objects.filter(username=data.validated_data["username"]).first()
        if user is None:
            raise serializers.ValidationError({"username": ["No user with this username."]})
        membership = services.membership_create(
            organization=org, user=user, role=data.validated_data["role"]
        )
        return Response(MembershipOutputSerializer(membership).data, status=status.HTTP_201_CREATED)

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


class ApiTokenInputSerializer(serializers.Serializer[Any]):
    organization = serializers.CharField(
        required=False, allow_blank=True, help_text="Organisation slug (blank: your only one)"
    )
    name = serializers.CharField(max_length=100)
    role = serializers.ChoiceField(choices=Role.choices)
    expires_at = serializers.DateTimeField(required=False)

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

    queryset = ApiToken.objects.select_related("organization", "created_by")
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
    )
    read_roles = (Role.ADMIN,)
    write_roles = (Role.ADMIN,)
    filterset_fields = ["role"]
    ordering_fields = ["created_at", "expires_at"]
    # A retried create replays the token without its secret, which exists only in clear once.
    idempotent_secret_fields = ("token",)

    def get_queryset(self) -> Any:
        admin_orgs = [org for org, role in self.actor.roles.items() if role == Role.ADMIN]
        return super().get_queryset().filter(organization_id__in=admin_orgs)

    @extend_schema(request=ApiTokenInputSerializer, responses=ApiTokenCreatedSerializer)
    @idempotent
    def create(self, request: Request) -> Response:
        data = ApiTokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        org = self.write_organization(data.validated_data.get("organization"))
        issued = services.api_token_create(
            organization=org,
            created_by=request.user,  # type: ignore[arg-type]
            name=data.validated_data["name"],
            role=data.validated_data["role"],
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
