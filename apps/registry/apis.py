"""API for the registry: models, model versions, datasets and dataset versions."""

from __future__ import annotations

import json
from typing import Any

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.models import Organization, Role, User
from apps.audit.services import audit_download
from apps.common.api import ScopedViewSet, idempotent
from apps.common.models import TEXT_MAX_LENGTH
from apps.common.parsers import SafeJSONParser
from apps.common.serializers import InputSerializer
from apps.common.tenancy import scope
from apps.registry import services
from apps.registry.constants import ALIGNMENT_TECHNIQUES, HEX40
from apps.registry.models import AIModel, Dataset, DatasetVersion, ModelVersion, ModelVersionDataset

WRITERS = (Role.ADMIN, Role.COMPLIANCE_OFFICER, Role.MODEL_DEVELOPER)
CURATORS = (Role.ADMIN, Role.COMPLIANCE_OFFICER)


class AIModelOutputSerializer(serializers.ModelSerializer[AIModel]):
    organization: serializers.SlugRelatedField[Organization] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    owner = serializers.CharField(
        source="owner.username", default=None, allow_null=True, read_only=True
    )

    class Meta:
        model = AIModel
        fields = [
            "id",
            "organization",
            "name",
            "intended_use",
            "intended_users",
            "target_population",
            "decision_role",
            "out_of_scope_uses",
            "application_area",
            "risk_class",
            "owner",
            "created_at",
            "updated_at",
        ]


class AIModelInputSerializer(InputSerializer):
    organization = serializers.CharField(
        required=False, allow_blank=True, help_text="Organisation slug (blank: your only one)"
    )
    name = serializers.CharField(max_length=200)
    intended_use = serializers.CharField(max_length=TEXT_MAX_LENGTH)
    intended_users = serializers.CharField(
        required=False, allow_blank=True, max_length=TEXT_MAX_LENGTH
    )
    target_population = serializers.CharField(
        required=False, allow_blank=True, max_length=TEXT_MAX_LENGTH
    )
    decision_role = serializers.ChoiceField(choices=AIModel.DecisionRole.choices)
    out_of_scope_uses = serializers.CharField(
        required=False, allow_blank=True, max_length=TEXT_MAX_LENGTH
    )
    application_area = serializers.ChoiceField(choices=AIModel.ApplicationArea.choices)
    risk_class = serializers.ChoiceField(choices=AIModel.RiskClass.choices)
    owner = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, help_text="Username (blank: none)"
    )


class AIModelApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Models as products: intended use, users, population, decision role, risk."""

    queryset = AIModel.objects.select_related("organization", "owner")
    serializer_class = AIModelOutputSerializer
    list_columns = (
        *(f for f in AIModelOutputSerializer.Meta.fields if f not in ("organization", "owner")),
        "organization__slug",
        "owner__username",
    )
    write_roles = WRITERS
    action_roles = {"destroy": CURATORS}
    filterset_fields = ["application_area", "risk_class", "decision_role"]
    ordering_fields = ["name", "created_at", "updated_at"]
    search_fields = ["name"]

    def _owner(self, data: dict[str, Any], organization_id: int) -> None:
        # Looked up among the organisation's members only: no probing for other people.
        if "owner" in data:
            username = data["owner"]
            members = User.objects.filter(memberships__organization_id=organization_id)
            data["owner"] = members.filter(username=username).first() if username else None
            if username and data["owner"] is None:
                raise serializers.ValidationError(
                    {"owner": ["No member of this organisation has this username."]}
                )

    @extend_schema(request=AIModelInputSerializer, responses={201: AIModelOutputSerializer})
    @idempotent
    def create(self, request: Request) -> Response:
        data = AIModelInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        org = self.write_organization(fields.pop("organization", None))
        self._owner(fields, org.pk)
        model = services.ai_model_create(organization=org, **fields)
        return Response(AIModelOutputSerializer(model).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=AIModelInputSerializer, responses=AIModelOutputSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        model = self.get_object()
        data = AIModelInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        if "organization" in fields:
            raise serializers.ValidationError(
                {"organization": ["A model cannot move organisation."]}
            )
        self._owner(fields, model.organization_id)
        model = services.ai_model_update(model=model, **fields)
        return Response(AIModelOutputSerializer(model).data)

    def destroy(self, request: Request, pk: str) -> Response:
        services.ai_model_delete(model=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class TrainingDatasetSerializer(InputSerializer):
    dataset_version = serializers.IntegerField()
    role = serializers.ChoiceField(choices=ModelVersionDataset.Role.choices)


class ModelVersionOutputSerializer(serializers.ModelSerializer[ModelVersion]):
    training_datasets = serializers.SerializerMethodField()
    source = serializers.CharField(read_only=True)  # type: ignore[assignment]

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "model",
            "version_label",
            "source_kind",
            "hub_id",
            "revision",
            "local_path",
            "source",
            "weights_digest",
            "base_model",
            "alignment_techniques",
            "lifecycle_stage",
            "training_datasets",
            "created_at",
            "updated_at",
        ]

    def get_training_datasets(self, obj: ModelVersion) -> list[dict[str, Any]]:
        return [
            {"dataset_version": link.dataset_version_id, "role": link.role}
            for link in obj.dataset_links.all()
        ]


class ModelVersionInputSerializer(InputSerializer):
    model = serializers.IntegerField()
    version_label = serializers.CharField(max_length=100)
    source_kind = serializers.ChoiceField(choices=ModelVersion.SourceKind.choices)
    hub_id = serializers.CharField(required=False, allow_blank=True, default="")
    # Blank (a local model) or a full commit; no default: the schema's default must match.
    revision = serializers.RegexField(
        rf"^(?:{HEX40.strip('^$')})?$",
        required=False,
        allow_blank=True,
        error_messages={"invalid": "A hub revision must be a full 40-character commit hash."},
    )
    local_path = serializers.CharField(required=False, allow_blank=True, default="")
    base_model = serializers.CharField(required=False, allow_blank=True, default="")
    alignment_techniques = serializers.ListField(
        child=serializers.ChoiceField(choices=list(ALIGNMENT_TECHNIQUES.items())),
        required=False,
    )
    # Later stages are reached only through the stage gate (POST /stage-gates/<id>/advance/).
    lifecycle_stage = serializers.ChoiceField(
        choices=ModelVersion.LifecycleStage.choices[:3],
        default="data_curation",
        help_text="Where the version starts: data curation, training or validation.",
    )
    training_datasets = TrainingDatasetSerializer(many=True, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["source_kind"] == "hub":
            if not attrs.get("hub_id") or not attrs.get("revision"):
                raise serializers.ValidationError(
                    {
                        "revision": [
                            "A hub model needs hub_id and a pinned 40-hex revision "
                            "(a commit, not a branch)."
                        ]
                    }
                )
            if attrs.get("local_path"):
                raise serializers.ValidationError({"local_path": ["Not allowed for a hub model."]})
        else:
            if not attrs.get("local_path"):
                raise serializers.ValidationError({"local_path": ["Required for a local model."]})
            if attrs.get("hub_id") or attrs.get("revision"):
                raise serializers.ValidationError({"hub_id": ["Not allowed for a local model."]})
        return attrs


class ModelVersionUpdateSerializer(InputSerializer):
    lifecycle_stage = serializers.CharField(
        required=False, help_text="Not changed here: use POST /api/v1/stage-gates/<id>/advance/."
    )

    def validate_lifecycle_stage(self, value: str) -> str:
        raise serializers.ValidationError(
            "A version changes stage only through its stage gate: "
            'POST /api/v1/stage-gates/<id>/advance/ with {"to_stage": ...}.'
        )

    alignment_techniques = serializers.ListField(
        child=serializers.ChoiceField(choices=list(ALIGNMENT_TECHNIQUES.items())),
        required=False,
    )
    base_model = serializers.CharField(required=False, allow_blank=True)


class ModelVersionApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Pinned builds of a model; the source of a version never changes once registered."""

    queryset = ModelVersion.objects.select_related("model").prefetch_related("dataset_links")
    serializer_class = ModelVersionOutputSerializer
    list_columns = (
        *(
            f
            for f in ModelVersionOutputSerializer.Meta.fields
            if f not in ("source", "training_datasets")
        ),
        "model__id",
    )
    write_roles = WRITERS
    filterset_fields = ["model", "lifecycle_stage", "source_kind"]
    ordering_fields = ["created_at", "version_label"]

    @extend_schema(
        request=ModelVersionInputSerializer, responses={201: ModelVersionOutputSerializer}
    )
    @idempotent
    def create(self, request: Request) -> Response:
        data = ModelVersionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        model = scope(AIModel.objects.all(), self.actor).filter(pk=fields.pop("model")).first()
        if model is None:
            raise serializers.ValidationError({"model": ["No such model."]})
        self.require_role(model.organization_id)
        links = []
        visible = scope(DatasetVersion.objects.all(), self.actor)
        for link in fields.pop("training_datasets", []):
            dataset_version = visible.filter(pk=link["dataset_version"]).first()
            if dataset_version is None:
                raise serializers.ValidationError(
                    {"training_datasets": [f"No dataset version {link['dataset_version']}."]}
                )
            links.append((dataset_version, link["role"]))
        version = services.model_version_create(
            model=model,
            training_datasets=links,
            created_by=request.user,  # type: ignore[arg-type]
            **fields,
        )
        return Response(ModelVersionOutputSerializer(version).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ModelVersionUpdateSerializer, responses=ModelVersionOutputSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        version = self.get_object()
        data = ModelVersionUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = services.model_version_update(version=version, **data.validated_data)
        return Response(ModelVersionOutputSerializer(version).data)


class DatasetOutputSerializer(serializers.ModelSerializer[Dataset]):
    organization: serializers.SlugRelatedField[Organization] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = Dataset
        fields = ["id", "organization", "name", "description", "created_at"]


class DatasetInputSerializer(InputSerializer):
    organization = serializers.CharField(
        required=False, allow_blank=True, help_text="Organisation slug (blank: your only one)"
    )
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=TEXT_MAX_LENGTH
    )


class DatasetApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Named datasets; their files are immutable versions."""

    queryset = Dataset.objects.select_related("organization")
    serializer_class = DatasetOutputSerializer
    write_roles = WRITERS
    ordering_fields = ["name", "created_at"]
    filterset_fields = ["name"]

    @extend_schema(request=DatasetInputSerializer, responses={201: DatasetOutputSerializer})
    @idempotent
    def create(self, request: Request) -> Response:
        data = DatasetInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        org = self.write_organization(fields.pop("organization", None))
        dataset = services.dataset_create(organization=org, **fields)
        return Response(DatasetOutputSerializer(dataset).data, status=status.HTTP_201_CREATED)


class DatasetVersionOutputSerializer(serializers.ModelSerializer[DatasetVersion]):
    class Meta:
        model = DatasetVersion
        fields = [
            "id",
            "dataset",
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
        ]


@extend_schema_field(OpenApiTypes.OBJECT)
class JSONObjectField(serializers.Field):  # type: ignore[type-arg]
    """A JSON object, given as JSON in JSON bodies or as a JSON string in multipart forms."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str):
            try:
                data = json.loads(data) if data.strip() else {}
            except json.JSONDecodeError as exc:
                raise serializers.ValidationError(f"Not valid JSON: {exc.msg}.") from None
        if not isinstance(data, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class DatasetVersionInputSerializer(InputSerializer):
    dataset = serializers.IntegerField()
    file = serializers.FileField(allow_empty_file=True)
    format = serializers.ChoiceField(choices=DatasetVersion.Format.choices)
    phi_status = serializers.ChoiceField(choices=DatasetVersion.PhiStatus.choices)
    deidentification_method = serializers.CharField(required=False, allow_blank=True, default="")
    licence = serializers.CharField(max_length=200)
    provenance = serializers.CharField(max_length=TEXT_MAX_LENGTH)
    inclusion_criteria = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=TEXT_MAX_LENGTH
    )
    exclusion_criteria = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=TEXT_MAX_LENGTH
    )
    demographics = JSONObjectField(required=False)


class DatasetVersionApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Dataset files: uploaded once (multipart), validated, hashed, never changed."""

    queryset = DatasetVersion.objects.all()
    serializer_class = DatasetVersionOutputSerializer
    write_roles = WRITERS
    parser_classes = [MultiPartParser, FormParser, SafeJSONParser]
    filterset_fields = ["dataset", "format", "phi_status"]
    ordering_fields = ["created_at", "version"]

    @extend_schema(
        request=DatasetVersionInputSerializer, responses={201: DatasetVersionOutputSerializer}
    )
    @idempotent
    def create(self, request: Request) -> Response:
        data = DatasetVersionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        dataset = scope(Dataset.objects.all(), self.actor).filter(pk=fields.pop("dataset")).first()
        if dataset is None:
            raise serializers.ValidationError({"dataset": ["No such dataset."]})
        self.require_role(dataset.organization_id)
        version = services.dataset_version_create(
            dataset=dataset,
            upload=fields.pop("file"),
            created_by=request.user,  # type: ignore[arg-type]
            **fields,
        )
        return Response(
            DatasetVersionOutputSerializer(version).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    @action(detail=True, methods=["get"])
    def download(self, request: Request, pk: str) -> FileResponse:
        version = self.get_object()
        handle = version.file.open("rb")
        audit_download(obj=version)
        return FileResponse(handle, as_attachment=True, filename=version.original_filename)
