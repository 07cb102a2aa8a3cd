"""API for evaluation runs: start, follow, results, per-item drill-down, comparison,
cancel and rerun."""

from __future__ import annotations

from typing import Any

from django.db.models.fields.json import KT
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.models import ApiToken, Organization
from apps.common.api import ScopedViewSet, idempotent
from apps.common.serializers import InputSerializer
from apps.evaluations import selectors, services
from apps.evaluations.apis.access import RUNNERS, visible_related
from apps.evaluations.constants import RUN_DISPLAY_STATUSES
from apps.evaluations.models import (
    CheckResult,
    EvaluationRun,
    EvaluationSuite,
    ItemResult,
)
from apps.registry.models import ModelVersion
from worker import tasks


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


class RunInputSerializer(InputSerializer):
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


class ItemFilterSerializer(InputSerializer):
    check = serializers.CharField(required=False)
    language = serializers.CharField(required=False)
    group = serializers.CharField(required=False)
    task = serializers.CharField(required=False)
    wrong = serializers.BooleanField(required=False, allow_null=True, default=None)


class CompareInputSerializer(InputSerializer):
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
        suite = visible_related(EvaluationSuite, self.actor, fields.pop("suite"), "suite")
        version = visible_related(
            ModelVersion, self.actor, fields.pop("model_version"), "model_version"
        )
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
