"""The root URLconf: the admin, sign-in, the REST API (``config.api_urls``), signed files, provider
webhooks and the dashboard (accounts, jobs, billing)."""

from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from jobs.file_views import signed_file_view
from jobs.provider_webhooks import provider_webhook_view


def api_not_found(request, *args, **kwargs):  # noqa: ANN001, ANN201
    return JsonResponse({"error": {"code": "not_found", "message": "No such endpoint."}}, status=404)


urlpatterns = [
    path("", include("ops.urls")),  # /healthz, /readyz, /metrics
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include("config.api_urls")),
    path("api/v1/schema", SpectacularAPIView.as_view(), name="api-schema"),
    re_path(r"^api/", api_not_found),
    re_path(r"^files/(?P<token>[A-Za-z0-9_:\-]+)(?P<ext>\.[a-z0-9]{1,5})?$", signed_file_view, name="signed-file"),
    path("", include("billing.stripe_urls")),
    path("webhooks/providers/<str:provider>/<str:mode>", provider_webhook_view, name="provider-webhook"),
    path("webhooks/providers/<str:provider>/<str:mode>/jobs/<uuid:job_id>/<str:token>", provider_webhook_view,
         name="provider-job-webhook"),
    path("", include("accounts.urls")),
    path("", include("jobs.urls")),
    path("", include("billing.urls")),
]
