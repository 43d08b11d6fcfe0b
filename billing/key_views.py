"""The dashboard's API keys page (``/settings/api-keys/``): the tenant's keys of the dashboard's
mode with their last use and this month's spend, and the admins' form to create one.

It lives in billing because each key's spend comes from the ledger, and billing sits above
accounts in the apps' graph (accounts cannot import billing). Creating a key follows
post/redirect/get: the POST creates it and redirects; the GET after it shows the secret once,
carried across the redirect as described in ``accounts.key_reveal`` (never stored server-side)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.key_reveal import COOKIE_NAME, reveal_open, reveal_seal
from accounts.middleware import SESSION_TEST_MODE_KEY
from accounts.models import ApiKeyMode, Role, role_allows
from accounts.selectors import api_key_list
from accounts.services import api_key_create
from accounts.views import dashboard_render, forbidden, tenant_required
from config.errors import RoleForbidden

from .money import CURRENCY
from .selectors import ZERO, key_spend_this_month


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


def _cookie_path() -> str:
    return reverse("billing:api-keys")


def _create(request: HttpRequest, form: ApiKeyCreateForm) -> HttpResponse | None:
    """Create the key and answer the redirect that shows it; None when the form is refused."""
    try:
        key, secret = api_key_create(
            tenant=request.tenant, actor=request.actor, name=form.cleaned_data["name"],
            mode=form.cleaned_data["mode"], role=form.cleaned_data["role"], shown_later=True,
        )
    except ValidationError as exc:
        form.add_error(None, exc.messages)
        return None
    if key.livemode != request.actor.livemode:  # the list shows one mode's keys: move to the new key's mode
        request.session[SESSION_TEST_MODE_KEY] = not key.livemode
        messages.info(request, f"Switched the dashboard to {ApiKeyMode(key.mode).label.lower()} mode, "
                               "the mode of the new key.")
    if not request.session.session_key:
        request.session.save()
    response = HttpResponseRedirect(f"{_cookie_path()}?created={key.pk}")
    response.status_code = 303  # See Other: the browser follows with a GET, and a reload repeats only that
    response.set_cookie(
        COOKIE_NAME, reveal_seal(key=key, secret=secret, session_key=request.session.session_key),
        max_age=settings.API_KEY_REVEAL_MAX_AGE_S, path=_cookie_path(), httponly=True, samesite="Strict",
        secure=request.is_secure(),
    )
    return response


@never_cache
@require_http_methods(["GET", "POST"])
@tenant_required
def api_keys(request: HttpRequest) -> HttpResponse:
    """GET lists the keys (and shows a just-created key's secret once); POST creates a key (admins
    and owners; the service decides, ``can_manage`` only hides the form) and redirects."""
    can_manage = role_allows(request.actor.role, Role.ADMIN)
    mode = ApiKeyMode.LIVE if request.actor.livemode else ApiKeyMode.TEST
    form = ApiKeyCreateForm(initial={"mode": mode}) if can_manage else None
    new_key: dict[str, Any] | None = None
    status = 200
    if request.method == "POST":
        submitted = ApiKeyCreateForm(request.POST)
        if submitted.is_valid():
            try:
                response = _create(request, submitted)
            except RoleForbidden as exc:
                return forbidden(request, exc.message)
            if response is not None:
                return response
        form, status = (submitted if can_manage else None), 400
    elif "created" in request.GET:
        opened = reveal_open(tenant=request.tenant, value=request.COOKIES.get(COOKIE_NAME),
                             session_key=request.session.session_key)
        if opened is not None:
            key, secret = opened
            new_key = {"id": key.pk, "name": key.name, "secret": secret}
        else:
            messages.info(request, "The new key was created; its secret was shown once already (or its link "
                                   "expired). If you did not copy it, revoke the key and create another.")
    keys = list(api_key_list(tenant=request.tenant).filter(mode=mode))  # one mode's keys, as Stripe shows them
    spend = key_spend_this_month(tenant=request.tenant, livemode=mode == ApiKeyMode.LIVE)
    for key in keys:
        key.spend_this_month = spend.get(key.pk, ZERO)
    response = dashboard_render(request, "accounts/api_keys.html", {
        "nav": "api-keys",
        "keys": keys,
        "currency": CURRENCY.upper(),
        "mode": mode,
        "form": form,
        "can_manage": can_manage,
        "new_key": new_key,
    }, status=status)
    if COOKIE_NAME in request.COOKIES:
        response.delete_cookie(COOKIE_NAME, path=_cookie_path(), samesite="Strict")
    return response
