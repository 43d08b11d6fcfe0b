"""Every request gets an id, every response says it (``X-Request-Id``), and every log line written
while it is served carries it: the id a client quotes in a support request finds the lines.

An incoming ``X-Request-Id`` (from the client, or from a proxy or load balancer that made one) is
kept when it is sane (1 to 128 characters of ``[A-Za-z0-9._-]``), so one id follows a request
through every hop; anything else is replaced by a new one, never echoed. This middleware is the
outermost (config/settings.py), so the header is on every answer: the API's, the dashboard's,
redirects, 404s and the 500 page alike. It also writes one log line per request (logger
``parley.requests``: method, path, status, duration; a warning for a 4xx, an error for a 5xx), with
the tenant when one was identified."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .log_context import bind_log_context, current_log_context, reset_log_context

HEADER = "X-Request-Id"
_SANE = re.compile(r"[A-Za-z0-9._-]{1,128}")
# Path segments that are credentials (signed file tokens, provider webhook tokens) stay out of logs.
_SECRET_SEGMENTS = re.compile(r"^(/files/)[^/]+|^(/webhooks/providers/.+/jobs/[^/]+/)[^/]+$")
log = logging.getLogger("parley.requests")


def loggable_path(path: str) -> str:
    """The path with its secret segment (a signed file's token, a job webhook's token) masked."""
    return _SECRET_SEGMENTS.sub(lambda m: (m.group(1) or m.group(2)) + "***", path)


def request_id_from(value: str | None) -> str:
    """The incoming id when it is sane, else a new one (32 hex digits)."""
    if value and _SANE.fullmatch(value):
        return value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = request_id_from(request.headers.get(HEADER))
        token = bind_log_context(request_id=request.request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[HEADER] = request.request_id
            tenant = getattr(request, "tenant", None)
            if tenant is not None and "tenant_id" not in current_log_context():
                bind_log_context(tenant_id=tenant.pk)  # undone with the token below
            path = loggable_path(request.path)
            status = response.status_code
            level = logging.ERROR if status >= 500 else logging.WARNING if status >= 400 else logging.INFO
            log.log(level, "%s %s %s", request.method, path, status, extra={
                "method": request.method, "path": path, "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            })
            # This line replaces Django's own "Not Found: ..." (django.request), which it writes after
            # every middleware has returned, when the request's id is no longer bound.
            response._has_been_logged = True
            return response
        finally:
            reset_log_context(token)
