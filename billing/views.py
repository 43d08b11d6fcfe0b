"""Dashboard pages of the billing app: the billing page (a month's spend of the dashboard's mode
by day and by model, the limit, the Stripe plan and invoices, the ledger's entries), its CSV
download, and the owner's buttons to Stripe Checkout and the Customer Portal."""

from __future__ import annotations

import urllib.parse

import stripe
from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Role, role_allows
from accounts.views import dashboard_render, forbidden, tenant_required
from config.errors import ParleyError, RoleForbidden
from config.security_headers import HEADER as CSP_HEADER
from config.security_headers import csp_header_value

from .budgets import budget_set
from .overview import billing_overview
from .selectors import Period, budget_get, period_current, period_parse, usage_report
from .stripe_checkout import stripe_checkout_create, stripe_portal_create
from .usage_apis import UsageCsvRenderer, UsageOutput
from .usage_chart import bar_chart


class BudgetForm(forms.Form):
    monthly_limit = forms.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False, label="Monthly limit",
        help_text="Live jobs whose price does not fit are refused. Leave empty for no limit.",
    )


# Where the Checkout and Portal buttons' redirects lead (https://docs.stripe.com/security/guide#content-security-policy).
STRIPE_PAGE_ORIGINS = ("https://checkout.stripe.com", "https://billing.stripe.com")


def _billing_page_csp() -> str:
    """The site's policy, with ``form-action`` also allowing Stripe's hosted pages (or the local
    stand-in's): browsers apply ``form-action`` to the redirect a form's POST answers with, so
    without it the Checkout and Portal buttons would be blocked."""
    origins = list(STRIPE_PAGE_ORIGINS)
    if settings.STRIPE_STANDIN:
        api = urllib.parse.urlsplit(settings.STRIPE_API_BASE)
        origins.append(f"{api.scheme}://{api.netloc}")
    policy = dict(settings.SECURE_CSP)
    policy["form-action"] = [*policy.get("form-action", ["'self'"]), *origins]
    return csp_header_value(policy)


def _period(request: HttpRequest) -> tuple[Period, str | None]:
    """``?period=YYYY-MM`` (this month when absent), or this month and why the given one is wrong."""
    value = request.GET.get("period")
    if value is None or value == "":
        return period_current(), None
    try:
        return period_parse(value), None
    except ValueError as exc:
        return period_current(), str(exc)


def _page_number(request: HttpRequest) -> int:
    try:
        return max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        return 1


@require_http_methods(["GET", "POST"])
@tenant_required
def billing(request: HttpRequest) -> HttpResponse:
    """``/billing/?period=YYYY-MM&page=N``: the month's spend against the limit, charts by day and
    by model, the plan, invoices and the ledger, in the dashboard's mode; the owner's form to
    change the limit (live mode's) and buttons to Checkout and the Portal."""
    status = budget_get(tenant=request.tenant)
    can_edit = role_allows(request.actor.role, Role.OWNER)
    form = BudgetForm(initial={"monthly_limit": status.monthly_limit})
    code = 200
    if request.method == "POST":
        form = BudgetForm(request.POST)
        if form.is_valid():
            try:
                budget_set(tenant=request.tenant, actor=request.actor,
                           monthly_limit=form.cleaned_data["monthly_limit"])
            except RoleForbidden as exc:
                return forbidden(request, exc.message)
            except ValidationError as exc:
                form.add_error("monthly_limit", exc.messages)
            else:
                messages.success(request, "The monthly limit was saved.")
                return redirect("billing:page")
        code = 400
    period, period_error = _period(request)
    if period_error:
        code = 400
    overview = billing_overview(tenant=request.tenant, livemode=request.actor.livemode, period=period,
                                ledger_page_number=_page_number(request))
    response = dashboard_render(request, "billing/billing.html", {
        "nav": "billing", "budget": status, "form": form, "can_edit": can_edit,
        "period": period, "period_error": period_error, "current_period": period_current(),
        "overview": overview, "day_chart": bar_chart(overview.by_day), "model_chart": bar_chart(overview.by_model),
    }, status=code)
    if getattr(settings, "SECURE_CSP", None):
        response.headers[CSP_HEADER] = _billing_page_csp()
    return response


@require_GET
@tenant_required
def usage_csv(request: HttpRequest) -> HttpResponse:
    """``/billing/usage.csv?period=YYYY-MM&group_by=day|model|api_key``: the usage API's CSV for the
    dashboard (signed in, the dashboard's mode), from the same selector."""
    period, period_error = _period(request)
    group_by = request.GET.get("group_by", "day")
    if period_error or group_by not in ("day", "model", "api_key"):
        return HttpResponse(period_error or "group_by must be day, model or api_key", status=400,
                            content_type="text/plain; charset=utf-8")
    report = usage_report(tenant=request.tenant, livemode=request.actor.livemode, period=period, group_by=group_by)
    renderer = UsageCsvRenderer()
    response = HttpResponse(renderer.render(UsageOutput(report).data), content_type="text/csv; charset=utf-8")
    mode = "" if request.actor.livemode else "-test"
    response["Content-Disposition"] = f'attachment; filename="usage-{period.label}-{group_by}{mode}.csv"'
    return response


def _stripe_redirect(request: HttpRequest, create: str) -> HttpResponse:
    page = request.build_absolute_uri(reverse("billing:page"))
    try:
        if create == "checkout":
            url = stripe_checkout_create(tenant=request.tenant, actor=request.actor,
                                         success_url=f"{page}?checkout=done", cancel_url=page)
        else:
            url = stripe_portal_create(tenant=request.tenant, actor=request.actor, return_url=page)
    except RoleForbidden as exc:
        return forbidden(request, exc.message)
    except (ParleyError, stripe.StripeError) as exc:
        messages.error(request, f"Stripe could not be reached; try again in a moment ({exc}).")
        return redirect("billing:page")
    except LookupError as exc:  # the platform's Stripe catalogue is not set up (an operator's step)
        messages.error(request, f"Billing is not set up yet: {exc}")
        return redirect("billing:page")
    return redirect(url)


@require_POST
@tenant_required
def checkout(request: HttpRequest) -> HttpResponse:
    """The owner's "Add a card and start the plan": to a Stripe Checkout session."""
    return _stripe_redirect(request, "checkout")


@require_POST
@tenant_required
def portal(request: HttpRequest) -> HttpResponse:
    """The owner's "Manage billing": to a Stripe Customer Portal session (cards, invoices)."""
    return _stripe_redirect(request, "portal")
