"""Answers /healthz, /readyz and /metrics before Django checks the Host header or redirects to
HTTPS: a load balancer's or an orchestrator's probe and Prometheus' scrape reach a process by its
address (``Host: 10.0.3.7:8000``), over plain HTTP inside the network, and must not get a 400
``DisallowedHost`` or a 301 for it. Placed right after the request-id middleware, so the answers
still carry ``X-Request-Id`` and are logged; the views are the same as the URLconf's."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from . import views

PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": views.healthz,
    "/readyz": views.readyz,
    "/metrics": views.metrics,
}


class ProbeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = PROBES.get(request.path_info)
        if view is not None:
            return view(request)
        return self.get_response(request)
