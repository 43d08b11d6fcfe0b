"""REST routes of the webhooks app (mounted under /api/v1/ by config.api_urls)."""

from django.urls import path

from . import apis

urlpatterns = [
    path("webhook-endpoints", apis.WebhookEndpointListCreateApi.as_view(), name="webhook-endpoints"),
    path("webhook-endpoints/default/secret", apis.JobWebhookSecretApi.as_view(), name="job-webhook-secret"),
    path("webhook-endpoints/default/secret/rotate", apis.JobWebhookSecretRotateApi.as_view(),
         name="job-webhook-secret-rotate"),
    path("webhook-endpoints/<int:endpoint_id>", apis.WebhookEndpointDetailApi.as_view(), name="webhook-endpoint"),
    path("webhook-endpoints/<int:endpoint_id>/rotate-secret", apis.WebhookEndpointRotateSecretApi.as_view(),
         name="webhook-endpoint-rotate-secret"),
    path("webhook-endpoints/<int:endpoint_id>/test", apis.WebhookEndpointTestApi.as_view(),
         name="webhook-endpoint-test"),
    path("webhook-endpoints/<int:endpoint_id>/deliveries", apis.WebhookDeliveryListApi.as_view(),
         name="webhook-endpoint-deliveries"),
]
