"""/healthz, /readyz and /metrics: thin views over ops.health and ops.scrape."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from .health import readiness, readiness_detail
from .scrape import metrics_access, metrics_text


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """The process is alive and serving; nothing else is asked."""
    return _no_store(JsonResponse({"status": "ok"}))


@require_GET
def readyz(request: HttpRequest) -> HttpResponse:
    """200 when the database, the broker and the storage answer, else 503 naming those that do not."""
    results = readiness()
    failing = [r.name for r in results if not r.ok]
    body = {
        "status": "unavailable" if failing else "ok",
        "failing": failing,
        "checks": {r.name: r.as_json() for r in results},
        "backends": readiness_detail(),
    }
    return _no_store(JsonResponse(body, status=503 if failing else 200))


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    access = metrics_access(request)
    if access == "forbidden":
        return JsonResponse({"error": {"code": "forbidden", "message": "Wrong metrics token."}}, status=403)
    if access != "allowed":
        return JsonResponse({"error": {"code": "not_found", "message": "Not found."}}, status=404)
    return _no_store(HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST))
