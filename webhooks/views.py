"""The dashboard's webhooks page (/webhooks): the endpoints of the dashboard's mode, creating one,
rotating its secret, a test event, enabling and disabling, and each endpoint's deliveries. Admins
and owners only, as in the API; the services check the role again."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.views import dashboard_render, forbidden, tenant_required
from config.errors import RoleForbidden

from .models import DEFAULT_EVENTS, JOB_EVENTS, WebhookEndpoint
from .selectors import webhook_attempt_list, webhook_endpoint_get, webhook_endpoint_list
from .services import (
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_secret_rotate,
    webhook_endpoint_test_send,
    webhook_endpoint_update,
)

DELIVERIES_SHOWN = 100


class EndpointCreateForm(forms.Form):
    url = forms.CharField(max_length=2000, label="URL", help_text="Where we POST the events (https).")
    events = forms.MultipleChoiceField(
        choices=[(e, e) for e in JOB_EVENTS], initial=list(DEFAULT_EVENTS), widget=forms.CheckboxSelectMultiple,
        help_text="job.running is sent only to endpoints that ask for it.",
    )
    description = forms.CharField(max_length=200, required=False)


def _admin_or_forbidden(request: HttpRequest) -> HttpResponse | None:
    try:
        request.actor.require(Role.ADMIN)
    except RoleForbidden as exc:
        return forbidden(request, exc.message)
    return None


def _secret_shown(endpoint: WebhookEndpoint, secret: str, what: str) -> dict[str, Any]:
    return {"endpoint_id": endpoint.pk, "url": endpoint.url, "secret": secret, "what": what}


@never_cache
@tenant_required
def endpoints_page(request: HttpRequest) -> HttpResponse:
    """``/webhooks``: the list, and the create form; a new endpoint's secret is shown once, in the
    answer to the POST that made it."""
    if refused := _admin_or_forbidden(request):
        return refused
    form = EndpointCreateForm(request.POST if request.method == "POST" else None)
    shown, status = None, 200
    if request.method == "POST":
        if form.is_valid():
            try:
                endpoint, secret = webhook_endpoint_create(tenant=request.tenant, actor=request.actor,
                                                           **form.cleaned_data)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                shown, form = _secret_shown(endpoint, secret, "created"), EndpointCreateForm()
        if shown is None:
            status = 400
    return dashboard_render(request, "webhooks/endpoints.html", {
        "nav": "webhooks", "form": form, "shown": shown,
        "endpoints": webhook_endpoint_list(tenant=request.tenant, livemode=request.actor.livemode),
    }, status=status)


@never_cache
@tenant_required
def endpoint_page(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    """One endpoint and its latest deliveries (attempts), newest first."""
    if refused := _admin_or_forbidden(request):
        return refused
    try:
        endpoint = webhook_endpoint_get(tenant=request.tenant, livemode=request.actor.livemode,
                                        endpoint_id=endpoint_id)
    except WebhookEndpoint.DoesNotExist:
        raise Http404("No such webhook endpoint.") from None
    attempts = webhook_attempt_list(tenant=request.tenant, livemode=request.actor.livemode,
                                    endpoint_id=endpoint_id)[:DELIVERIES_SHOWN]
    return dashboard_render(request, "webhooks/endpoint.html", {
        "nav": "webhooks", "endpoint": endpoint, "attempts": attempts, "shown": None,
    })


def _act(request: HttpRequest, endpoint_id: int, action: Any) -> HttpResponse:
    """Run a POST action; a role below admin is the 403 page, another tenant's endpoint a 404."""
    try:
        answer = action()
    except RoleForbidden as exc:
        return forbidden(request, exc.message)
    except WebhookEndpoint.DoesNotExist:
        raise Http404("No such webhook endpoint.") from None
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("webhooks:endpoint", endpoint_id=endpoint_id)
    return answer if isinstance(answer, HttpResponse) else redirect("webhooks:endpoint", endpoint_id=endpoint_id)


@never_cache
@require_POST
@tenant_required
def endpoint_rotate(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    """A new secret, shown once in this answer; the old one keeps signing for the overlap window."""
    def rotate() -> HttpResponse:
        endpoint, secret = webhook_endpoint_secret_rotate(tenant=request.tenant, actor=request.actor,
                                                          endpoint_id=endpoint_id)
        attempts = webhook_attempt_list(tenant=request.tenant, livemode=request.actor.livemode,
                                        endpoint_id=endpoint_id)[:DELIVERIES_SHOWN]
        return dashboard_render(request, "webhooks/endpoint.html", {
            "nav": "webhooks", "endpoint": endpoint, "attempts": attempts,
            "shown": _secret_shown(endpoint, secret, "rotated"),
        })
    return _act(request, endpoint_id, rotate)


@require_POST
@tenant_required
def endpoint_test(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    def send() -> None:
        webhook_endpoint_test_send(tenant=request.tenant, actor=request.actor, endpoint_id=endpoint_id)
        messages.success(request, "A webhook.test event is on its way; its delivery appears below.")
    return _act(request, endpoint_id, send)


@require_POST
@tenant_required
def endpoint_enabled(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    enabled = request.POST.get("enabled") == "1"

    def switch() -> None:
        webhook_endpoint_update(tenant=request.tenant, actor=request.actor, endpoint_id=endpoint_id,
                                enabled=enabled)
        messages.success(request, "Endpoint enabled." if enabled else "Endpoint disabled.")
    return _act(request, endpoint_id, switch)


@require_POST
@tenant_required
def endpoint_delete(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    def delete() -> HttpResponse:
        webhook_endpoint_delete(tenant=request.tenant, actor=request.actor, endpoint_id=endpoint_id)
        messages.success(request, "Endpoint deleted.")
        return redirect("webhooks:page")
    return _act(request, endpoint_id, delete)
