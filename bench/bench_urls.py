"""The project's URLs plus ``/api/v1/_bench/bare``: an authenticated DRF endpoint that does nothing
else (the API key's lookup, the role check, a JSON body parsed and answered), the floor job creation
is measured against. Used only by ``bench/api_scale.py``."""

from django.urls import path
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.apis import TenantApi
from accounts.models import Role
from config.urls import urlpatterns as project_urlpatterns


class BareApi(TenantApi):
    required_roles = {"POST": Role.MEMBER}
    parser_classes = [JSONParser]

    def post(self, request: Request) -> Response:
        return Response({"ok": True, "model": request.data.get("model")}, status=201)


urlpatterns = [path("api/v1/_bench/bare", BareApi.as_view()), *project_urlpatterns]
