"""REST API v1 of the providers app: the model catalogue (what can be rendered, its inputs and prices)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.apis import TenantApi
from config.exception_handler import error_body

from .catalogue import UnknownModel, catalogue_get, catalogue_list
from .serializers import ModelListOutput, ModelOutput


class ModelListApi(TenantApi):
    pagination_class = None  # the whole catalogue in one answer

    @extend_schema(summary="List models", responses=ModelListOutput, operation_id="models_list", description=(
        "Every model of the catalogue with its input schema (the `input` of a job), limits, price rule and "
        "capabilities; `emulated` says the provider emulator serves it for this key."))
    def get(self, request: Request) -> Response:
        return Response({"results": ModelOutput(catalogue_list(), many=True, context={"request": request}).data})


class ModelDetailApi(TenantApi):
    @extend_schema(summary="Get a model", responses=ModelOutput,
                   description="One catalogue model by its id (which contains slashes: `fal-ai/ai-avatar/multi`).")
    def get(self, request: Request, model_id: str) -> Response:
        try:
            entry = catalogue_get(model_id=model_id)
        except UnknownModel:
            return Response(error_body("not_found", f"Unknown model {model_id!r}."), status=404)
        return Response(ModelOutput(entry, context={"request": request}).data)
