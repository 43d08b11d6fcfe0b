"""REST API routes of the billing app, included under /api/v1/ by ``config.api_urls``."""

from django.urls import path

from .usage_apis import UsageApi

urlpatterns = [
    path("usage", UsageApi.as_view(), name="usage"),
    path("usage.csv", UsageApi.as_view(), {"format": "csv"}, name="usage-csv"),
]
