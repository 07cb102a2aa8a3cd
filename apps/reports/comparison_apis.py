"""API for comparison reports: alignment evidence as signed, downloadable, verifiable documents.

Admins, compliance officers and model developers create a report (signed with the
organisation's card key, like an issued card); every member reads and downloads (audited);
verification goes through /model-cards/verify/, which accepts a report's digest or file too.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.models import Role
from apps.common.api import ScopedViewSet, idempotent
from apps.common.serializers import InputSerializer
from apps.common.tenancy import scope
from apps.evaluations.models import EvaluationRun, EvaluationSuite
from apps.reports import comparison_report as service
from apps.reports.apis import stored_file_response
from apps.reports.models import ComparisonReport
from apps.reports.pdf import RenderError
from apps.reports.reasoning_runs import StudyRefused, requested_run
from worker import tasks

CREATORS = (Role.ADMIN, Role.COMPLIANCE_OFFICER, Role.MODEL_DEVELOPER)


class ComparisonReportOutputSerializer(serializers.ModelSerializer[ComparisonReport]):
    organization: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    sha256 = serializers.SerializerMethodField()
    files = serializers.SerializerMethodField()

    class Meta:
        model = ComparisonReport
        fields = [
            "id",
            "organization",
            "kind",
            "model",
            "model_version",
            "baseline_version",
            "suite",
            "summary",
            "sha256",
            "files",
            "created_at",
        ]

    def get_sha256(self, obj: ComparisonReport) -> dict[str, str]:
        return {fmt: obj.sha256_of(fmt) for fmt in ComparisonReport.FORMATS}

    def get_files(self, obj: ComparisonReport) -> dict[str, str]:
        request = self.context.get("request")
        urls = {}
        for fmt in ComparisonReport.FORMATS:
            path = reverse("comparison-report-file", kwargs={"pk": obj.pk, "fmt": fmt})
            urls[fmt] = str(request.build_absolute_uri(path)) if request else path
        return urls


class ComparisonReportInputSerializer(InputSerializer):
    suite = serializers.IntegerField(min_value=1, help_text="The suite version both runs used")
    versions = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        min_length=2,
        max_length=10,
        help_text="Model version ids; the first is the baseline, the last the version the "
        "report is evidence for (its cards cite the report)",
    )


class ReasoningStudyInputSerializer(InputSerializer):
    run = serializers.IntegerField(
        min_value=1, help_text="A succeeded run of a suite whose parameters ask for the study"
    )


class ReportFileAlteredError(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "report_file_altered"


class ComparisonReportApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Signed paired version comparisons and reasoning-mode studies: create, list, download."""

    queryset = ComparisonReport.objects.select_related("organization")
    serializer_class = ComparisonReportOutputSerializer
    write_roles = CREATORS
    filterset_fields = ["kind", "model", "model_version", "suite"]
    ordering_fields = ["created_at"]

    @extend_schema(
        request=ComparisonReportInputSerializer,
        responses={201: ComparisonReportOutputSerializer},
        description="Compare model versions evaluated by the same suite version and issue the "
        "result as a signed PDF/A-3b and JSON report. 400 with the reason when the versions "
        "cannot be compared like for like (different suite versions, no shared items).",
    )
    @idempotent
    def create(self, request: Request) -> Response:
        data = ComparisonReportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        suite = (
            scope(EvaluationSuite.objects.all(), self.actor)
            .filter(pk=data.validated_data["suite"])
            .first()
        )
        if suite is None:
            raise exceptions.ValidationError({"suite": ["No such suite."]})
        self.require_role(suite.organization_id)
        try:
            report = service.version_comparison_report_create(
                actor=self.actor,
                suite_id=suite.pk,
                version_ids=data.validated_data["versions"],
                user=request.user,
                token=self.actor.token,
            )
        except service.ComparisonRefused as exc:
            raise exceptions.ValidationError({"versions": [str(exc)]}) from exc
        except RenderError as exc:
            raise exceptions.APIException(f"The report could not be rendered: {exc}") from exc
        body = ComparisonReportOutputSerializer(report, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=ReasoningStudyInputSerializer,
        responses={202: OpenApiTypes.OBJECT},
        description="Queue the reasoning-mode study of a succeeded run (direct vs "
        "chain-of-thought answering of the suite's knowledge items, on a gpu worker); the "
        "signed report appears in this list (kind reasoning_study) for the run's model "
        "version. 400 naming what to change when the suite does not ask for the study.",
    )
    @action(detail=False, methods=["post"])
    @idempotent
    def reasoning(self, request: Request) -> Response:
        data = ReasoningStudyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = (
            scope(EvaluationRun.objects.select_related("suite"), self.actor)
            .filter(pk=data.validated_data["run"])
            .first()
        )
        if run is None:
            raise exceptions.ValidationError({"run": ["No such run."]})
        self.require_role(run.organization_id)
        try:
            requested_run(run=run)
        except StudyRefused as exc:
            raise exceptions.ValidationError({"run": [str(exc)]}) from exc
        tasks.send_reasoning_study(run.pk, getattr(request.user, "pk", None))
        return Response(
            {"run": run.pk, "model_version": run.model_version_id, "status": "queued"},
            status=status.HTTP_202_ACCEPTED,
        )

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    @action(detail=True, methods=["get"], url_path=r"files/(?P<fmt>pdf|json)", url_name="file")
    def file(self, request: Request, pk: str, fmt: str) -> HttpResponse:
        report = self.get_object()
        try:
            found = service.report_file(report=report, fmt=fmt, actor=self.actor)
        except service.ReportFileMissing as exc:
            raise exceptions.NotFound(str(exc)) from exc
        except service.ReportFileAltered as exc:
            raise ReportFileAlteredError(str(exc)) from exc
        return stored_file_response(found, fmt)
