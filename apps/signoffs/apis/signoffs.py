"""API for sign-offs (Part 11 signatures), stage requirements and stage gates."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.models import Role
from apps.common.api import ALL_ROLES, ScopedViewSet
from apps.common.serializers import InputSerializer
from apps.common.tenancy import org_id_of, scope
from apps.evaluations.models import EvaluationRun
from apps.registry.models import DatasetVersion, ModelVersion
from apps.reports.models import ModelCard
from apps.signoffs import selectors, services
from apps.signoffs.constants import MAX_COMMENT, SIGNER_ROLES, Meaning, Stage, TargetType
from apps.signoffs.models import SignOff
from apps.signoffs.selectors.signatures import DigestCache, SignatureState, signature_states

TARGET_MODELS = {
    TargetType.DATASET_VERSION: DatasetVersion,
    TargetType.MODEL_VERSION: ModelVersion,
    TargetType.EVALUATION_RUN: EvaluationRun,
    TargetType.MODEL_CARD: ModelCard,
}
GATEKEEPERS = (Role.ADMIN, Role.COMPLIANCE_OFFICER)


def signature_body(state: SignatureState) -> dict[str, Any]:
    s = state.signoff
    withdrawal = getattr(s, "withdrawal", None) if state.withdrawn else None
    return {
        "id": s.pk,
        "target_type": s.target_type,
        "target_id": str(s.target_id),
        "stage": s.stage,
        "meaning": s.meaning,
        "comment": s.comment,
        "signer_name": s.signer_name,
        "signer_role": s.signer_role,
        "signed_at": selectors.utc_iso(s.signed_at),
        "manifestation": state.manifestation,
        "record_digest": s.record_digest,
        "current_record_digest": state.current_digest,
        "canonical_version": s.canonical_version,
        "current": state.current,
        "stale": state.stale,
        "withdrawn": state.withdrawn,
        "withdrawal": (
            {
                "withdrawn_by": withdrawal.withdrawn_by_name,
                "withdrawn_at": selectors.utc_iso(withdrawal.withdrawn_at),
                "reason": withdrawal.reason,
            }
            if withdrawal
            else None
        ),
    }


class SignOffOutputSerializer(serializers.Serializer[Any]):
    """A signature as shown everywhere: printed name, UTC time, meaning (21 CFR 11.50)."""

    id = serializers.IntegerField()
    target_type = serializers.ChoiceField(choices=TargetType.choices)
    target_id = serializers.CharField()
    stage = serializers.ChoiceField(choices=Stage.choices)
    meaning = serializers.ChoiceField(choices=Meaning.choices)
    comment = serializers.CharField()
    signer_name = serializers.CharField()
    signer_role = serializers.CharField()
    signed_at = serializers.CharField(help_text="ISO 8601, UTC")
    manifestation = serializers.CharField(help_text="Printed name — meaning — time (UTC)")
    record_digest = serializers.CharField(help_text="SHA-256 of the canonical record signed")
    current_record_digest = serializers.CharField()
    canonical_version = serializers.CharField()
    current = serializers.BooleanField()
    stale = serializers.BooleanField(help_text="The record changed after it was signed")
    withdrawn = serializers.BooleanField()
    withdrawal = serializers.DictField(allow_null=True)


class SignOffInputSerializer(InputSerializer):
    target_type = serializers.ChoiceField(choices=TargetType.choices)
    target_id = serializers.CharField(max_length=64)
    stage = serializers.ChoiceField(choices=Stage.choices)
    meaning = serializers.ChoiceField(choices=Meaning.choices)
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=MAX_COMMENT
    )
    password = serializers.CharField(
        trim_whitespace=False,
        max_length=4096,
        help_text="Your password, re-entered for every signature (a token alone never signs).",
    )


class WithdrawInputSerializer(InputSerializer):
    password = serializers.CharField(trim_whitespace=False, max_length=4096)
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=MAX_COMMENT
    )


class CanonicalQuerySerializer(InputSerializer):
    target_type = serializers.ChoiceField(choices=TargetType.choices)
    target_id = serializers.CharField(max_length=64)


class SignOffApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Electronic signatures; each shows whether it is still current for its record."""

    queryset = SignOff.objects.select_related(
        "dataset_version", "model_version", "evaluation_run", "model_card", "withdrawal"
    )
    serializer_class = SignOffOutputSerializer
    read_roles = ALL_ROLES
    write_roles = SIGNER_ROLES
    action_roles = {"create": SIGNER_ROLES, "withdraw": SIGNER_ROLES, "record": ALL_ROLES}
    filterset_fields = [
        "target_type",
        "model_version",
        "dataset_version",
        "evaluation_run",
        "model_card",
        "stage",
        "meaning",
        "signer_role",
    ]
    ordering_fields = ["signed_at"]

    def _target(self, target_type: str, target_id: str) -> Any:
        model = TARGET_MODELS[TargetType(target_type)]
        try:
            target = scope(model._default_manager.all(), self.actor).filter(pk=target_id).first()
        except (ValueError, TypeError, DjangoValidationError):  # e.g. a malformed card UUID
            target = None
        if target is None:
            raise serializers.ValidationError({"target_id": [f"No such {target_type}."]})
        return target

    def list(self, request: Request) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        states = signature_states(list(page if page is not None else queryset), DigestCache())
        body = [signature_body(s) for s in states]
        return self.get_paginated_response(body) if page is not None else Response(body)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(signature_body(signature_states([self.get_object()])[0]))

    @extend_schema(request=SignOffInputSerializer, responses={201: SignOffOutputSerializer})
    def create(self, request: Request) -> Response:
        data = SignOffInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        target = self._target(values["target_type"], values["target_id"])
        org_id = org_id_of(target)
        if not self.actor.has_role(org_id, SIGNER_ROLES):
            self.audit_organization_id = org_id
            self.permission_denied(request, message="Your role cannot sign.")
        signoff = services.signoff_create(
            signer=request.user,  # type: ignore[arg-type]
            signer_role=self.actor.role_in(org_id),
            password=values["password"],
            target_type=values["target_type"],
            target=target,
            stage=values["stage"],
            meaning=values["meaning"],
            comment=values["comment"],
        )
        body = signature_body(signature_states([signoff])[0])
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=WithdrawInputSerializer, responses=SignOffOutputSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str) -> Response:
        signoff = self.get_object()
        data = WithdrawInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.signoff_withdraw(
            signoff=signoff,
            user=request.user,  # type: ignore[arg-type]
            password=data.validated_data["password"],
            reason=data.validated_data["reason"],
        )
        fresh = self.get_queryset().get(pk=signoff.pk)
        return Response(signature_body(signature_states([fresh])[0]))

    @extend_schema(parameters=[CanonicalQuerySerializer], responses=OpenApiTypes.OBJECT)
    @action(detail=False, methods=["get"])
    def record(self, request: Request) -> Response:
        """The canonical JSON a signature of this record is bound to, and its SHA-256."""
        query = CanonicalQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        target_type = query.validated_data["target_type"]
        target = self._target(target_type, query.validated_data["target_id"])
        text = selectors.record_canonical(target_type=target_type, record=target)
        return Response(
            {
                "canonical": text.decode("utf-8"),
                "sha256": selectors.record_digest(target_type=target_type, record=target),
            }
        )


class StageRequirementSerializer(InputSerializer):
    stage = serializers.ChoiceField(choices=Stage.choices)
    roles = serializers.ListField(child=serializers.ChoiceField(choices=Role.choices))
    organization = serializers.CharField(
        required=False, allow_blank=True, help_text="Organisation slug (blank: your only one)"
    )


class StageRequirementOutputSerializer(serializers.Serializer[Any]):
    organization = serializers.CharField(help_text="Organisation slug")
    stage = serializers.ChoiceField(choices=Stage.choices)
    roles = serializers.ListField(child=serializers.ChoiceField(choices=Role.choices))
    default = serializers.BooleanField(help_text="The default, not set by the organisation")


class StageRequirementApi(ScopedViewSet):
    """Which roles must sign each lifecycle stage (default: clinical reviewer + compliance
    officer); admins change it."""

    queryset = ModelVersion.objects.none()
    serializer_class = StageRequirementOutputSerializer
    write_roles = (Role.ADMIN,)
    pagination_class = None

    @extend_schema(responses=StageRequirementOutputSerializer(many=True))
    def list(self, request: Request) -> Response:
        from apps.accounts.models import Organization

        orgs = Organization.objects.filter(id__in=self.actor.org_ids)
        return Response(
            [
                {"organization": org.slug, **row}
                for org in orgs
                for row in selectors.gates.stage_requirements(organization_id=org.pk)
            ]
        )

    @extend_schema(
        request=StageRequirementSerializer, responses={201: StageRequirementOutputSerializer}
    )
    def create(self, request: Request) -> Response:
        data = StageRequirementSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        org = self.write_organization(data.validated_data.get("organization"))
        row = services.stage_requirement_set(
            organization=org, stage=data.validated_data["stage"], roles=data.validated_data["roles"]
        )
        return Response(
            {"organization": org.slug, "stage": row.stage, "roles": row.roles, "default": False},
            status=status.HTTP_201_CREATED,
        )


class GateOutputSerializer(serializers.Serializer[Any]):
    model_version = serializers.IntegerField()
    stage = serializers.CharField()
    next_stage = serializers.CharField(allow_null=True)
    open = serializers.BooleanField()
    required_roles = serializers.ListField(child=serializers.CharField())
    missing = serializers.ListField(child=serializers.CharField())
    latest_run = serializers.IntegerField(allow_null=True)


class AdvanceInputSerializer(InputSerializer):
    to_stage = serializers.ChoiceField(choices=Stage.choices)


def gate_body(version: ModelVersion) -> dict[str, Any]:
    gate = selectors.stage_gate(model_version=version)
    return {
        "model_version": version.pk,
        "stage": gate.stage,
        "next_stage": gate.next_stage,
        "open": gate.open,
        "required_roles": list(gate.required_roles),
        "missing": gate.missing,
        "latest_run": gate.latest_run,
    }


class StageGateApi(mixins.RetrieveModelMixin, ScopedViewSet):
    """A model version's stage gate: GET says what is missing; POST advance/ moves it on."""

    queryset = ModelVersion.objects.select_related("model")
    serializer_class = GateOutputSerializer
    action_roles = {"retrieve": ALL_ROLES, "advance": GATEKEEPERS}

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(gate_body(self.get_object()))

    @extend_schema(request=AdvanceInputSerializer, responses=GateOutputSerializer)
    @action(detail=True, methods=["post"])
    def advance(self, request: Request, pk: str) -> Response:
        version = self.get_object()
        data = AdvanceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = services.model_version_stage_advance(
            model_version=version, to_stage=data.validated_data["to_stage"]
        )
        return Response(gate_body(version))
