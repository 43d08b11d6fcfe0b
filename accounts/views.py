"""Dashboard pages of the accounts app (revoking an API key, the team switcher, the live/test switch) and the
helpers every dashboard view uses: ``tenant_required`` and ``dashboard_render``. The API keys page is
``billing.key_views`` (it shows each key's spend); the team pages are ``accounts.team_views``."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from config.errors import RoleForbidden

from .middleware import SESSION_TENANT_KEY, SESSION_TEST_MODE_KEY
from .models import ApiKey, ApiKeyMode
from .selectors import membership_list_for_user
from .services import api_key_revoke

View = Callable[..., HttpResponse]


def dashboard_render(
    request: HttpRequest, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> HttpResponse:
    """``render`` plus what the layout's header needs (the user's teams, for the switcher)."""
    memberships = list(membership_list_for_user(user=request.user)) if request.user.is_authenticated else []
    return render(request, template, {"memberships": memberships, **(context or {})}, status=status)


def forbidden(request: HttpRequest, message: str) -> HttpResponse:
    """The 403 page for an action the member's role does not allow."""
    return dashboard_render(request, "dashboard/forbidden.html", {"message": message}, status=403)


def tenant_required(view: View) -> View:
    """Sign-in required, and a team: a user without a membership gets a page saying so."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if getattr(request, "tenant", None) is None:
            return dashboard_render(request, "dashboard/no_tenant.html", status=403)
        return view(request, *args, **kwargs)

    return login_required(wrapped)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """``/``: the team's overview."""
    return redirect("jobs:overview")


@require_POST
@tenant_required
def api_key_revoke_view(request: HttpRequest, key_id: int) -> HttpResponse:
    """Revoke a key at once (POST); another tenant's key is a 404, a role below admin a 403 (the
    service's refusal)."""
    try:
        key = api_key_revoke(tenant=request.tenant, actor=request.actor, key_id=key_id)
    except RoleForbidden as exc:
        return forbidden(request, exc.message)
    except ApiKey.DoesNotExist:
        raise Http404("No such API key.") from None
    messages.success(request, f"Revoked the key “{key.name}” ({key.prefix}…). It no longer works.")
    return redirect("billing:api-keys")


@require_POST
@login_required
def tenant_switch(request: HttpRequest) -> HttpResponse:
    """Choose the team the dashboard acts for, among the user's memberships."""
    memberships = {str(m.tenant_id): m for m in membership_list_for_user(user=request.user)}
    chosen = memberships.get(request.POST.get("tenant_id", ""))
    if chosen is None:
        raise Http404("You are not a member of that team.")
    request.session[SESSION_TENANT_KEY] = str(chosen.tenant_id)
    messages.success(request, f"You are now working in {chosen.tenant.name}.")
    return redirect(_safe_next(request, "jobs:list"))


def _safe_next(request: HttpRequest, default: str) -> str:
    """The POSTed ``next`` address when it is on this site, else ``default``."""
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        return default
    return back


def _set_test_mode(request: HttpRequest, test_mode: bool) -> None:
    request.session[SESSION_TEST_MODE_KEY] = test_mode


@require_POST
@tenant_required
def mode_switch(request: HttpRequest) -> HttpResponse:
    """The live/test switch (POST ``mode=live|test``), as Stripe's dashboard has it: in test mode
    the dashboard shows only test jobs, usage and keys, and the jobs it creates are test jobs
    (the emulator, never limited nor billed). Back to the page it was pressed on."""
    chosen = request.POST.get("mode")
    if chosen not in (ApiKeyMode.LIVE, ApiKeyMode.TEST):
        return HttpResponse("mode must be live or test", status=400, content_type="text/plain")
    _set_test_mode(request, chosen == ApiKeyMode.TEST)
    return redirect(_safe_next(request, "jobs:list"))
