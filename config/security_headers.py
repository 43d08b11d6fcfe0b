"""The Content-Security-Policy header, on every response.

Django 5.2 has no CSP support; Django 6.0's ``ContentSecurityPolicyMiddleware`` reads a
``SECURE_CSP`` setting of the same shape (directive -> list of sources), so this middleware can
give way to Django's when we upgrade (https://docs.djangoproject.com/en/6.0/ref/csp/)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"


def csp_header_value(policy: dict[str, list[str]]) -> str:
    """``{"default-src": ["'self'"], "upgrade-insecure-requests": []}`` ->
    ``default-src 'self'; upgrade-insecure-requests``."""
    return "; ".join(" ".join([directive, *sources]) for directive, sources in policy.items())


class ContentSecurityPolicyMiddleware:
    """Adds ``SECURE_CSP`` to each response that does not set its own. With DEBUG on, Django's
    technical error pages (inline styles and scripts) are left without it, so they stay readable."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        policy = getattr(settings, "SECURE_CSP", None)
        if not policy:
            raise MiddlewareNotUsed
        self.get_response = get_response
        self.value = csp_header_value(policy)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.DEBUG and response.status_code >= 400 and response.get("Content-Type", "").startswith("text/html"):
            return response
        response.headers.setdefault(HEADER, self.value)
        return response


def csp_extended(extra: dict[str, list[str]]) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """A view decorator: this view's answers carry ``SECURE_CSP`` with ``extra`` sources added to
    its directives (a directive absent from the policy starts from ``default-src``), and no other
    page's policy changes. Django 6.0's ``csp_override`` plays this part there."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            response = view(request, *args, **kwargs)
            policy = {k: list(v) for k, v in (getattr(settings, "SECURE_CSP", None) or {}).items()}
            for directive, sources in extra.items():
                start = policy.get(directive, policy.get("default-src", []))
                policy[directive] = [*start, *(s for s in sources if s not in start)]
            response.headers[HEADER] = csp_header_value(policy)
            return response

        return wrapped

    return decorate
