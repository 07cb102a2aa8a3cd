from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from apps.accounts.apis import ApiTokenApi, MembershipApi, OrganizationApi
from apps.audit.apis import AuditEventApi
from apps.evaluations.apis import DriftAlertApi, RunApi, ScheduleApi, SuiteApi
from apps.evaluations.comparison_apis import VersionComparisonApi
from apps.registry.apis import AIModelApi, DatasetApi, DatasetVersionApi, ModelVersionApi
from apps.reports.apis import ModelCardApi, ModelDocumentationApi

router = DefaultRouter()
router.register("organizations", OrganizationApi, basename="organization")
router.register("memberships", MembershipApi, basename="membership")
router.register("tokens", ApiTokenApi, basename="token")
router.register("models", AIModelApi, basename="model")
router.register("model-versions", ModelVersionApi, basename="model-version")
router.register("datasets", DatasetApi, basename="dataset")
router.register("dataset-versions", DatasetVersionApi, basename="dataset-version")
router.register("audit", AuditEventApi, basename="audit")
router.register("suites", SuiteApi, basename="suite")
router.register("runs", RunApi, basename="run")
router.register("schedules", ScheduleApi, basename="schedule")
router.register("drift-alerts", DriftAlertApi, basename="drift-alert")
router.register("version-comparisons", VersionComparisonApi, basename="version-comparison")
router.register("model-cards", ModelCardApi, basename="model-card")
router.register("model-documentation", ModelDocumentationApi, basename="model-documentation")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

handler400 = "apps.common.errors.bad_request"
handler403 = "apps.common.errors.permission_denied"
handler404 = "apps.common.errors.page_not_found"
handler500 = "apps.common.errors.server_error"
