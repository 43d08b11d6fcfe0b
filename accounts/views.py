"""Dashboard pages of the accounts app (API keys, the team switcher, the live/test switch) and the helpers every
dashboard view uses: ``tenant_required`` and ``dashboard_render``."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from config.errors import RoleForbidden

from .middleware import SESSION_TENANT_KEY, SESSION_TEST_MODE_KEY
from .models import ApiKey, ApiKeyMode, Role, role_allows
from .selectors import api_key_list, membership_list_for_user
from .services import api_key_create, api_key_revoke

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


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses this key, e.g. “staging server”.")
    mode = forms.ChoiceField(
        choices=ApiKeyMode.choices, initial=ApiKeyMode.LIVE,
        help_text="Test keys run on the emulator and the local renderer only, and are never billed.",
    )
    role = forms.ChoiceField(
        choices=[(r.value, r.label) for r in (Role.ADMIN, Role.MEMBER, Role.VIEWER)], initial=Role.MEMBER,
        help_text="Viewer keys read; member keys create assets and jobs; admin keys also manage keys.",
    )


@never_cache
@tenant_required
def api_keys(request: HttpRequest) -> HttpResponse:
    """``/settings/api-keys/``: the tenant's keys of the dashboard's mode; admins and owners create
    and revoke them. A new
    key's secret is shown once, in the answer to the POST that made it. Whether a POST may create
    a key is the service's decision; ``can_manage`` only hides the form."""
    can_manage = role_allows(request.actor.role, Role.ADMIN)
    new_key: dict[str, Any] | None = None
    mode = ApiKeyMode.LIVE if request.actor.livemode else ApiKeyMode.TEST
    blank = ApiKeyCreateForm(initial={"mode": mode})
    form = (ApiKeyCreateForm(request.POST) if request.method == "POST" else blank) if can_manage else None
    status = 200
    if request.method == "POST":
        submitted = form if form is not None else ApiKeyCreateForm(request.POST)
        if submitted.is_valid():
            try:
                key, secret = api_key_create(
                    tenant=request.tenant, actor=request.actor, name=submitted.cleaned_data["name"],
                    mode=submitted.cleaned_data["mode"], role=submitted.cleaned_data["role"],
                )
            except RoleForbidden as exc:
                return forbidden(request, exc.message)
            except ValidationError as exc:
                submitted.add_error(None, exc.messages)
            else:
                # Shown in this very answer (never cached), so the secret is never stored anywhere.
                new_key = {"id": key.pk, "name": key.name, "secret": secret}
                if key.mode != mode:  # the list shows one mode's keys: move to the new key's mode
                    mode = ApiKeyMode(key.mode)
                    _set_test_mode(request, key.mode == ApiKeyMode.TEST)
                    messages.info(request, f"Switched the dashboard to {mode.label.lower()} mode, "
                                           "the mode of the new key.")
                form = ApiKeyCreateForm(initial={"mode": mode})
        if new_key is None:
            status = 400
    elif request.method != "GET":
        return HttpResponse(status=405)
    return dashboard_render(request, "accounts/api_keys.html", {
        "nav": "api-keys",
        "keys": api_key_list(tenant=request.tenant).filter(mode=mode),  # one mode's keys, as Stripe shows them
        "mode": mode,
        "form": form,
        "can_manage": can_manage,
        "new_key": new_key,
    }, status=status)


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
    return redirect("accounts:api-keys")


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
    return redirect("jobs:list")


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
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        back = "jobs:list"
    return redirect(back)
