"""API for alignment evidence: paired comparison of model versions on one suite version.

Every member reads (auditors and payers included); producing the report is audited.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.common.api import ScopedViewSet
from apps.common.serializers import InputSerializer
from apps.common.tenancy import actor_for_request
from apps.evaluations.models import EvaluationRun
from apps.evaluations.services.comparisons import ComparisonRefused, version_comparison


class VersionComparisonInputSerializer(InputSerializer):
    suite = serializers.IntegerField(min_value=1, help_text="The suite version both runs used")
    versions = serializers.CharField(
        help_text="Comma-separated model version ids; the first is the baseline"
    )

    def validate_versions(self, value: str) -> list[int]:
        parts = [p.strip() for p in value.split(",") if p.strip()]
        if not all(p.isdigit() for p in parts):
            raise serializers.ValidationError("Give model version ids separated by commas: 3,5.")
        if not 2 <= len(parts) <= 10:
            raise serializers.ValidationError("Compare between 2 and 10 model versions.")
        return [int(p) for p in parts]


class VersionComparisonApi(ScopedViewSet):
    """Does the new version really help? B - A per check and group, paired, Holm-adjusted."""

    queryset = EvaluationRun.objects.none()

    @extend_schema(
        parameters=[VersionComparisonInputSerializer],
        responses={200: OpenApiTypes.OBJECT},
        description=(
            "Compare model versions evaluated by the same suite version on the same items: "
            "for each later version against the first, per check and per specialty, language "
            "and demographic group, the accuracy difference with Newcombe's paired interval, "
            "McNemar's test and Holm-adjusted decisions; the items that changed from right to "
            "wrong; each version's alignment techniques and training datasets; and the "
            "specialty x language generalisation map of each version. 400 with the reason "
            "when the versions cannot be compared like for like."
        ),
    )
    def list(self, request: Request) -> Response:
        data = VersionComparisonInputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        try:
            report = version_comparison(
                actor=actor_for_request(request),
                suite_id=data.validated_data["suite"],
                version_ids=data.validated_data["versions"],
            )
        except ComparisonRefused as exc:
            raise serializers.ValidationError({"versions": [str(exc)]}) from exc
        return Response(report)
