"""The operator's view of the ledger: charges, refunds and credit grants are read-only rows; a
refund or a grant is given through a small form that calls the service (never by editing rows),
and each tenant's ledger (entries and sums from ``billing.selectors``) has its own page. Also each
tenant's Stripe state (customer, plan, outbox backlog, last error) and the differences the daily
reconciliation found, both read-only."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Min, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from accounts.models import Tenant
from config.read_only_admin import ReadOnlyAdmin

from .models import (
    BalanceCreditOutbox,
    Budget,
    CreditGrant,
    MeterEventOutbox,
    ReconciliationDifference,
    ReconciliationKind,
    Refund,
    Reservation,
    StripeAccount,
    UsageRecord,
)
from .selectors import ledger_balance, ledger_lines
from .services import credit_grant_create, refund_create, refund_remaining


class RefundForm(forms.Form):
    amount = forms.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"),
                                help_text="Leave it as it is to refund all that remains.")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


class CreditGrantForm(forms.Form):
    tenant = forms.ModelChoiceField(queryset=Tenant.objects.all())
    amount = forms.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


def _apply_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's refusal on the form's fields (or above it)."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _ledger_link(tenant_id: uuid.UUID) -> str:
    return format_html('<a href="{}">ledger</a>', reverse("admin:billing_tenant_ledger", args=[tenant_id]))


class LedgerEntryAdmin(ReadOnlyAdmin):
    """Ledger rows are never added, changed or deleted here."""

    @admin.display(description="ledger")
    def ledger(self, obj: UsageRecord | Refund | CreditGrant) -> str:
        return _ledger_link(obj.tenant_id)

    def get_urls(self) -> list[URLPattern]:
        return self.extra_urls() + super().get_urls()

    def extra_urls(self) -> list[URLPattern]:
        return []


@admin.register(UsageRecord)
class UsageRecordAdmin(LedgerEntryAdmin):
    list_display = ["job", "tenant", "model_id", "seconds", "billable_seconds", "amount", "currency", "livemode",
                    "created_at", "refund_link", "ledger"]
    list_filter = ["livemode", "model_id"]
    search_fields = ["job__id", "tenant__name"]
    list_select_related = ["tenant"]

    @admin.display(description="refund")
    def refund_link(self, obj: UsageRecord) -> str:
        return format_html('<a href="{}">refund…</a>', reverse("admin:billing_usagerecord_refund", args=[obj.pk]))

    def extra_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/refund/", wrap(self.refund_view), name="billing_usagerecord_refund"),
            path("ledger/<uuid:tenant_id>/", wrap(self.ledger_view), name="billing_tenant_ledger"),
        ]

    def refund_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Refund a charge in full or in part, through ``refund_create`` (which locks the charge)."""
        record = get_object_or_404(UsageRecord.objects.select_related("tenant"), pk=pk)
        remaining = refund_remaining(usage_record=record)
        form = RefundForm(request.POST or None, initial={"amount": remaining})
        if request.method == "POST" and form.is_valid():
            try:
                refund = refund_create(usage_record_id=record.pk, operator=request.user,
                                       amount=form.cleaned_data["amount"], reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                _apply_errors(form, exc)
            else:
                self.message_user(request, f"Refunded {refund.amount} {refund.currency.upper()} on job "
                                           f"{record.job_id}.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:billing_tenant_ledger", args=[record.tenant_id]))
        context = {**self.admin_site.each_context(request), "title": f"Refund job {record.job_id}",
                   "record": record, "remaining": remaining, "form": form, "opts": self.model._meta}
        return TemplateResponse(request, "admin/billing/refund_form.html", context)

    def ledger_view(self, request: HttpRequest, tenant_id: uuid.UUID) -> HttpResponse:
        """A tenant's ledger: its entries, newest first, and its sums per mode."""
        tenant = get_object_or_404(Tenant, pk=tenant_id)
        context = {
            **self.admin_site.each_context(request), "title": f"Ledger of {tenant.name}", "tenant": tenant,
            "opts": self.model._meta, "lines": ledger_lines(tenant=tenant),
            "balances": [("live", ledger_balance(tenant=tenant, livemode=True)),
                         ("test", ledger_balance(tenant=tenant, livemode=False))],
        }
        return TemplateResponse(request, "admin/billing/ledger.html", context)


@admin.register(Refund)
class RefundAdmin(LedgerEntryAdmin):
    list_display = ["usage_record", "tenant", "amount", "currency", "livemode", "reason", "operator", "created_at",
                    "ledger"]
    list_filter = ["livemode"]
    search_fields = ["usage_record__job__id", "tenant__name", "reason"]
    list_select_related = ["tenant", "operator", "usage_record"]


@admin.register(CreditGrant)
class CreditGrantAdmin(LedgerEntryAdmin):
    list_display = ["tenant", "kind", "amount", "currency", "reason", "operator", "created_at", "ledger"]
    list_filter = ["kind"]
    search_fields = ["tenant__name", "reason"]
    list_select_related = ["tenant", "operator"]
    actions = ["grant_more"]

    def extra_urls(self) -> list[URLPattern]:
        return [path("grant/", self.admin_site.admin_view(self.grant_view), name="billing_creditgrant_grant")]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        extra = {"grant_url": reverse("admin:billing_creditgrant_grant"), **(extra_context or {})}
        return super().changelist_view(request, extra_context=extra)

    @admin.action(description="Grant more credit to the selected entries' tenant")
    def grant_more(self, request: HttpRequest, queryset: QuerySet[CreditGrant]) -> HttpResponse:
        first = queryset.first()
        url = reverse("admin:billing_creditgrant_grant")
        return HttpResponseRedirect(f"{url}?tenant={first.tenant_id}" if first else url)

    def grant_view(self, request: HttpRequest) -> HttpResponse:
        """Grant credit to a tenant, through ``credit_grant_create``."""
        form = CreditGrantForm(request.POST or None, initial={"tenant": request.GET.get("tenant")})
        if request.method == "POST" and form.is_valid():
            tenant = form.cleaned_data["tenant"]
            try:
                grant = credit_grant_create(tenant=tenant, operator=request.user, amount=form.cleaned_data["amount"],
                                            reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                _apply_errors(form, exc)
            else:
                self.message_user(request, f"Granted {grant.amount} {grant.currency.upper()} to {tenant.name}.",
                                  messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:billing_tenant_ledger", args=[tenant.pk]))
        context = {**self.admin_site.each_context(request), "title": "Grant credit", "form": form,
                   "opts": self.model._meta}
        return TemplateResponse(request, "admin/billing/credit_grant_form.html", context)


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin):
    """The operator caps a tenant's limit here (``limit_cap``); the owner's own limit is theirs to set."""

    list_display = ["tenant", "api_key", "monthly_limit", "limit_cap", "currency", "updated_at"]
    search_fields = ["tenant__name"]
    fields = ["tenant", "api_key", "monthly_limit", "limit_cap", "currency", "alerted_80_month", "alerted_100_month"]
    readonly_fields = ["monthly_limit", "alerted_80_month", "alerted_100_month"]
    raw_id_fields = ["tenant", "api_key"]


@admin.register(Reservation)
class ReservationAdmin(admin.ModelAdmin):
    """Reservations are written by job creation and settled when the job ends: read-only here."""

    list_display = ["job_id", "tenant", "api_key_id", "amount", "currency", "state", "created_at", "settled_at"]
    list_filter = ["state"]
    search_fields = ["job_id", "tenant__name"]
    readonly_fields = [f.name for f in Reservation._meta.fields]

    def has_add_permission(self, request) -> bool:  # noqa: ANN001
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False


# --- Stripe state and reconciliation ------------------------------------------------------------
def _pending(model: type[MeterEventOutbox | BalanceCreditOutbox], value: object) -> Subquery:
    """Per tenant, over the unsent rows of one outbox: ``value`` (an aggregate) as a subquery."""
    rows = (model.objects.filter(tenant_id=OuterRef("tenant_id"), sent_at__isnull=True).order_by()
            .values("tenant_id").annotate(v=value).values("v"))
    return Subquery(rows[:1])


def _last_error(model: type[MeterEventOutbox | BalanceCreditOutbox]) -> Subquery:
    rows = (model.objects.filter(tenant_id=OuterRef("tenant_id"), sent_at__isnull=True).exclude(last_error="")
            .order_by("-next_attempt_at").values("last_error"))
    return Subquery(rows[:1])


@admin.register(StripeAccount)
class StripeAccountAdmin(admin.ModelAdmin):
    """Each tenant's Stripe state: kept by webhooks and the outboxes, so read-only here."""

    list_display = ["tenant", "stripe_customer_id", "subscription_id", "subscription_status", "past_due",
                    "backlog", "oldest_pending", "last_error", "updated_at"]
    list_filter = ["subscription_status"]
    search_fields = ["tenant__name", "stripe_customer_id", "subscription_id"]
    list_select_related = ["tenant"]
    readonly_fields = ["tenant", "stripe_customer_id", "subscription_id", "subscription_status",
                       "unpaid_invoice_ids", "paid_invoice_ids", "updated_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[StripeAccount]:
        return super().get_queryset(request).annotate(
            meter_pending=Coalesce(_pending(MeterEventOutbox, Count("id")), 0),
            credit_pending=Coalesce(_pending(BalanceCreditOutbox, Count("id")), 0),
            meter_oldest=_pending(MeterEventOutbox, Min("created_at")),
            credit_oldest=_pending(BalanceCreditOutbox, Min("created_at")),
            meter_error=_last_error(MeterEventOutbox),
            credit_error=_last_error(BalanceCreditOutbox),
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(boolean=True, description="past due")
    def past_due(self, obj: StripeAccount) -> bool:
        return obj.past_due

    @admin.display(description="outbox backlog")
    def backlog(self, obj: StripeAccount) -> str:
        return f"{obj.meter_pending} meter events, {obj.credit_pending} credits pending"

    @admin.display(description="oldest pending")
    def oldest_pending(self, obj: StripeAccount) -> str:
        oldest = min((t for t in (obj.meter_oldest, obj.credit_oldest) if t is not None), default=None)
        return f"{timesince(oldest, timezone.now())} ago" if oldest else "-"

    @admin.display(description="last error")
    def last_error(self, obj: StripeAccount) -> str:
        return obj.meter_error or obj.credit_error or "-"


@admin.register(ReconciliationDifference)
class ReconciliationDifferenceAdmin(ReadOnlyAdmin):
    """What the daily reconciliation found: for the operator to look into, never edited."""

    list_display = ["day", "tenant", "kind", "job_id", "model_id", "ours", "theirs", "created_at", "ledger"]
    list_filter = ["kind", "day"]
    search_fields = ["tenant__name"]
    list_select_related = ["tenant"]
    date_hierarchy = "day"

    @admin.display(description="ours (ledger / probe)")
    def ours(self, obj: ReconciliationDifference) -> str:
        if obj.kind == ReconciliationKind.PROVIDER_DURATION:
            return f"{obj.ours_seconds} s"
        if obj.kind == ReconciliationKind.PROVIDER_PRICE:
            return f"{obj.ours_amount} (provider amount)"
        return str(Decimal(obj.ours_cents).scaleb(-2))

    @admin.display(description="Stripe's meter / provider")
    def theirs(self, obj: ReconciliationDifference) -> str:
        if obj.kind == ReconciliationKind.PROVIDER_DURATION:
            return f"{obj.theirs_seconds} s"
        if obj.kind == ReconciliationKind.PROVIDER_PRICE:
            return f"{obj.theirs_amount} (provider's price)"
        return str(Decimal(obj.theirs_cents).scaleb(-2))

    @admin.display(description="ledger")
    def ledger(self, obj: ReconciliationDifference) -> str:
        return _ledger_link(obj.tenant_id)
