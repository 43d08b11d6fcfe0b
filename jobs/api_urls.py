"""REST API routes of the jobs app (assets and jobs), included under /api/v1/ by ``config.api_urls``."""

from django.urls import path

from . import apis

urlpatterns = [
    path("assets", apis.AssetListCreateApi.as_view(), name="asset-list"),
    path("assets/<uuid:asset_id>", apis.AssetDetailApi.as_view(), name="asset-detail"),
    path("jobs", apis.JobListCreateApi.as_view(), name="job-list"),
    path("jobs/<uuid:job_id>", apis.JobDetailApi.as_view(), name="job-detail"),
    path("jobs/<uuid:job_id>/cancel", apis.JobCancelApi.as_view(), name="job-cancel"),
    path("jobs/<uuid:job_id>/output", apis.JobOutputApi.as_view(), name="job-output"),
    path("quotes", apis.QuoteCreateApi.as_view(), name="quote-create"),
]
