"""The root URLconf: the admin, sign-in, the REST API (``config.api_urls``, its schema and docs),
signed files, provider webhooks and the dashboard (accounts, jobs, billing)."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularSwaggerSplitView

from config.api_fallback import ApiSchemaView, api_not_found
from config.security_headers import csp_extended
from jobs.file_views import signed_file_view
from jobs.provider_webhooks import provider_webhook_view

# Swagger UI, its files served from this site (drf-spectacular-sidecar); its init script is a
# separate same-origin request, so scripts stay 'self' only. Its stylesheet draws icons as data: images.
api_docs_view = csp_extended({"img-src": ["data:"]})(SpectacularSwaggerSplitView.as_view(
    url_name="api-schema", template_name="api_docs/swagger_ui.html", title="Parley API reference"))

urlpatterns = [
    path("", include("ops.urls")),  # /healthz, /readyz, /metrics
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include("config.api_urls")),
    path("api/v1/schema", ApiSchemaView.as_view(), name="api-schema"),
    path("api/v1/docs", api_docs_view, name="api-docs"),
    re_path(r"^api(?:/|$)", api_not_found),
    re_path(r"^files/(?P<token>[A-Za-z0-9_:\-]+)(?P<ext>\.[a-z0-9]{1,5})?$", signed_file_view, name="signed-file"),
    path("", include("billing.stripe_urls")),
    path("webhooks/providers/<str:provider>/<str:mode>", provider_webhook_view, name="provider-webhook"),
    path("webhooks/providers/<str:provider>/<str:mode>/jobs/<uuid:job_id>/<str:token>", provider_webhook_view,
         name="provider-job-webhook"),
    path("", include("accounts.urls")),
    path("", include("jobs.urls")),
    path("", include("billing.urls")),
    path("", include("webhooks.urls")),
]
