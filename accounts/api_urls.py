"""REST API routes of the accounts app (API keys), included under /api/v1/ by ``config.api_urls``."""

from django.urls import path

from .apis import ApiKeyListCreateApi, ApiKeyRevokeApi

urlpatterns = [
    path("api-keys", ApiKeyListCreateApi.as_view(), name="api-key-list"),
    path("api-keys/<int:key_id>/revoke", ApiKeyRevokeApi.as_view(), name="api-key-revoke"),
]
