"""API for evaluation suites: versioned; a change creates the next version."""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.models import Organization
from apps.common.api import ScopedViewSet, idempotent
from apps.common.serializers import InputSerializer
from apps.evaluations import services
from apps.evaluations.apis.access import DEFINERS, visible_related
from apps.evaluations.models import EvaluationSuite
from apps.registry.models import DatasetVersion


class SuiteOutputSerializer(serializers.ModelSerializer[EvaluationSuite]):
    organization: serializers.SlugRelatedField[Organization] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    created_by = serializers.CharField(
        source="created_by.username", default=None, allow_null=True, read_only=True
    )

    class Meta:
        model = EvaluationSuite
        fields = [
            "id",
            "organization",
            "name",
            "version",
            "description",
            "checks",
            "parameters",
            "thresholds",
            "drift_tolerance",
            "datasets",
            "dataset_checks",
            "created_at",
            "created_by",
        ]


class SuiteInputSerializer(InputSerializer):
    organization = serializers.CharField(
        required=False, allow_blank=True, help_text="Organisation slug (blank: your only one)"
    )
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    checks = serializers.ListField(child=serializers.CharField())
    parameters = serializers.DictField(required=False, default=dict)
    thresholds = serializers.DictField(
        required=False, default=dict, help_text='{"knowledge": {"accuracy": {">=": 0.6}}}'
    )
    drift_tolerance = serializers.DictField(
        required=False, default=dict, help_text='{"knowledge.accuracy": 0.05, "*": 0.05}'
    )
    datasets = serializers.ListField(child=serializers.IntegerField(), help_text="Version ids")
    dataset_checks = serializers.DictField(
        required=False, default=dict, help_text='{"<dataset version id>": ["bias"]}'
    )


class SuiteVersionSerializer(InputSerializer):
    description = serializers.CharField(required=False, allow_blank=True)
    checks = serializers.ListField(child=serializers.CharField(), required=False)
    parameters = serializers.DictField(required=False)
    thresholds = serializers.DictField(required=False)
    drift_tolerance = serializers.DictField(required=False)
    datasets = serializers.ListField(child=serializers.IntegerField(), required=False)
    dataset_checks = serializers.DictField(required=False)


class SuiteApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Versioned suites. A change (PATCH) creates the next version; runs keep theirs."""

    # The dataset ids of each suite in one query, not one per suite.
    queryset = EvaluationSuite.objects.select_related(
        "organization", "created_by"
    ).prefetch_related(Prefetch("datasets", queryset=DatasetVersion.objects.only("id")))
    serializer_class = SuiteOutputSerializer
    write_roles = DEFINERS
    filterset_fields = ["name", "version"]
    ordering_fields = ["name", "version", "created_at"]

    def _datasets(self, ids: list[int]) -> list[DatasetVersion]:
        return [visible_related(DatasetVersion, self.actor, pk, "datasets") for pk in ids]

    @extend_schema(request=SuiteInputSerializer, responses={201: SuiteOutputSerializer})
    @idempotent
    def create(self, request: Request) -> Response:
        data = SuiteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        org = self.write_organization(fields.pop("organization", None))
        suite = services.suite_create(
            organization=org,
            datasets=self._datasets(fields.pop("datasets")),
            created_by=request.user,  # type: ignore[arg-type]
            **fields,
        )
        return Response(SuiteOutputSerializer(suite).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=SuiteVersionSerializer,
        responses={201: SuiteOutputSerializer},
        description="Create the next version of the suite with these changes.",
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        suite = self.get_object()
        data = SuiteVersionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        if "datasets" in changes:
            changes["datasets"] = self._datasets(changes["datasets"])
        version = services.suite_new_version(
            suite=suite,
            created_by=request.user,  # type: ignore[arg-type]
            **changes,
        )
        return Response(SuiteOutputSerializer(version).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, pk: str) -> Response:
        services.suite_delete(suite=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
