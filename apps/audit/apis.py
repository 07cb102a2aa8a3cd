"""API for auditors: list and filter events, export them (CSV, JSONL), verify the chains."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

import django_filters
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.models import Organization
from apps.audit import selectors, services
from apps.audit.models import AuditAction, AuditEvent, ChainVerification
from apps.audit.selectors import RECORD_KEYS
from apps.common.api import ScopedViewSet
from apps.common.filters import FilterSet
from worker import tasks

ORGANIZATION = OpenApiParameter(
    "organization", str, description="Only this organisation's chain (its slug)"
)
BUFFER_BYTES = 64 * 1024  # streamed in chunks of about this size, not one write per event


class AuditEventOutputSerializer(serializers.ModelSerializer[AuditEvent]):
    organization: serializers.SlugRelatedField[Organization] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = AuditEvent
        fields = ["id", *RECORD_KEYS]


class AuditEventFilter(FilterSet):
    organization = django_filters.CharFilter(field_name="organization__slug")
    since = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ["organization", "actor", "action", "object_type", "object_id", "source"]


class _ExportRenderer(BaseRenderer):
    """Selects the export format from ?format=; exports stream past it, only errors use it."""

    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Any = None,
    ) -> bytes:
        return json.dumps(data).encode("utf-8")


class JSONLinesRenderer(_ExportRenderer):
    media_type = "application/x-ndjson"
    format = "jsonl"


class CSVRenderer(_ExportRenderer):
    media_type = "text/csv"
    format = "csv"


def _buffered(pieces: Iterable[str]) -> Iterator[bytes]:
    buffer: list[str] = []
    size = 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size >= BUFFER_BYTES:
            yield "".join(buffer).encode("utf-8")
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer).encode("utf-8")


def _jsonl(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    for record in records:
        yield json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


# OWASP "CSV Injection": a cell starting with one of these is a formula to a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A value a spreadsheet shows as text: a leading quote defuses a would-be formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    line = io.StringIO()
    writer = csv.writer(line)

    def row(values: Iterable[Any]) -> str:
        line.seek(0)
        line.truncate()
        writer.writerow(values)
        return line.getvalue()

    yield row(RECORD_KEYS)
    for record in records:
        record["changes"] = json.dumps(record["changes"], ensure_ascii=False, sort_keys=True)
        yield row("" if record[key] is None else csv_cell(record[key]) for key in RECORD_KEYS)


class ChainHeadSerializer(serializers.Serializer[Any]):
    organization = serializers.CharField()
    seq = serializers.IntegerField()
    hash = serializers.CharField()
    occurred_at = serializers.DateTimeField(allow_null=True)


class NextVerificationSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=ChainVerification.Status.choices)
    requested_at = serializers.DateTimeField()


class ChainVerificationSerializer(serializers.Serializer[Any]):
    organization = serializers.CharField()
    verified_at = serializers.DateTimeField(
        allow_null=True, help_text="When the result shown was found (null: never verified)"
    )
    intact = serializers.BooleanField(allow_null=True, help_text="null: no result yet")
    events = serializers.IntegerField(help_text="Events verified")
    head_seq = serializers.IntegerField(help_text="Last verified event")
    head_hash = serializers.CharField()
    broken_seq = serializers.IntegerField(allow_null=True, help_text="First broken event")
    problem = serializers.CharField(help_text="What does not match at the first broken event")
    summary = serializers.CharField()
    next = NextVerificationSerializer(
        allow_null=True, help_text="The verification under way (null: none is pending)"
    )


def _verification_body(
    org: Organization, last: ChainVerification | None, pending: ChainVerification | None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "organization": org.slug,
        "verified_at": None,
        "intact": None,
        "events": 0,
        "head_seq": 0,
        "head_hash": "",
        "broken_seq": None,
        "problem": "",
        "summary": "not verified yet",
        "next": None,
    }
    if last is not None:
        body["verified_at"] = last.finished_at
        if last.status == ChainVerification.Status.DONE:
            for key in ("intact", "events", "head_seq", "head_hash", "broken_seq", "problem"):
                body[key] = getattr(last, key)
            body["summary"] = last.summary
        else:
            body["summary"] = f"verification failed: {last.error}"
    if pending is not None and pending.status in services.verification.PENDING:
        body["next"] = {"status": pending.status, "requested_at": pending.requested_at}
    return body


class AuditEventApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """The audit trail of the organisations where the caller is an admin or an auditor.

    Read-only: events are written by the product, never through the API.
    """

    queryset = AuditEvent.objects.all()
    serializer_class = AuditEventOutputSerializer
    read_roles = selectors.AUDIT_READERS
    filterset_class = AuditEventFilter
    ordering_fields = ["id", "seq", "occurred_at"]
    ordering = ["-id"]
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> Any:
        return selectors.audit_event_list(actor=self.actor).select_related("organization")

    def filter_queryset(self, queryset: Any) -> Any:
        queryset = super().filter_queryset(queryset)
        if self.action == "list":
            queryset = selectors.audit_event_order(queryset, actor=self.actor)
        return queryset

    def _organizations(self) -> list[Organization]:
        ids = selectors.audit_reader_organization_ids(self.actor)
        slug = self.request.query_params.get("organization")
        orgs = Organization.objects.filter(id__in=ids).order_by("slug")
        return list(orgs.filter(slug=slug) if slug else orgs)

    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=["jsonl", "csv"], description="Export format")
        ],
        responses={
            (200, "application/x-ndjson"): OpenApiTypes.BINARY,
            (200, "text/csv"): OpenApiTypes.BINARY,
        },
    )
    @action(detail=False, methods=["get"], renderer_classes=[JSONLinesRenderer, CSVRenderer])
    def export(self, request: Request) -> StreamingHttpResponse:
        """Stream the filtered events in chain order, with what an offline verifier needs."""
        queryset = self.filter_queryset(self.get_queryset())
        fmt = request.accepted_renderer.format
        # Exporting is a download of the trail: it is recorded on each chain it reads.
        filters = "&".join(
            f"{key}={value}" for key, value in sorted(request.query_params.items()) if value
        )
        chains = queryset.order_by("organization_id").values_list("organization_id", flat=True)
        for org_id in chains.distinct():
            services.audit_record(
                action=AuditAction.DOWNLOAD,
                organization=org_id,
                object_type="audit.auditevent",
                label=f"audit trail export ({filters})",
            )
        records = selectors.audit_records(queryset)
        pieces = _csv(records) if fmt == "csv" else _jsonl(records)
        response = StreamingHttpResponse(
            _buffered(pieces), content_type=request.accepted_renderer.media_type
        )
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{fmt}"'
        return response

    @extend_schema(parameters=[ORGANIZATION], responses=ChainVerificationSerializer(many=True))
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def verify(self, request: Request) -> Response:
        """The last verification of each of the caller's chains (or ?organization=slug); asks
        a worker to walk each chain again (once: a pending verification is not repeated)."""
        body = []
        for org in self._organizations():
            pending, created = services.chain_verification_request(
                organization_id=org.pk, requested_by=self.actor.label
            )
            if created:
                tasks.send_audit_chain_verify(pending.pk)
            pending.refresh_from_db()  # a worker in-process has already done it
            last = selectors.chain_verification_last(organization_id=org.pk)
            body.append(_verification_body(org, last, pending))
        return Response(ChainVerificationSerializer(body, many=True).data)

    @extend_schema(parameters=[ORGANIZATION], responses=ChainHeadSerializer(many=True))
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def head(self, request: Request) -> Response:
        """The last event (sequence number and hash) of each chain: the anchor for model cards."""
        body = []
        for org in self._organizations():
            head = selectors.audit_chain_head(organization_id=org.pk)
            body.append(
                {
                    "organization": org.slug,
                    "seq": head.seq,
                    "hash": head.hash,
                    "occurred_at": head.occurred_at,
                }
            )
        return Response(ChainHeadSerializer(body, many=True).data)
