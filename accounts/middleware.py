"""Sets ``request.tenant``, ``request.membership`` and ``request.actor`` for signed-in users; the
actor's mode is the dashboard's live/test switch (a session flag, live by default), so a member in
test mode acts exactly as a test key does. Also keeps the request's address for the audit log
while the request is served, and renders a link to another of the user's teams (``InOtherTeam``)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from config.log_context import bind_log_context

from .actors import Actor
from .audit import request_ip
from .cross_team import InOtherTeam
from .selectors import membership_get_active

SESSION_TENANT_KEY = "active_tenant_id"
SESSION_TEST_MODE_KEY = "dashboard_test_mode"


def session_livemode(request: HttpRequest) -> bool:
    """The dashboard's mode: live unless the member switched to test mode."""
    return not request.session.get(SESSION_TEST_MODE_KEY, False)


class ActiveTenantMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.tenant = None
        request.membership = None
        request.actor = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            membership = membership_get_active(user=user, tenant_id=request.session.get(SESSION_TENANT_KEY))
            if membership is not None:
                request.membership = membership
                request.tenant = membership.tenant
                request.actor = Actor(tenant=membership.tenant, role=membership.role, user=user,
                                      livemode=session_livemode(request))
                bind_log_context(tenant_id=membership.tenant_id)  # undone by config.request_id at the end
        token = request_ip.set(request.META.get("REMOTE_ADDR") or None)
        try:
            return self.get_response(request)
        finally:
            request_ip.reset(token)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, InOtherTeam):
            from .views import dashboard_render  # the views import this module's session keys

            return dashboard_render(request, "accounts/other_team.html", {
                "kind": exception.kind, "team": exception.tenant, "next": request.get_full_path(),
            }, status=404)
        return None
