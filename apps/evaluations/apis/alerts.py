"""API for drift alerts: regressions found by scheduled runs, and their acknowledgement."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from apps.common.api import ScopedViewSet
from apps.evaluations import services
from apps.evaluations.apis.access import DEFINERS
from apps.evaluations.models import DriftAlert


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
