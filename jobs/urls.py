"""Dashboard URLs of the jobs app (the REST API is in ``jobs.api_urls``)."""

from django.urls import path

from . import views

app_name = "jobs"

urlpatterns = [
    path("overview/", views.overview, name="overview"),
    path("jobs/", views.job_list, name="list"),
    path("jobs/new/", views.job_new, name="new"),
    path("jobs/new/quote", views.job_new_quote, name="new-quote"),
    path("jobs/<uuid:job_id>/", views.job_detail, name="detail"),
    path("jobs/<uuid:job_id>/output", views.job_output, name="output"),
    path("jobs/<uuid:job_id>/cancel", views.job_cancel, name="cancel"),
    path("jobs/<uuid:job_id>/again", views.job_again, name="again"),
    path("assets/", views.asset_list, name="assets"),
    path("assets/<uuid:asset_id>/delete", views.asset_delete, name="asset-delete"),
    path("assets/<uuid:asset_id>/file", views.asset_file, name="asset-file"),
]
