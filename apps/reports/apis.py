"""API for model cards and the documentation they need.

Compliance officers and admins draft and issue; model developers may draft (a release
pipeline's token); every member, auditors included, reads and downloads; any signed-in user of
any organisation may verify a card by digest or upload, and learns only what the card shows.
"""

from __future__ import annotations

import re
from typing import Any, cast

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.models import Organization, Role
from apps.common.api import ScopedViewSet, idempotent
from apps.common.parsers import SafeJSONParser
from apps.common.serializers import InputSerializer
from apps.common.tenancy import scope
from apps.common.uploads import UploadTooLarge
from apps.registry.models import AIModel, ModelVersion
from apps.reports import comparison_report, selectors, services, signing
from apps.reports.constants import DOCUMENTATION_FIELDS, FORMATS, VERIFY_MAX_BYTES
from apps.reports.document import document_build
from apps.reports.models import CardProfile, ModelCard, ModelDocumentation
from apps.reports.profiles import PROFILES
from worker import tasks

DRAFTERS = (Role.ADMIN, Role.COMPLIANCE_OFFICER, Role.MODEL_DEVELOPER)
ISSUERS = (Role.ADMIN, Role.COMPLIANCE_OFFICER)
_PK = "00000000-0000-4000-8000-000000000000"  # stands for a card's id in a resolved route
SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


def stored_file_response(found: Any, fmt: str) -> HttpResponse:
    """A stored card or report file with its recorded digest (PDF inline, others attached)."""
    response = HttpResponse(found.content, content_type=found.content_type)
    disposition = "inline" if fmt == "pdf" else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{found.filename}"'
    response["Digest"] = f"sha-256={found.sha256}"
    response["X-Content-SHA256"] = found.sha256
    return response


class ModelCardOutputSerializer(serializers.ModelSerializer[ModelCard]):
    organization: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    profile_title = serializers.SerializerMethodField()
    issued_by = serializers.CharField(
        source="issued_by.printed_name", default=None, allow_null=True
    )
    sha256 = serializers.SerializerMethodField()
    files = serializers.SerializerMethodField()
    status_url = serializers.SerializerMethodField()

    class Meta:
        model = ModelCard
        fields = [
            "id",
            "organization",
            "model",
            "model_version",
            "profile",
            "profile_title",
            "version",
            "status",
            "progress",
            "error",
            "completeness",
            "sha256",
            "files",
            "status_url",
            "created_at",
            "rendered_at",
            "issued_at",
            "issued_by",
            "superseded_by",
            "superseded_at",
        ]

    def _url(self, name: str, **kwargs: Any) -> str:
        # A list resolves each route once, not once per card and format.
        context = cast(dict[str, Any], self.context)
        routes: dict[tuple[str, Any], str] = context.setdefault("_routes", {})
        key = (name, kwargs.get("fmt"))
        if key not in routes:
            routes[key] = reverse(name, kwargs={**kwargs, "pk": _PK})
        path = routes[key].replace(_PK, str(kwargs["pk"]))
        request = self.context.get("request")
        return str(request.build_absolute_uri(path)) if request else path

    def get_profile_title(self, obj: ModelCard) -> str:
        return str(CardProfile(obj.profile).label)

    def get_sha256(self, obj: ModelCard) -> dict[str, str | None]:
        return {fmt: obj.sha256_of(fmt) or None for fmt in FORMATS}

    def get_files(self, obj: ModelCard) -> dict[str, str]:
        return {
            fmt: self._url("model-card-file", pk=obj.pk, fmt=fmt)
            for fmt in FORMATS
            if obj.sha256_of(fmt)
        }

    def get_status_url(self, obj: ModelCard) -> str:
        return self._url("model-card-detail", pk=obj.pk)


class ModelCardInputSerializer(InputSerializer):
    model_version = serializers.IntegerField()
    profile = serializers.ChoiceField(choices=CardProfile.choices)


class VerifyInputSerializer(InputSerializer):
    file = serializers.FileField(required=False, help_text="The card file (PDF, JSON, XML, MD)")
    # Blank is as good as absent (as an HTML form sends an empty field).
    sha256 = serializers.RegexField(r"^(?:[0-9a-fA-F]{64})?$", required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("file")) == bool(attrs.get("sha256")):
            raise serializers.ValidationError(
                {"non_field_errors": ["Give either a file or a sha256, not both."]}
            )
        return attrs


class VerifyOutputSerializer(serializers.Serializer[Any]):
    issued = serializers.BooleanField()
    sha256 = serializers.CharField()
    format = serializers.CharField(required=False)
    card = serializers.UUIDField(required=False)
    card_version = serializers.IntegerField(required=False)
    organization = serializers.CharField(required=False)
    model = serializers.CharField(required=False)
    model_version = serializers.CharField(required=False)
    profile = serializers.CharField(required=False)
    profile_title = serializers.CharField(required=False)
    status = serializers.CharField(required=False, help_text="current | superseded")
    issued_at = serializers.DateTimeField(required=False)
    superseded_at = serializers.DateTimeField(required=False, allow_null=True)
    superseded_by_version = serializers.IntegerField(required=False, allow_null=True)
    reason = serializers.CharField(help_text="Why the file is, or is not, an authentic card")
    claims = serializers.DictField(
        required=False, allow_null=True, help_text="The card an unrecognised file names"
    )
    signature = serializers.DictField(
        required=False, help_text="PAdES / XML-DSig: present, intact, whole file, certificate"
    )
    report = serializers.UUIDField(required=False, help_text="The comparison report it is")
    report_kind = serializers.CharField(required=False)
    summary = serializers.CharField(required=False, help_text="The comparison report's summary")


class SigningKeyInputSerializer(InputSerializer):
    organization = serializers.IntegerField()
    key = serializers.FileField(required=False, help_text="Private key, PEM, unencrypted")
    cert = serializers.FileField(required=False, help_text="Its X.509 certificate, PEM")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("key")) != bool(attrs.get("cert")):
            raise serializers.ValidationError({"cert": ["Give both key and cert."]})
        for name in ("key", "cert"):
            if attrs.get(name) is not None and attrs[name].size > 64 * 1024:
                raise serializers.ValidationError({name: ["At most 64 KiB."]})
        return attrs


class CardFileAlteredError(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "card_file_altered"


# Some keys of these answers are also attribute names of DRF's Field (label, required, source,
# help, fields): DRF takes declared fields out of the class, the type stubs do not know it.
class ProfileFieldSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    reference = serializers.CharField()
    required = serializers.BooleanField()  # type: ignore[assignment]
    source = serializers.CharField()  # type: ignore[assignment]
    fill_hint = serializers.CharField()


class ProfileSectionSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    title = serializers.CharField()
    fields = ProfileFieldSerializer(many=True)  # type: ignore[assignment]


class ProfileSerializer(serializers.Serializer[Any]):
    """A card profile and its fields (the schema of GET /model-cards/profiles/)."""

    profile = serializers.CharField()
    title = serializers.CharField()
    reference = serializers.CharField()
    formats = serializers.ListField(child=serializers.CharField())
    sections = ProfileSectionSerializer(many=True)


class DocumentationFieldSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    help = serializers.CharField()


class CardConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "card_state"


def _incomplete(exc: services.CardIncomplete) -> Response:
    return Response(
        {
            "error": {
                "status": 400,
                "code": "card_incomplete",
                "message": str(exc),
                "missing": exc.missing,
            }
        },
        status=status.HTTP_400_BAD_REQUEST,
    )


class ModelCardApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Model cards: draft (202, rendered by a worker), download, issue, verify."""

    queryset = ModelCard.objects.select_related("organization", "issued_by")
    serializer_class = ModelCardOutputSerializer
    # Not the card's document (tens of kilobytes), which the list never shows.
    list_columns = (
        *(
            f
            for f in ModelCardOutputSerializer.Meta.fields
            if f not in ("organization", "profile_title", "sha256", "files", "status_url")
            and f != "issued_by"
        ),
        *(f"{fmt}_sha256" for fmt in FORMATS),
        "organization__slug",
        "issued_by__username",
        "issued_by__first_name",
        "issued_by__last_name",
    )
    write_roles = DRAFTERS
    action_roles = {"issue": ISSUERS}
    filterset_fields = ["model", "model_version", "profile", "status"]
    ordering_fields = ["created_at", "version", "issued_at"]
    parser_classes = [SafeJSONParser, MultiPartParser, FormParser]

    def _version(self, pk: int) -> ModelVersion:
        version = (
            scope(ModelVersion.objects.select_related("model"), self.actor).filter(pk=pk).first()
        )
        if version is None:
            raise serializers.ValidationError({"model_version": ["No such model version."]})
        return version

    @extend_schema(request=ModelCardInputSerializer, responses={202: ModelCardOutputSerializer})
    @idempotent
    def create(self, request: Request) -> Response:
        data = ModelCardInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = self._version(data.validated_data["model_version"])
        self.require_role(version.model.organization_id)
        card = services.model_card_request(
            model_version=version,
            profile=data.validated_data["profile"],
            user=request.user,
            token=self.actor.token,
        )
        tasks.send_model_card_render(str(card.pk), card.generation)
        body = ModelCardOutputSerializer(card, context={"request": request}).data
        return Response(
            body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["status_url"]}
        )

    @extend_schema(request=None, responses={202: ModelCardOutputSerializer})
    @action(detail=True, methods=["post"])
    @idempotent
    def issue(self, request: Request, pk: str) -> Response:
        card = self.get_object()  # roles: action_roles["issue"]
        try:
            card = services.model_card_issue_request(card=card, user=request.user, actor=self.actor)
        except services.CardIncomplete as exc:
            return _incomplete(exc)
        except services.CardStateError as exc:
            raise CardConflict(str(exc)) from exc
        tasks.send_model_card_issue(str(card.pk), card.generation)
        body = ModelCardOutputSerializer(card, context={"request": request}).data
        return Response(
            body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["status_url"]}
        )

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    @action(
        detail=True, methods=["get"], url_path=r"files/(?P<fmt>pdf|json|xml|md)", url_name="file"
    )
    def file(self, request: Request, pk: str, fmt: str) -> HttpResponse:
        card = self.get_object()
        try:
            found = services.model_card_file(card=card, fmt=fmt, actor=self.actor)
        except services.CardFileMissing as exc:
            raise exceptions.NotFound(str(exc)) from exc
        except services.CardFileAltered as exc:
            raise CardFileAlteredError(str(exc)) from exc
        response = stored_file_response(found, fmt)
        response["X-Card-Status"] = card.status
        return response

    @extend_schema(request=VerifyInputSerializer, responses={200: VerifyOutputSerializer})
    @action(detail=False, methods=["post"], permission_classes=[IsAuthenticated])
    def verify(self, request: Request) -> Response:
        data = VerifyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data.get("file")
        if upload is not None:
            if upload.size > VERIFY_MAX_BYTES:
                raise UploadTooLarge(VERIFY_MAX_BYTES)
            content = b"".join(upload.chunks())
            # A comparison report's file (or one claiming to be) is answered as a report.
            answer = comparison_report.report_verify_file(
                content=content, actor=self.actor
            ) or services.model_card_verify_file(content=content, actor=self.actor)
        else:
            digest = data.validated_data["sha256"]
            answer = comparison_report.report_verify(
                sha256=digest, actor=self.actor
            ) or services.model_card_verify(sha256=digest, actor=self.actor)
        return Response(answer)  # VerifyOutputSerializer documents it; absent keys stay absent

    @extend_schema(
        parameters=[OpenApiParameter("organization", int, required=True)],
        request=SigningKeyInputSerializer,
        responses={200: dict},
    )
    @action(
        detail=False,
        methods=["get", "post"],
        url_path="signing-key",
        parser_classes=[MultiPartParser, FormParser],
    )
    def signing_key(self, request: Request) -> Response:
        """The organisation's card-signing certificate (members); admins may upload a pair."""
        data = SigningKeyInputSerializer(
            data=request.data if request.method == "POST" else request.query_params
        )
        data.is_valid(raise_exception=True)
        org_id = data.validated_data["organization"]
        if org_id not in self.actor.org_ids:
            raise exceptions.NotFound("No such organisation.")
        key, cert = data.validated_data.get("key"), data.validated_data.get("cert")
        if request.method == "POST" and not self.actor.has_role(org_id, [Role.ADMIN]):
            self.permission_denied(request, message="Only admins install signing keys.")
        if request.method == "POST" and key is None:
            raise exceptions.ValidationError({"key": ["Upload key and cert (PEM) to install."]})
        organization = Organization.objects.get(pk=org_id)
        try:
            found = services.organization_signing_key(
                organization=organization,
                key_pem=key.read() if key else None,
                cert_pem=cert.read() if cert else None,
                actor=self.actor,
            )
        except signing.SigningKeyError as exc:
            raise exceptions.ValidationError({"key": [str(exc)]}) from exc
        return Response(
            {
                "organization": org_id,
                "certificate_pem": found.cert_pem.decode(),
                "certificate_sha256": found.fingerprint,
            }
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("model_version", int, required=True),
            OpenApiParameter("profile", str, required=True, enum=CardProfile.values),
        ],
        responses={200: dict},
    )
    @action(detail=False, methods=["get"], filter_backends=[])
    def completeness(self, request: Request) -> Response:
        """Preview a profile's completeness for a model version without drafting a card."""
        data = ModelCardInputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        version = self._version(data.validated_data["model_version"])
        ctx = selectors.card_context_load(model_version_id=version.pk)
        preview = ModelCard(
            model=version.model,
            model_version=version,
            profile=data.validated_data["profile"],
            version=0,
        )
        document = document_build(card=preview, ctx=ctx, status="draft")
        return Response(document["completeness"])

    @extend_schema(responses=ProfileSerializer(many=True))
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def profiles(self, request: Request) -> Response:
        """Each profile's fields: required or not, where each comes from, where to fill it."""
        return Response(
            [
                {
                    "profile": p.key,
                    "title": p.title,
                    "reference": p.reference,
                    "formats": ["pdf", "json", "md", *p.extra_formats],
                    "sections": [
                        {
                            "id": s.id,
                            "title": s.title,
                            "fields": [
                                {
                                    "id": f.id,
                                    "label": f.label,
                                    "reference": f.reference,
                                    "required": f.required,
                                    "source": f.source,
                                    "fill_hint": f.fill_hint,
                                }
                                for f in s.fields
                            ],
                        }
                        for s in p.sections
                    ],
                }
                for p in PROFILES.values()
            ]
        )


class DocumentationOutputSerializer(serializers.ModelSerializer[ModelDocumentation]):
    updated_by = serializers.CharField(source="updated_by.username", default=None, allow_null=True)

    class Meta:
        model = ModelDocumentation
        fields = ["model", "values", "revision", "updated_at", "updated_by"]


class DocumentationInputSerializer(InputSerializer):
    values = serializers.DictField(
        help_text='Fields to set (null or "" removes one); see /model-documentation/fields/'
    )


class ModelDocumentationApi(ScopedViewSet):
    """Per-model documentation the registry does not hold (contact, funding, standards...).

    Addressed by the model's id; reading needs any role, editing is for compliance officers
    and admins. Every edit is audited with before and after, and bumps the revision.
    """

    queryset = AIModel.objects.select_related("organization")
    write_roles = ISSUERS
    lookup_value_regex = r"\d+"

    def _out(self, model: AIModel) -> dict[str, Any]:
        doc = ModelDocumentation.objects.filter(model=model).first()
        if doc is None:
            return {
                "model": model.pk,
                "values": {},
                "revision": 0,
                "updated_at": None,
                "updated_by": None,
            }
        return dict(DocumentationOutputSerializer(doc).data)

    @extend_schema(responses=DocumentationOutputSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self._out(self.get_object()))

    @extend_schema(request=DocumentationInputSerializer, responses=DocumentationOutputSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        model = self.get_object()
        data = DocumentationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.model_documentation_update(
            model=model, values=data.validated_data["values"], user=request.user
        )
        return Response(self._out(model))

    @extend_schema(responses=DocumentationFieldSerializer(many=True))
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def fields(self, request: Request) -> Response:
        return Response(
            [
                {"key": k, "label": label, "help": help}
                for k, (label, help) in DOCUMENTATION_FIELDS.items()
            ]
        )
