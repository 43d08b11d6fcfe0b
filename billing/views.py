"""Dashboard pages of the billing app: the billing page (this month's limit, spend and reserved
amount; the owner sets the limit there, everyone else reads it)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from accounts.models import Role, role_allows
from accounts.views import dashboard_render, forbidden, tenant_required
from config.errors import RoleForbidden

from .budgets import budget_set
from .selectors import budget_get


class BudgetForm(forms.Form):
    monthly_limit = forms.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False, label="Monthly limit",
        help_text="Live jobs whose price does not fit are refused. Leave empty for no limit.",
    )


@require_http_methods(["GET", "POST"])
@tenant_required
def billing(request: HttpRequest) -> HttpResponse:
    """``/billing/``: the month's spend against the limit; the owner's form to change the limit."""
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
    return dashboard_render(request, "billing/billing.html", {
        "nav": "billing", "budget": status, "form": form, "can_edit": can_edit,
    }, status=code)
