from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from apps.accounts.apis import (
    ApiTokenApi,
    InvitationApi,
    MembershipApi,
    OrganizationApi,
    ReceivedInvitationApi,
    ServiceAccountApi,
)
from apps.audit.apis import AuditEventApi
from apps.evaluations.apis import DriftAlertApi, RunApi, ScheduleApi, SuiteApi
from apps.evaluations.comparison_apis import VersionComparisonApi
from apps.registry.apis import AIModelApi, DatasetApi, DatasetVersionApi, ModelVersionApi
from apps.reports.apis import ModelCardApi, ModelDocumentationApi
from apps.reports.comparison_apis import ComparisonReportApi

router = DefaultRouter()
router.register("organizations", OrganizationApi, basename="organization")
router.register("memberships", MembershipApi, basename="membership")
router.register("tokens", ApiTokenApi, basename="token")
router.register("service-accounts", ServiceAccountApi, basename="service-account")
router.register("invitations/received", ReceivedInvitationApi, basename="invitation-received")
router.register("invitations", InvitationApi, basename="invitation")
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
router.register("comparison-reports", ComparisonReportApi, basename="comparison-report")
router.register("model-documentation", ModelDocumentationApi, basename="model-documentation")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("apps.accounts.urls")),
    path("api/v1/", include("apps.signoffs.urls")),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI from drf-spectacular-sidecar's static files (works offline); the split view
    # serves its start-up script as a separate file, so a strict CSP needs no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("", include("apps.portal.urls")),
]

handler400 = "apps.common.errors.bad_request"
handler403 = "apps.common.errors.permission_denied"
handler404 = "apps.common.errors.page_not_found"
handler500 = "apps.common.errors.server_error"
