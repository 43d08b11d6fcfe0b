"""Sets ``request.tenant``, ``request.membership`` and ``request.actor`` for signed-in users; the
actor's mode is the dashboard's live/test switch (a session flag, live by default), so a member in
test mode acts exactly as a test key does."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from config.log_context import bind_log_context

from .actors import Actor
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
        return self.get_response(request)
