"""The REST API v1 in one place: each app owns its routes (``<app>/api_urls.py``), gathered here
under the ``api`` namespace; ``config.urls`` mounts this at /api/v1/."""

from django.urls import include, path

app_name = "api"

urlpatterns = [
    path("", include("providers.api_urls")),
    path("", include("jobs.api_urls")),
    path("", include("accounts.api_urls")),
    path("", include("billing.api_urls")),
    path("", include("webhooks.api_urls")),
]
