"""Sets ``request.tenant``, ``request.membership`` and ``request.actor`` for signed-in users."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .actors import Actor
from .selectors import membership_get_active

SESSION_TENANT_KEY = "active_tenant_id"


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
                request.actor = Actor(tenant=membership.tenant, role=membership.role, user=user, livemode=True)
        return self.get_response(request)
