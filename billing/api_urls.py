"""REST API routes of the billing app, included under /api/v1/ by ``config.api_urls``."""

from django.urls import path

from . import apis

urlpatterns = [
    path("budget", apis.BudgetApi.as_view(), name="budget"),
    path("api-keys/<int:key_id>/budget", apis.ApiKeyBudgetApi.as_view(), name="api-key-budget"),
]
