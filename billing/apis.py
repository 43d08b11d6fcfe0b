"""REST API v1 of the billing app: the monthly budget, the tenant's and each API key's."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.apis import TenantApi
from accounts.models import Role

from .budgets import budget_set
from .selectors import budget_get
from .serializers import BudgetOutput


@extend_schema_serializer(component_name="BudgetInput")
class BudgetInput(serializers.Serializer):
    monthly_limit = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, allow_null=True,
        help_text="A decimal string in the tenant's currency (\"25.00\"); null for no limit.",
    )


class BudgetApi(TenantApi):
    """``GET`` the limit, this month's spend and reserved amount; ``PUT`` sets the limit (owners)."""

    required_roles = {"PUT": Role.OWNER}

    @extend_schema(summary="Get the team's budget", responses=BudgetOutput, description=(
        "The tenant's monthly limit, this month's spend and what unfinished live jobs hold (`reserved`)."))
    def get(self, request: Request) -> Response:
        return Response(BudgetOutput(budget_get(tenant=request.tenant)).data)

    @extend_schema(summary="Set the team's budget", request=BudgetInput, responses=BudgetOutput,
                   examples=[OpenApiExample("25 a month", value={"monthly_limit": "25.00"}, request_only=True)],
                   description="Sets the monthly limit (owner role); null removes it. The operator's cap lowers it.")
    def put(self, request: Request) -> Response:
        s = BudgetInput(data=request.data)
        s.is_valid(raise_exception=True)
        budget_set(tenant=request.tenant, actor=request.actor, monthly_limit=s.validated_data["monthly_limit"])
        return Response(BudgetOutput(budget_get(tenant=request.tenant)).data)


class ApiKeyBudgetApi(TenantApi):
    """One API key's own monthly limit, checked in addition to the tenant's."""

    required_roles = {"PUT": Role.OWNER}

    @extend_schema(summary="Get an API key's budget", responses=BudgetOutput,
                   description="One key's own monthly limit and spend, checked in addition to the team's.")
    def get(self, request: Request, key_id: int) -> Response:
        return Response(BudgetOutput(budget_get(tenant=request.tenant, api_key_id=key_id)).data)

    @extend_schema(summary="Set an API key's budget", request=BudgetInput, responses=BudgetOutput,
                   description="Sets one key's own monthly limit (owner role); null removes it.")
    def put(self, request: Request, key_id: int) -> Response:
        s = BudgetInput(data=request.data)
        s.is_valid(raise_exception=True)
        budget_set(tenant=request.tenant, actor=request.actor, monthly_limit=s.validated_data["monthly_limit"],
                   api_key_id=key_id)
        return Response(BudgetOutput(budget_get(tenant=request.tenant, api_key_id=key_id)).data)
