"""REST API routes of the billing app, included under /api/v1/ by ``config.api_urls``."""

from django.urls import path

from . import apis
from .usage_apis import UsageApi

urlpatterns = [
    path("budget", apis.BudgetApi.as_view(), name="budget"),
    path("api-keys/<int:key_id>/budget", apis.ApiKeyBudgetApi.as_view(), name="api-key-budget"),
    path("usage", UsageApi.as_view(), name="usage"),
    path("usage.csv", UsageApi.as_view(), {"format": "csv"}, name="usage-csv"),
]
