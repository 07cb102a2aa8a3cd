"""API for preference studies: blind pairs, judgments, results and the DPO export."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.models import Role
from apps.common.api import ALL_ROLES, ScopedViewSet
from apps.common.serializers import InputSerializer
from apps.common.tenancy import scope
from apps.evaluations.models import EvaluationRun
from apps.registry.models import DatasetVersion
from apps.signoffs import services
from apps.signoffs.constants import JUDGE_ROLES, MAX_COMMENT
from apps.signoffs.models import PreferenceJudgment, PreferenceStudy
from apps.signoffs.selectors import preferences as selectors

ORGANISERS = (Role.ADMIN, Role.COMPLIANCE_OFFICER)


class StudyOutputSerializer(serializers.ModelSerializer[PreferenceStudy]):
    organization = serializers.CharField(source="organization.slug", read_only=True)
    pairs = serializers.IntegerField(source="pairs.count", read_only=True)

    class Meta:
        model = PreferenceStudy
        fields = [
            "id",
            "organization",
            "name",
            "description",
            "source",
            "label_a",
            "label_b",
            "model_version_a",
            "model_version_b",
            "run_a",
            "run_b",
            "source_sha256",
            "seed",
            "pairs",
            "created_at",
            "closed_at",
        ]


class StudyInputSerializer(InputSerializer):
    organization = serializers.CharField(
        required=False, allow_blank=True, help_text="Organisation slug (blank: your only one)"
    )
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=MAX_COMMENT
    )
    run_a = serializers.IntegerField(required=False)
    run_b = serializers.IntegerField(required=False)
    file = serializers.FileField(
        required=False, help_text="JSONL: one {prompt, answer_a, answer_b} per line"
    )
    label_a = serializers.CharField(required=False, max_length=200, default="A")
    label_b = serializers.CharField(required=False, max_length=200, default="B")
    seed = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1)


class BlindPairSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    position = serializers.IntegerField()
    prompt = serializers.CharField()
    left = serializers.CharField()
    right = serializers.CharField()
    judged_by_you = serializers.BooleanField()


class RatingsSerializer(serializers.Serializer[Any]):
    accuracy = serializers.IntegerField(min_value=1, max_value=5)
    safety = serializers.IntegerField(min_value=1, max_value=5)
    completeness = serializers.IntegerField(min_value=1, max_value=5)
    empathy = serializers.IntegerField(min_value=1, max_value=5)


class SidesSerializer(serializers.Serializer[Any]):
    left = RatingsSerializer()
    right = RatingsSerializer()


class JudgeInputSerializer(InputSerializer):
    pair = serializers.IntegerField()
    preference = serializers.ChoiceField(choices=["left", "right", "tie"])
    ratings = SidesSerializer()
    rationale = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=MAX_COMMENT
    )


class JudgmentOutputSerializer(serializers.ModelSerializer[PreferenceJudgment]):
    pair = serializers.IntegerField(source="pair.position", read_only=True)

    class Meta:
        model = PreferenceJudgment
        fields = [
            "id",
            "pair",
            "reviewer_name",
            "reviewer_role",
            "preference",
            "ratings_a",
            "ratings_b",
            "rationale",
            "created_at",
        ]


class ExportInputSerializer(InputSerializer):
    dataset_name = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=200
    )
    phi_status = serializers.ChoiceField(
        choices=DatasetVersion.PhiStatus.choices,
        required=False,
        help_text="Default: the strictest status of the runs' evaluation data (else none).",
    )
    deidentification_method = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=200
    )


class PreferenceStudyApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Blind pairwise reviews of two model versions' answers, for RLHF/DPO feedback."""

    queryset = PreferenceStudy.objects.select_related("organization")
    serializer_class = StudyOutputSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    read_roles = ALL_ROLES
    write_roles = ORGANISERS
    action_roles = {
        "list": ALL_ROLES,
        "retrieve": ALL_ROLES,
        "create": ORGANISERS,
        "pairs": JUDGE_ROLES,
        "judge": JUDGE_ROLES,
        "judgments": ALL_ROLES,
        "results": ALL_ROLES,
        "close": ORGANISERS,
        "export": ORGANISERS,
    }
    filterset_fields = ["source"]
    ordering_fields = ["created_at", "name"]

    @extend_schema(request=StudyInputSerializer, responses={201: StudyOutputSerializer})
    def create(self, request: Request) -> Response:
        data = StudyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        org = self.write_organization(values.get("organization"))
        kwargs: dict[str, Any] = {}
        if "file" in values:
            if "run_a" in values or "run_b" in values:
                raise serializers.ValidationError({"file": ["Give runs or a file, not both."]})
            pairs, sha256 = services.pairs_from_upload(values["file"])
            kwargs = {
                "pairs": pairs,
                "source_sha256": sha256,
                "labels": (values["label_a"], values["label_b"]),
            }
        else:
            runs = scope(EvaluationRun.objects.select_related("model_version"), self.actor)
            for side in ("run_a", "run_b"):
                if side not in values:
                    raise serializers.ValidationError(
                        {side: ["Required (or upload a file of pairs)."]}
                    )
                kwargs[side] = runs.filter(pk=values[side]).first()
                if kwargs[side] is None:
                    raise serializers.ValidationError({side: ["No such run."]})
        study = services.preference_study_create(
            organization=org,
            created_by=request.user,  # type: ignore[arg-type]
            name=values["name"],
            description=values["description"],
            seed=values.get("seed"),
            **kwargs,
        )
        return Response(StudyOutputSerializer(study).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=BlindPairSerializer(many=True))
    @action(detail=True, methods=["get"])
    def pairs(self, request: Request, pk: str) -> Response:
        """The pairs, blind: left and right in the study's recorded random order."""
        study = self.get_object()
        user: Any = request.user
        judged = set(
            PreferenceJudgment.objects.filter(pair__study=study, reviewer=user).values_list(
                "pair_id", flat=True
            )
        )
        queryset = study.pairs.order_by("position")
        page = self.paginate_queryset(queryset)
        rows = [
            {**selectors.blind_pair(pair), "judged_by_you": pair.pk in judged}
            for pair in (page if page is not None else queryset)
        ]
        return self.get_paginated_response(rows) if page is not None else Response(rows)

    @extend_schema(request=JudgeInputSerializer, responses={201: JudgmentOutputSerializer})
    @action(detail=True, methods=["post"])
    def judge(self, request: Request, pk: str) -> Response:
        study = self.get_object()
        data = JudgeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        pair = study.pairs.filter(pk=values["pair"]).first()
        if pair is None:
            raise serializers.ValidationError({"pair": ["No such pair in this study."]})
        judgment = services.preference_judgment_create(
            pair=pair,
            reviewer=request.user,  # type: ignore[arg-type]
            reviewer_role=self.actor.role_in(study.organization_id) or "",
            choice=values["preference"],
            ratings=values["ratings"],
            rationale=values["rationale"],
        )
        return Response(JudgmentOutputSerializer(judgment).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=JudgmentOutputSerializer(many=True))
    @action(detail=True, methods=["get"])
    def judgments(self, request: Request, pk: str) -> Response:
        """Judgments you may see: yours, and others' only on pairs you have judged."""
        study = self.get_object()
        queryset = selectors.visible_judgments(study=study, actor=self.actor).order_by(
            "pair__position", "id"
        )
        page = self.paginate_queryset(queryset)
        rows = JudgmentOutputSerializer(page if page is not None else queryset, many=True).data
        return self.get_paginated_response(rows) if page is not None else Response(rows)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def results(self, request: Request, pk: str) -> Response:
        study = self.get_object()
        allowed, reason = selectors.results_visible(study=study, actor=self.actor)
        if not allowed:
            raise exceptions.PermissionDenied(reason)
        return Response(selectors.study_results(study=study))

    @extend_schema(request=None, responses=StudyOutputSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str) -> Response:
        study = services.preference_study_close(study=self.get_object())
        return Response(StudyOutputSerializer(study).data)

    @extend_schema(request=ExportInputSerializer, responses={201: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def export(self, request: Request, pk: str) -> Response:
        """Register the judgments as a preference dataset version (prompt, chosen, rejected)."""
        study = self.get_object()
        data = ExportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        export = services.preference_study_export(
            study=study,
            user=request.user,  # type: ignore[arg-type]
            dataset_name=data.validated_data["dataset_name"],
            phi_status=data.validated_data.get("phi_status"),
            deidentification_method=data.validated_data["deidentification_method"],
        )
        version = export.dataset_version
        return Response(
            {
                "study": study.pk,
                "rows": export.rows,
                "dataset": version.dataset_id,
                "dataset_version": version.pk,
                "version": version.version,
                "sha256": version.sha256,
                "format": version.format,
                "provenance": version.provenance,
            },
            status=status.HTTP_201_CREATED,
        )
