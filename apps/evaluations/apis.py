"""API for evaluations: suites, runs (progress, results, per-item drill-down, comparison,
cancel), schedules and drift alerts.

Roles: compliance officers (and admins) define suites and schedules and acknowledge alerts;
they and model developers start and cancel runs; every role reads.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.db.models.fields.json import KT
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.models import ApiToken, Organization, Role
from apps.common.api import ScopedViewSet, idempotent
from apps.common.tenancy import scope
from apps.evaluations import selectors, services
from apps.evaluations.constants import RUN_DISPLAY_STATUSES
from apps.evaluations.models import (
    CheckResult,
    DriftAlert,
    EvaluationRun,
    EvaluationSuite,
    ItemResult,
    Schedule,
)
from apps.registry.models import AIModel, DatasetVersion, ModelVersion
from worker import tasks

DEFINERS = (Role.ADMIN, Role.COMPLIANCE_OFFICER)
RUNNERS = (Role.ADMIN, Role.COMPLIANCE_OFFICER, Role.MODEL_DEVELOPER)


def _visible(model: Any, actor: Any, pk: Any, field: str) -> Any:
    obj = scope(model.objects.all(), actor).filter(pk=pk).first()
    if obj is None:
        raise serializers.ValidationError({field: [f"No such {field.replace('_', ' ')}."]})
    return obj


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


class SuiteInputSerializer(serializers.Serializer[Any]):
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


class SuiteVersionSerializer(serializers.Serializer[Any]):
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
        return [_visible(DatasetVersion, self.actor, pk, "datasets") for pk in ids]

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


class RunOutputSerializer(serializers.ModelSerializer[EvaluationRun]):
    organization: serializers.SlugRelatedField[Organization] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    model = serializers.IntegerField(source="model_version.model_id", read_only=True)
    suite_name = serializers.CharField(source="suite.name", read_only=True)
    suite_version = serializers.IntegerField(source="suite.version", read_only=True)
    started_by = serializers.CharField(
        source="started_by.username", default=None, allow_null=True, read_only=True
    )
    eta_seconds = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField(
        help_text="queued, running, succeeded, failed, cancelled; or stalled: queued or running "
        "without progress (stalled_reason says why)"
    )
    reproduced = serializers.SerializerMethodField(
        help_text="For a rerun: whether every metric, verdict and record is bit-identical to "
        "the original's (null until finished, or when not a rerun)."
    )

    class Meta:
        model = EvaluationRun
        fields = [
            "id",
            "organization",
            "model",
            "model_version",
            "suite",
            "suite_name",
            "suite_version",
            "status",
            "verdict",
            "progress",
            "items_done",
            "items_total",
            "eta_seconds",
            "shards_total",
            "trigger",
            "started_by",
            "schedule",
            "due_key",
            "seed",
            "shard_size",
            "error",
            "stalled_reason",
            "cancel_requested",
            "rerun_of",
            "reproduced",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_eta_seconds(self, run: EvaluationRun) -> float | None:
        return selectors.run_eta_seconds(run)

    @extend_schema_field({"type": "string", "enum": list(RUN_DISPLAY_STATUSES)})
    def get_status(self, run: EvaluationRun) -> str:
        return selectors.run_display_status(run)

    def get_reproduced(self, run: EvaluationRun) -> bool | None:
        if hasattr(run, "rerun_reproduced"):  # a list: read from the manifest in the database
            value = run.rerun_reproduced
            return None if value is None else str(value).lower() in ("true", "1")
        found = (run.manifest or {}).get("rerun_of") or {}
        return found.get("reproduced") if isinstance(found, dict) else None


class RunDetailSerializer(RunOutputSerializer):
    class Meta(RunOutputSerializer.Meta):
        fields = [*RunOutputSerializer.Meta.fields, "manifest", "comparison"]


class RunInputSerializer(serializers.Serializer[Any]):
    suite = serializers.IntegerField()
    model_version = serializers.IntegerField()
    seed = serializers.IntegerField(required=False, min_value=0)
    shard_size = serializers.IntegerField(required=False, min_value=1, max_value=100_000)


class CheckResultSerializer(serializers.ModelSerializer[CheckResult]):
    class Meta:
        model = CheckResult
        fields = ["check_name", "verdict", "metrics", "verdicts", "details", "created_at"]


class ItemResultSerializer(serializers.ModelSerializer[ItemResult]):
    specialty = serializers.CharField(
        source="record.specialty", default=None, allow_null=True, read_only=True
    )
    mode = serializers.CharField(
        source="record.mode", default=None, allow_null=True, read_only=True
    )
    # The exact text scored (the record's "context"; `context` is taken by DRF).
    prompt = serializers.CharField(
        source="record.context", default=None, allow_null=True, read_only=True
    )
    options = serializers.JSONField(
        source="record.options", default=None, allow_null=True, read_only=True
    )
    generated = serializers.CharField(
        source="record.generated", default=None, allow_null=True, read_only=True
    )
    bias = serializers.JSONField(
        source="record.bias", default=None, allow_null=True, read_only=True
    )

    class Meta:
        model = ItemResult
        fields = [
            "check_name",
            "item_id",
            "language",
            "task",
            "group",
            "specialty",
            "bias",
            "correct",
            "chosen",
            "gold",
            "mode",
            "prompt",
            "options",
            "generated",
            "shard_index",
        ]


class ItemFilterSerializer(serializers.Serializer[Any]):
    check = serializers.CharField(required=False)
    language = serializers.CharField(required=False)
    group = serializers.CharField(required=False)
    task = serializers.CharField(required=False)
    wrong = serializers.BooleanField(required=False, allow_null=True, default=None)


class CompareInputSerializer(serializers.Serializer[Any]):
    a = serializers.IntegerField(help_text="The earlier run")
    b = serializers.IntegerField(help_text="The later run (its suite's drift tolerance applies)")


class RunApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Evaluation runs: start (queued on the gpu queue), follow, read results, cancel."""

    queryset = EvaluationRun.objects.select_related(
        "organization", "suite", "model_version", "started_by"
    )
    serializer_class = RunOutputSerializer
    write_roles = RUNNERS
    # Not the manifests and comparisons (kilobytes each), which only a run's detail shows.
    list_columns = (
        *(
            f
            for f in RunOutputSerializer.Meta.fields
            if f not in ("organization", "model", "suite_name", "suite_version", "started_by")
            and f not in ("eta_seconds", "reproduced")
        ),
        "organization__slug",
        "model_version__model_id",
        "suite__name",
        "suite__version",
        "started_by__username",
    )
    filterset_fields = {
        "status": ["exact"],
        "verdict": ["exact"],
        "trigger": ["exact"],
        "suite": ["exact"],
        "suite__name": ["exact"],
        "model_version": ["exact"],
        "model_version__model": ["exact"],
        "schedule": ["exact"],
        "created_at": ["gte", "lte"],
    }
    ordering_fields = ["created_at", "finished_at", "status"]

    def get_queryset(self) -> Any:
        runs = super().get_queryset()
        if self.action == "list":
            # Whether a rerun reproduced, from the manifest in the database (not loaded).
            runs = runs.annotate(rerun_reproduced=KT("manifest__rerun_of__reproduced"))
        return runs

    def get_serializer_class(self) -> Any:
        return RunDetailSerializer if self.action == "retrieve" else RunOutputSerializer

    def idempotent_replay(self, body: Any) -> Any:
        """A replayed start shows the run as it is now, not as it was when queued."""
        run = self.get_queryset().filter(pk=body.get("id")).first()
        return body if run is None else RunDetailSerializer(run).data

    @extend_schema(request=RunInputSerializer, responses={202: RunDetailSerializer})
    @idempotent
    def create(self, request: Request) -> Response:
        """Queue a run: 202 at once; the start is sent after commit (later, if the broker is
        down: the sweeper sends it when it is back)."""
        data = RunInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        suite = _visible(EvaluationSuite, self.actor, fields.pop("suite"), "suite")
        version = _visible(ModelVersion, self.actor, fields.pop("model_version"), "model_version")
        self.require_role(suite.organization_id)
        token = request.auth if isinstance(request.auth, ApiToken) else None
        run = services.run_create(
            suite=suite,
            model_version=version,
            trigger=EvaluationRun.Trigger.API,
            started_by=request.user,  # type: ignore[arg-type]
            started_by_token=token,
            **fields,
        )
        tasks.send_run_start(run.pk)
        run.refresh_from_db()
        return Response(RunDetailSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses=RunDetailSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        run = services.run_cancel(run=self.get_object())
        return Response(RunDetailSerializer(run).data)

    @extend_schema(request=None, responses={202: RunDetailSerializer})
    @action(detail=True, methods=["post"])
    def rerun(self, request: Request, pk: str) -> Response:
        """Run the same suite version, model version and seed again, linked to this run."""
        original = self.get_object()
        token = request.auth if isinstance(request.auth, ApiToken) else None
        run = services.run_rerun(
            run=original,
            started_by=request.user,  # type: ignore[arg-type]
            started_by_token=token,
        )
        tasks.send_run_start(run.pk)
        run.refresh_from_db()
        return Response(RunDetailSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=CheckResultSerializer(many=True))
    @action(detail=True, methods=["get"])
    def results(self, request: Request, pk: str) -> Response:
        run = self.get_object()
        results = CheckResult.objects.filter(run=run).order_by("check_name")
        return Response(CheckResultSerializer(results, many=True).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("check", str, description="One check"),
            OpenApiParameter("language", str, description="One language (ISO 639-1)"),
            OpenApiParameter("group", str, description="A specialty, or attribute=value"),
            OpenApiParameter("task", str, description="mcq, nota, fake, fct, vignette"),
            OpenApiParameter("wrong", bool, description="true: wrong answers only"),
        ],
        responses=ItemResultSerializer(many=True),
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def items(self, request: Request, pk: str) -> Response:
        run = self.get_object()
        filters = ItemFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        items = selectors.run_items(run=run, **filters.validated_data)
        page = self.paginate_queryset(items)
        return self.get_paginated_response(ItemResultSerializer(page, many=True).data)

    @extend_schema(
        parameters=[CompareInputSerializer],
        responses=OpenApiTypes.OBJECT,
        description="Per metric: the change from run a to run b, and verdict changes.",
    )
    @action(detail=False, methods=["get"], filter_backends=[])
    def compare(self, request: Request) -> Response:
        data = CompareInputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        runs = self.get_queryset()
        a = get_object_or_404(runs, pk=data.validated_data["a"])
        b = get_object_or_404(runs, pk=data.validated_data["b"])
        for run in (a, b):
            if run.status != EvaluationRun.Status.SUCCEEDED:
                raise serializers.ValidationError(
                    {"a" if run is a else "b": [f"Run {run.pk} is {run.status}, not succeeded."]}
                )
        if a.suite_id != b.suite_id:
            # Different suite versions score different items or thresholds: a "regression"
            # between them would be an artefact of the change, not of the model.
            raise serializers.ValidationError(
                {
                    "b": [
                        f"Run {a.pk} used {a.suite} and run {b.pk} used {b.suite}: only runs "
                        "of the same suite version are compared."
                    ]
                }
            )
        return Response(selectors.run_comparison(previous=a, run=b))


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


class ScheduleInputSerializer(serializers.Serializer[Any]):
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
            fields["suite"] = _visible(EvaluationSuite, self.actor, fields["suite"], "suite")
        if "model" in fields:
            fields["model"] = _visible(AIModel, self.actor, fields["model"], "model")
        if fields.get("model_version") is not None:
            fields["model_version"] = _visible(
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


class DriftAlertSerializer(serializers.ModelSerializer[DriftAlert]):
    class Meta:
        model = DriftAlert
        fields = [
            "id",
            "model",
            "run",
            "previous_run",
            "kind",
            "check_name",
            "metric",
            "previous_value",
            "value",
            "tolerance",
            "message",
            "acknowledged_at",
            "created_at",
        ]


class DriftAlertApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Regressions and newly failed thresholds found by scheduled runs; open ones flag the
    model in the portal until acknowledged."""

    queryset = DriftAlert.objects.all()
    serializer_class = DriftAlertSerializer
    write_roles = DEFINERS
    filterset_fields = {
        "model": ["exact"],
        "run": ["exact"],
        "kind": ["exact"],
        "acknowledged_at": ["isnull"],
    }
    ordering_fields = ["created_at"]

    @extend_schema(request=None, responses=DriftAlertSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str) -> Response:
        alert = services.drift_alert_acknowledge(alert=self.get_object())
        return Response(DriftAlertSerializer(alert).data)
