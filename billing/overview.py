"""What the dashboard's billing page reads, in a fixed number of queries whatever the ledger's
length: one mode's usage of a month by day and by model, the tenant's Stripe plan and invoices,
the remaining credit, and one page of the ledger's entries. Sums come from ``billing.selectors``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from accounts.models import Tenant

from .models import StripeAccount, StripeInvoice
from .selectors import LedgerBalance, LedgerLine, Period, UsageReport, ledger_balance, ledger_lines, usage_report

LEDGER_PAGE_SIZE = 25
INVOICES_SHOWN = 24


@dataclass(frozen=True)
class LedgerPage:
    lines: list[LedgerLine]
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


@dataclass(frozen=True)
class Invoice:
    id: str
    paid: bool
    number: str = ""
    amount: Decimal | None = None  # None: only the id is known (recorded before invoices were kept)
    currency: str = ""
    status: str = ""  # Stripe's word; "" when only the id is known
    url: str = ""  # Stripe's hosted invoice page
    issued_at: datetime | None = None
    payment_failed: bool = False  # its payment failed and it is not paid since


@dataclass(frozen=True)
class BillingOverview:
    livemode: bool
    by_day: UsageReport
    by_model: UsageReport
    account: StripeAccount | None  # None: the tenant never reached Stripe
    balance: LedgerBalance | None  # live mode only (credit is never given in test mode)
    ledger: LedgerPage
    stored_invoices: list[StripeInvoice]  # newest first, from the invoice.* webhooks

    @property
    def plan_state(self) -> str:
        """Stripe's word for the subscription, "past_due" while an invoice is unpaid, or "none"."""
        if self.account is None:
            return "none"
        if self.account.past_due:
            return "past_due"
        return self.account.subscription_status or "none"

    @property
    def invoices(self) -> list[Invoice]:
        """Unpaid first, then newest first: the stored invoices with their hosted pages, and any id
        the webhooks recorded before invoices were stored, without details."""
        if self.account is None:
            return []
        unpaid = set(self.account.unpaid_invoice_ids)
        stored = [Invoice(id=i.stripe_invoice_id, paid=i.status == "paid", number=i.number, amount=i.amount_due,
                          currency=i.currency, status=i.status, url=i.hosted_invoice_url, issued_at=i.issued_at,
                          payment_failed=i.stripe_invoice_id in unpaid and i.status != "paid")
                  for i in self.stored_invoices]
        known = {i.id for i in stored}
        return ([Invoice(id=i, paid=False, payment_failed=True) for i in self.account.unpaid_invoice_ids
                 if i not in known]
                + [i for i in stored if i.id in unpaid]
                + [i for i in stored if i.id not in unpaid]
                + [Invoice(id=i, paid=True) for i in reversed(self.account.paid_invoice_ids) if i not in known])


def ledger_page(*, tenant: Tenant, livemode: bool, number: int, size: int = LEDGER_PAGE_SIZE) -> LedgerPage:
    """Page ``number`` (from 1) of one mode's ledger, newest first; its queries do not grow with
    the ledger (each kind of entry is read up to the end of the page)."""
    number = max(number, 1)
    end = number * size
    lines = ledger_lines(tenant=tenant, livemode=livemode, limit=end + 1)
    return LedgerPage(lines=lines[end - size:end], number=number, has_next=len(lines) > end)


def billing_overview(*, tenant: Tenant, livemode: bool, period: Period, ledger_page_number: int = 1) -> BillingOverview:
    account = StripeAccount.objects.for_tenant(tenant).first()
    return BillingOverview(
        livemode=livemode,
        by_day=usage_report(tenant=tenant, livemode=livemode, period=period, group_by="day"),
        by_model=usage_report(tenant=tenant, livemode=livemode, period=period, group_by="model"),
        account=account,
        stored_invoices=list(StripeInvoice.objects.for_tenant(tenant)[:INVOICES_SHOWN]) if account else [],
        balance=ledger_balance(tenant=tenant, livemode=True) if livemode else None,
        ledger=ledger_page(tenant=tenant, livemode=livemode, number=ledger_page_number),
    )
