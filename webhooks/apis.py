"""The webhook-endpoints resource: endpoints (admin and owner keys only), their deliveries, secret
rotation, test events, and the secret that signs per-job webhooks."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.apis import TenantApi
from accounts.models import Role
from idempotency.api import idempotent

from .models import JOB_EVENTS
from .selectors import webhook_attempt_list, webhook_endpoint_get, webhook_endpoint_list
from .serializers import (
    JobWebhookSecretOutput,
    WebhookDeliveryOutput,
    WebhookEndpointOutput,
    WebhookEndpointSecretOutput,
)
from .services import (
    job_webhook_secret_get,
    job_webhook_secret_rotate,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_secret_rotate,
    webhook_endpoint_test_send,
    webhook_endpoint_update,
)

ADMIN_ONLY = {"GET": Role.ADMIN, "POST": Role.ADMIN, "PATCH": Role.ADMIN, "DELETE": Role.ADMIN}


class _Events(serializers.ListField):
    """Event names (checked by the service, which reports every bad field at once)."""

    child = serializers.CharField(help_text=f"One of {', '.join(JOB_EVENTS)}.")


class WebhookEndpointListCreateApi(TenantApi):
    required_roles = ADMIN_ONLY

    @extend_schema_serializer(component_name="WebhookEndpointCreateInput")
    class InputSerializer(serializers.Serializer):
        url = serializers.CharField(max_length=2000)
        events = _Events(required=False, allow_empty=False, help_text="Default: the three final job events.")
        description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    @extend_schema(summary="List webhook endpoints", responses=WebhookEndpointOutput(many=True),
                   description="The team's endpoints in the key's mode, newest first (admin role).")
    def get(self, request: Request) -> Response:
        return self.paginated(webhook_endpoint_list(tenant=request.tenant, livemode=request.actor.livemode),
                              WebhookEndpointOutput)

    @extend_schema(summary="Create a webhook endpoint", request=InputSerializer,
                   responses={201: WebhookEndpointSecretOutput},
                   description="An https URL (a public address) told of the listed job events, signed per the "
                               "Standard Webhooks specification; its `secret` is in this answer only (admin role).")
    @idempotent
    def post(self, request: Request) -> Response:
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        endpoint, secret = webhook_endpoint_create(tenant=request.tenant, actor=request.actor, **s.validated_data)
        return Response({**WebhookEndpointOutput(endpoint).data, "secret": secret}, status=201)


class WebhookEndpointDetailApi(TenantApi):
    required_roles = ADMIN_ONLY

    @extend_schema_serializer(component_name="WebhookEndpointUpdateInput")
    class InputSerializer(serializers.Serializer):
        url = serializers.CharField(max_length=2000, required=False)
        events = _Events(required=False, allow_empty=False)
        description = serializers.CharField(max_length=200, required=False, allow_blank=True)
        enabled = serializers.BooleanField(required=False)

    @extend_schema(summary="Get a webhook endpoint", responses=WebhookEndpointOutput,
                   description="One endpoint of the team in the key's mode (another's is a 404).")
    def get(self, request: Request, endpoint_id: int) -> Response:
        endpoint = webhook_endpoint_get(tenant=request.tenant, livemode=request.actor.livemode,
                                        endpoint_id=endpoint_id)
        return Response(WebhookEndpointOutput(endpoint).data)

    @extend_schema(summary="Change a webhook endpoint", request=InputSerializer, responses=WebhookEndpointOutput,
                   description="Its URL, events, description, or `enabled` (enabling clears its failure streak).")
    def patch(self, request: Request, endpoint_id: int) -> Response:
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        endpoint = webhook_endpoint_update(tenant=request.tenant, actor=request.actor, endpoint_id=endpoint_id,
                                           **s.validated_data)
        return Response(WebhookEndpointOutput(endpoint).data)

    @extend_schema(summary="Delete a webhook endpoint", responses={204: None},
                   description="Nothing more is sent to it; its messages and delivery log go with it.")
    def delete(self, request: Request, endpoint_id: int) -> Response:
        webhook_endpoint_delete(tenant=request.tenant, actor=request.actor, endpoint_id=endpoint_id)
        return Response(status=204)


class _RotateInput(serializers.Serializer):
    overlap_s = serializers.IntegerField(required=False, min_value=0,
                                         help_text="How long the old secret keeps signing too (seconds).")


class WebhookEndpointRotateSecretApi(TenantApi):
    required_roles = ADMIN_ONLY

    @extend_schema(summary="Rotate an endpoint's secret", request=_RotateInput, responses=WebhookEndpointSecretOutput,
                   description="A new secret (in this answer only); the old one keeps signing alongside for "
                               "`overlap_s` seconds so receivers can switch over.")
    def post(self, request: Request, endpoint_id: int) -> Response:
        s = _RotateInput(data=request.data)
        s.is_valid(raise_exception=True)
        endpoint, secret = webhook_endpoint_secret_rotate(tenant=request.tenant, actor=request.actor,
                                                          endpoint_id=endpoint_id, **s.validated_data)
        return Response({**WebhookEndpointOutput(endpoint).data, "secret": secret})


class WebhookEndpointTestApi(TenantApi):
    required_roles = ADMIN_ONLY

    @extend_schema(summary="Send a test event", request=None, responses={202: WebhookEndpointOutput},
                   description="Queues a `webhook.test` event to this endpoint; its delivery shows in the log.")
    def post(self, request: Request, endpoint_id: int) -> Response:
        webhook_endpoint_test_send(tenant=request.tenant, actor=request.actor, endpoint_id=endpoint_id)
        endpoint = webhook_endpoint_get(tenant=request.tenant, livemode=request.actor.livemode,
                                        endpoint_id=endpoint_id)
        return Response(WebhookEndpointOutput(endpoint).data, status=202)


class WebhookDeliveryListApi(TenantApi):
    required_roles = ADMIN_ONLY

    @extend_schema(summary="List an endpoint's deliveries", responses=WebhookDeliveryOutput(many=True),
                   description="Each attempt, newest first: event, status code, latency, a response excerpt.")
    def get(self, request: Request, endpoint_id: int) -> Response:
        attempts = webhook_attempt_list(tenant=request.tenant, livemode=request.actor.livemode,
                                        endpoint_id=endpoint_id)
        return self.paginated(attempts, WebhookDeliveryOutput)


class JobWebhookSecretApi(TenantApi):
    """Replicate's ``GET /v1/webhooks/default/secret``: the secret of the key's mode that signs the
    webhooks of jobs created with a ``webhook`` URL."""

    required_roles = ADMIN_ONLY

    @extend_schema(summary="Get the job webhook secret", responses=JobWebhookSecretOutput,
                   description="The secret that signs the per-job webhooks (`webhook` on a job) of the key's mode.")
    def get(self, request: Request) -> Response:
        key = job_webhook_secret_get(tenant=request.tenant, actor=request.actor)
        return Response(JobWebhookSecretOutput({"key": key, "livemode": request.actor.livemode}).data)


class JobWebhookSecretRotateApi(TenantApi):
    required_roles = ADMIN_ONLY

    @extend_schema(summary="Rotate the job webhook secret", request=_RotateInput, responses=JobWebhookSecretOutput,
                   description="A new secret for per-job webhooks; the old one signs alongside for `overlap_s`.")
    def post(self, request: Request) -> Response:
        s = _RotateInput(data=request.data)
        s.is_valid(raise_exception=True)
        key = job_webhook_secret_rotate(tenant=request.tenant, actor=request.actor, **s.validated_data)
        return Response(JobWebhookSecretOutput({"key": key, "livemode": request.actor.livemode}).data)
