"""What keeps every answer under /api/ JSON: the catch-all for unknown paths (any method), and
the schema view's own errors (its renderer is OpenAPI YAML; its 405 must not be)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response


@csrf_exempt  # any method: a POST to an unknown path is a JSON 404, not Django's HTML CSRF 403
def api_not_found(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    message = f"No such endpoint: {request.method} {request.path}. The endpoints are listed in /api/v1/schema."
    return JsonResponse({"error": {"code": "not_found", "message": message}}, status=404)


class ApiSchemaView(SpectacularAPIView):
    """The OpenAPI schema; its errors (a method it lacks) are JSON like every API error."""

    def finalize_response(self, request: Request, response: Response, *args: object, **kwargs: object) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        if getattr(response, "exception", False):
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = "application/json"
        return response
