from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from apps.accounts.apis import ApiTokenApi, MembershipApi, OrganizationApi
from apps.registry.apis import AIModelApi, DatasetApi, DatasetVersionApi, ModelVersionApi

router = DefaultRouter()
router.register("organizations", OrganizationApi, basename="organization")
router.register("memberships", MembershipApi, basename="membership")
router.register("tokens", ApiTokenApi, basename="token")
router.register("models", AIModelApi, basename="model")
router.register("model-versions", ModelVersionApi, basename="model-version")
router.register("datasets", DatasetApi, basename="dataset")
router.register("dataset-versions", DatasetVersionApi, basename="dataset-version")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
