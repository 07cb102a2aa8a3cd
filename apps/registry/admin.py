"""Registry admin: the API's permissions and rules (apps.common.admin). Model versions and
dataset files are created only through the API, whose services pin the source, digest the
weights and validate the file; here they are read, and a version's description is changed."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.common.admin import TenantAdmin, TenantTabularInline
from apps.registry.apis import AIModelApi, DatasetApi, DatasetVersionApi, ModelVersionApi
from apps.registry.models import AIModel, Dataset, DatasetVersion, ModelVersion, ModelVersionDataset


@admin.register(AIModel)
class AIModelAdmin(TenantAdmin):
    api = AIModelApi
    list_display = ["name", "organization", "application_area", "risk_class", "decision_role"]
    list_filter = ["application_area", "risk_class"]
    fixed_fields = ("organization", "created_at")


class ModelVersionDatasetInline(TenantTabularInline):
    """Training datasets are named when a version is registered (API), not added later."""

    model = ModelVersionDataset
    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)


@admin.register(ModelVersion)
class ModelVersionAdmin(TenantAdmin):
    api = ModelVersionApi
    list_display = ["model", "version_label", "source_kind", "lifecycle_stage"]
    list_filter = ["lifecycle_stage"]
    # What PATCH /model-versions/<id>/ may change; the rest is fixed at registration. The
    # stage moves only through its gate (POST /api/v1/stage-gates/<id>/advance/).
    fields = [
        "model",
        "version_label",
        "source_kind",
        "hub_id",
        "revision",
        "local_path",
        "weights_digest",
        "base_model",
        "alignment_techniques",
        "lifecycle_stage",
        "created_by",
        "created_at",
    ]
    readonly_fields = [
        "model",
        "version_label",
        "source_kind",
        "hub_id",
        "revision",
        "local_path",
        "weights_digest",
        "lifecycle_stage",
        "created_by",
        "created_at",
    ]
    inlines = [ModelVersionDatasetInline]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False  # registered through the API: the source is pinned, the weights digested


@admin.register(Dataset)
class DatasetAdmin(TenantAdmin):
    api = DatasetApi
    list_display = ["name", "organization", "created_at"]


@admin.register(DatasetVersion)
class DatasetVersionAdmin(TenantAdmin):
    api = DatasetVersionApi
    list_display = ["dataset", "version", "format", "row_count", "phi_status", "sha256"]
    list_filter = ["format", "phi_status"]

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False  # files come through the validated upload API

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False  # immutable: a new file is a new version
