"""API for schedules: re-evaluation on a cron, kept in step with a periodic task."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.models import Organization
from apps.common.api import ScopedViewSet, idempotent
from apps.common.serializers import InputSerializer
from apps.evaluations import services
from apps.evaluations.apis.access import DEFINERS, visible_related
from apps.evaluations.models import (
    EvaluationSuite,
    Schedule,
)
from apps.registry.models import AIModel, ModelVersion


class ScheduleOutputSerializer(serializers.ModelSerializer[Schedule]):
    organization: serializers.SlugRelatedField[Organization] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    periodic_task = serializers.CharField(
        source="periodic_task.name", default=None, allow_null=True, read_only=True
    )

    class Meta:
        model = Schedule
        fields = [
            "id",
            "organization",
            "name",
            "suite",
            "model",
            "target",
            "model_version",
            "cron",
            "cron_timezone",
            "enabled",
            "periodic_task",
            "created_at",
        ]


class ScheduleInputSerializer(InputSerializer):
    organization = serializers.CharField(
        required=False, allow_blank=True, help_text="Organisation slug (blank: your only one)"
    )
    name = serializers.CharField(max_length=200)
    suite = serializers.IntegerField()
    model = serializers.IntegerField()
    target = serializers.ChoiceField(choices=Schedule.Target.choices, default="deployed")
    model_version = serializers.IntegerField(required=False, allow_null=True, default=None)
    cron = serializers.CharField(max_length=100, help_text="Five fields, e.g. '0 3 * * 1'")
    cron_timezone = serializers.CharField(max_length=64, default="UTC")
    enabled = serializers.BooleanField(default=True)


class ScheduleApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Re-evaluation on a cron, kept in step with a django-celery-beat periodic task."""

    queryset = Schedule.objects.select_related("organization", "periodic_task")
    serializer_class = ScheduleOutputSerializer
    write_roles = DEFINERS
    filterset_fields = ["suite", "model", "enabled", "target"]
    ordering_fields = ["name", "created_at"]

    def _relations(self, fields: dict[str, Any]) -> dict[str, Any]:
        if "suite" in fields:
            fields["suite"] = visible_related(EvaluationSuite, self.actor, fields["suite"], "suite")
        if "model" in fields:
            fields["model"] = visible_related(AIModel, self.actor, fields["model"], "model")
        if fields.get("model_version") is not None:
            fields["model_version"] = visible_related(
                ModelVersion, self.actor, fields["model_version"], "model_version"
            )
        return fields

    @extend_schema(request=ScheduleInputSerializer, responses={201: ScheduleOutputSerializer})
    @idempotent
    def create(self, request: Request) -> Response:
        data = ScheduleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        org = self.write_organization(fields.pop("organization", None))
        schedule = services.schedule_create(organization=org, **self._relations(fields))
        return Response(ScheduleOutputSerializer(schedule).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ScheduleInputSerializer, responses=ScheduleOutputSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        schedule = self.get_object()
        data = ScheduleInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        if "organization" in fields:
            raise serializers.ValidationError(
                {"organization": ["A schedule cannot move organisation."]}
            )
        schedule = services.schedule_update(schedule=schedule, **self._relations(fields))
        return Response(ScheduleOutputSerializer(schedule).data)

    def destroy(self, request: Request, pk: str) -> Response:
        services.schedule_delete(schedule=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
