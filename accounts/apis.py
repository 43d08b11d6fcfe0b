"""The base of every tenant API view, and the api-keys resource."""

from __future__ import annotations

from typing import ClassVar

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.log_context import bind_log_context
from config.pagination import Pagination
from idempotency.api import idempotent

from .actors import Actor
from .models import ApiKeyMode, Role
from .rate_limits import request_rate_count
from .selectors import api_key_list
from .services import api_key_create, api_key_revoke


class TenantApi(APIView):
    """Sets ``request.tenant`` and ``request.actor`` from the API key (the key's role, at most its
    creator's current role, is the actor's); ``required_roles`` maps an HTTP method to the least
    role it needs (reads need viewer). The table refuses early and documents the contract; the
    services check the role again."""

    required_roles: ClassVar[dict[str, str]] = {}
    pagination_class = Pagination  # what ``paginated`` answers, and how the schema describes list views

    def initial(self, request: Request, *args: object, **kwargs: object) -> None:
        super().initial(request, *args, **kwargs)
        key = request.auth
        request.tenant = key.tenant
        bind_log_context(tenant_id=key.tenant_id)  # undone by config.request_id once the request is logged
        request.actor = Actor.from_api_key(key)
        # Counted against the key's and the tenant's rate limits; every answer says where they stand.
        request.rate_limit = request_rate_count(api_key=key)
        if request.rate_limit is not None and request.rate_limit.exceeded_scope:
            raise request.rate_limit.refusal()
        request.actor.require(self.required_roles.get(request.method, Role.VIEWER))

    def finalize_response(self, request: Request, response: Response, *args: object, **kwargs: object) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        state = getattr(request, "rate_limit", None)
        if state is not None:
            for name, value in state.headers().items():
                response[name] = value
        return response

    def paginated(self, queryset: QuerySet, serializer_class: type[serializers.Serializer]) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, self.request, view=self)
        data = serializer_class(page, many=True, context={"request": self.request}).data
        return paginator.get_paginated_response(data)


class ApiKeyOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    mode = serializers.ChoiceField(choices=ApiKeyMode.choices)
    role = serializers.ChoiceField(choices=Role.choices)
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class ApiKeyCreatedOutput(ApiKeyOutput):
    secret = serializers.CharField(help_text="The key itself: shown once, never stored.")


class ApiKeyListCreateApi(TenantApi):
    required_roles = {"POST": Role.ADMIN, "GET": Role.ADMIN}

    @extend_schema_serializer(component_name="ApiKeyCreateInput")
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        mode = serializers.ChoiceField(choices=ApiKeyMode.choices, default=ApiKeyMode.LIVE)
        role = serializers.ChoiceField(choices=[Role.ADMIN, Role.MEMBER, Role.VIEWER], default=Role.MEMBER)

    @extend_schema(summary="List API keys", responses=ApiKeyOutput(many=True), description=(
        "The team's API keys, newest first (admin role): their prefix, mode, role and last use, never the "
        "secret."))
    def get(self, request: Request) -> Response:
        return self.paginated(api_key_list(tenant=request.tenant), ApiKeyOutput)

    @extend_schema(summary="Create an API key", request=InputSerializer, responses={201: ApiKeyCreatedOutput},
                   description="A new key (admin role). Its `secret` is in this answer only, never again. A key "
                               "creates keys of its own mode only, with at most its own role (else 403).",
                   examples=[OpenApiExample("A member key for CI", request_only=True,
                                            value={"name": "ci", "mode": "test", "role": "member"})])
    @idempotent
    def post(self, request: Request) -> Response:
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        key, secret = api_key_create(tenant=request.tenant, actor=request.actor, **s.validated_data)
        return Response({**ApiKeyOutput(key).data, "secret": secret}, status=201)


class ApiKeyRevokeApi(TenantApi):
    required_roles = {"POST": Role.ADMIN}

    @extend_schema(summary="Revoke an API key", request=None, responses=ApiKeyOutput,
                   description="The key stops working at once (401 from then on); revoking is final.")
    def post(self, request: Request, key_id: int) -> Response:
        key = api_key_revoke(tenant=request.tenant, actor=request.actor, key_id=key_id)
        return Response(ApiKeyOutput(key).data)
