from django.urls import path

from apps.accounts.apis import AuthTokenObtainApi

urlpatterns = [
    path("auth/token/", AuthTokenObtainApi.as_view(), name="auth-token"),
]
