from django.contrib import admin

from apps.common.admin import TenantAdmin, TenantTabularInline
from apps.registry.models import AIModel, Dataset, DatasetVersion, ModelVersion, ModelVersionDataset


@admin.register(AIModel)
class AIModelAdmin(TenantAdmin):
    list_display = ["name", "organization", "application_area", "risk_class", "decision_role"]
    list_filter = ["application_area", "risk_class"]


class ModelVersionDatasetInline(TenantTabularInline):
    model = ModelVersionDataset
    extra = 0


@admin.register(ModelVersion)
class ModelVersionAdmin(TenantAdmin):
    list_display = ["model", "version_label", "source_kind", "lifecycle_stage"]
    list_filter = ["lifecycle_stage"]
    # The stage moves only through its gate (POST /api/v1/stage-gates/<id>/advance/).
    readonly_fields = [
        "source_kind",
        "hub_id",
        "revision",
        "local_path",
        "weights_digest",
        "lifecycle_stage",
    ]
    inlines = [ModelVersionDatasetInline]


@admin.register(Dataset)
class DatasetAdmin(TenantAdmin):
    list_display = ["name", "organization", "created_at"]


@admin.register(DatasetVersion)
class DatasetVersionAdmin(TenantAdmin):
    list_display = ["dataset", "version", "format", "row_count", "phi_status", "sha256"]
    list_filter = ["format", "phi_status"]

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False  # files come through the validated upload API

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False  # immutable: a new file is a new version
