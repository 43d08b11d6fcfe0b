from django.urls import path

from accounts.apis import ApiKeyListCreateApi, ApiKeyRevokeApi

from . import apis

app_name = "api"

urlpatterns = [
    path("assets", apis.AssetListCreateApi.as_view(), name="asset-list"),
    path("assets/<uuid:asset_id>", apis.AssetDetailApi.as_view(), name="asset-detail"),
    path("models", apis.ModelListApi.as_view(), name="model-list"),
    path("models/<path:model_id>", apis.ModelDetailApi.as_view(), name="model-detail"),
    path("jobs", apis.JobListCreateApi.as_view(), name="job-list"),
    path("jobs/<uuid:job_id>", apis.JobDetailApi.as_view(), name="job-detail"),
    path("jobs/<uuid:job_id>/cancel", apis.JobCancelApi.as_view(), name="job-cancel"),
    path("jobs/<uuid:job_id>/output", apis.JobOutputApi.as_view(), name="job-output"),
    path("api-keys", ApiKeyListCreateApi.as_view(), name="api-key-list"),
    path("api-keys/<int:key_id>/revoke", ApiKeyRevokeApi.as_view(), name="api-key-revoke"),
]
