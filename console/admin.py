"""The operator's console in the Django admin (staff only): tenants with their plan, price
multiplier, monthly limit and free allowance, suspended and reinstated with a reason (through
``accounts.suspension``); the audit log of every tenant, read-only; and the provider health page."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.db.models import Count, DecimalField, OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from accounts.admin import MembershipInline
from accounts.audit import AuditAction, audit_record
from accounts.models import AuditEvent, Invitation, Membership, Tenant
from accounts.suspension import tenant_suspend, tenant_unsuspend
from billing.models import Budget, CreditGrant, CreditKind, StripeAccount
from config.read_only_admin import ReadOnlyAdmin

from .health import WINDOWS, provider_health
from .models import ProviderHealth


class SuspendForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="The tenant's members see it on every page and in the API's refusal.")


class SuspendedFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):  # noqa: ANN001, ANN201
        return [("active", "Active"), ("suspended", "Suspended"), ("deactivated", "Deleted by owner")]

    def queryset(self, request, queryset):  # noqa: ANN001, ANN201
        return {
            "active": queryset.filter(suspended_at__isnull=True, deactivated_at__isnull=True),
            "suspended": queryset.filter(suspended_at__isnull=False),
            "deactivated": queryset.filter(deactivated_at__isnull=False),
        }.get(self.value(), queryset)


def _money(value: object) -> str:
    """A sum or amount read through a subquery, to the cent (SQLite hands back 40 for 40.00)."""
    return str(Decimal(str(value)).quantize(Decimal("0.01")))


def _first(queryset: QuerySet, value: str, output_field: object = None) -> Subquery:
    return Subquery(queryset.filter(tenant_id=OuterRef("pk")).values(value)[:1], output_field=output_field)


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    """One row per tenant with what billing knows of it; suspension only through the actions."""

    list_display = ["name", "id", "state", "plan", "price_multiplier", "limit", "free_allowance", "members",
                    "max_running_jobs", "created_at", "ledger"]
    list_filter = [SuspendedFilter]
    search_fields = ["name", "id"]
    fields = ["name", "price_multiplier", "api_rate_limit_per_key", "api_rate_limit_per_tenant", "max_running_jobs",
              "suspended_at", "suspension_reason", "deactivated_at", "created_at"]
    readonly_fields = ["suspended_at", "suspension_reason", "deactivated_at", "created_at"]
    inlines = [MembershipInline]
    actions = ["suspend", "unsuspend"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tenant]:
        money = DecimalField(max_digits=12, decimal_places=2)
        return super().get_queryset(request).annotate(
            plan_status=_first(StripeAccount.objects, "subscription_status"),
            limit_owner=_first(Budget.objects.filter(api_key__isnull=True), "monthly_limit", money),
            limit_cap=_first(Budget.objects.filter(api_key__isnull=True), "limit_cap", money),
            allowance=_first(CreditGrant.objects.filter(kind=CreditKind.ALLOWANCE), "amount", money),
            member_count=Subquery(Membership.objects.filter(tenant_id=OuterRef("pk")).order_by()
                                  .values("tenant_id").annotate(n=Count("id")).values("n")[:1]),
        )

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # a tenant is deleted by its owner (the ledger keeps it), never erased here

    def save_model(self, request: HttpRequest, obj: Tenant, form: forms.ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and form.changed_data:
            changes = ", ".join(f"{name}: {form.initial.get(name)} -> {form.cleaned_data.get(name)}"
                                for name in form.changed_data)
            audit_record(request.user, obj, AuditAction.TENANT_SETTINGS_CHANGED, changes)

    @admin.display(description="state")
    def state(self, obj: Tenant) -> str:
        if obj.deactivated_at:
            return "deleted by owner"
        if obj.suspended_at:
            return format_html("<strong>suspended</strong>: {}", obj.suspension_reason)
        return "active"

    @admin.display(description="plan")
    def plan(self, obj: Tenant) -> str:
        return obj.plan_status or "no plan"

    @admin.display(description="monthly limit")
    def limit(self, obj: Tenant) -> str:
        limits = [x for x in (obj.limit_owner, obj.limit_cap) if x is not None]
        if not limits:
            return "none"
        return _money(min(limits)) + (f" (cap {_money(obj.limit_cap)})" if obj.limit_cap is not None else "")

    @admin.display(description="free allowance")
    def free_allowance(self, obj: Tenant) -> str:
        return _money(obj.allowance) if obj.allowance is not None else "-"

    @admin.display(description="members")
    def members(self, obj: Tenant) -> int:
        return obj.member_count or 0

    @admin.display(description="ledger")
    def ledger(self, obj: Tenant) -> str:
        return format_html('<a href="{}">ledger</a>', reverse("admin:billing_tenant_ledger", args=[obj.pk]))

    @admin.action(description="Suspend the selected tenants (new jobs refused; running jobs finish)")
    def suspend(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> HttpResponse | None:
        form = SuspendForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            for tenant in queryset:
                try:
                    tenant_suspend(tenant=tenant, operator=request.user, reason=form.cleaned_data["reason"])
                except ValidationError as exc:
                    self.message_user(request, " ".join(exc.messages), messages.ERROR)
                    return None
            self.message_user(request, f"Suspended {queryset.count()} tenant(s).", messages.SUCCESS)
            return None
        return TemplateResponse(request, "admin/console/suspend.html", {
            **self.admin_site.each_context(request), "title": "Suspend tenants", "tenants": queryset,
            "form": form, "opts": self.model._meta, "action_checkbox_name": ACTION_CHECKBOX_NAME,
        })

    @admin.action(description="Reinstate the selected tenants")
    def unsuspend(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        for tenant in queryset:
            tenant_unsuspend(tenant=tenant, operator=request.user)
        self.message_user(request, f"Reinstated {queryset.count()} tenant(s).", messages.SUCCESS)


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    """Invitations, to answer "did my invitation go out?": read-only (admins withdraw them)."""

    list_display = ["email", "tenant", "role", "invited_by", "created_at", "expires_at", "accepted_at",
                    "declined_at", "revoked_at"]
    search_fields = ["email", "tenant__name"]
    list_select_related = ["tenant", "invited_by"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Every tenant's audit log: read, never added, changed or deleted."""

    list_display = ["created_at", "tenant", "actor_label", "action", "target", "ip"]
    list_filter = ["action"]
    search_fields = ["tenant__name", "actor_label", "target", "ip"]
    list_select_related = ["tenant"]
    date_hierarchy = "created_at"


@admin.register(ProviderHealth)
class ProviderHealthAdmin(ReadOnlyAdmin):
    """Not a list of rows: its page is the provider health report."""

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            return self.admin_site.login(request) if not request.user.is_authenticated else HttpResponse(status=403)
        windows = [(label, provider_health(since=since)) for label, since in WINDOWS]
        return TemplateResponse(request, "admin/console/provider_health.html", {
            **self.admin_site.each_context(request), "title": "Provider health", "windows": windows,
            "opts": self.model._meta,
        })
