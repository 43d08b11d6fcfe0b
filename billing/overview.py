"""What the dashboard's billing page reads, in a fixed number of queries whatever the ledger's
length: one mode's usage of a month by day and by model, the tenant's Stripe plan and invoices,
the remaining credit, and one page of the ledger's entries. Sums come from ``billing.selectors``."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import Tenant

from .models import StripeAccount
from .selectors import LedgerBalance, LedgerLine, Period, UsageReport, ledger_balance, ledger_lines, usage_report

LEDGER_PAGE_SIZE = 25


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


@dataclass(frozen=True)
class BillingOverview:
    livemode: bool
    by_day: UsageReport
    by_model: UsageReport
    account: StripeAccount | None  # None: the tenant never reached Stripe
    balance: LedgerBalance | None  # live mode only (credit is never given in test mode)
    ledger: LedgerPage

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
        """Unpaid first (Stripe's webhooks record the ids; the Customer Portal shows them)."""
        if self.account is None:
            return []
        return ([Invoice(id=i, paid=False) for i in self.account.unpaid_invoice_ids]
                + [Invoice(id=i, paid=True) for i in reversed(self.account.paid_invoice_ids)])


def ledger_page(*, tenant: Tenant, livemode: bool, number: int, size: int = LEDGER_PAGE_SIZE) -> LedgerPage:
    """Page ``number`` (from 1) of one mode's ledger, newest first; its queries do not grow with
    the ledger (each kind of entry is read up to the end of the page)."""
    number = max(number, 1)
    end = number * size
    lines = ledger_lines(tenant=tenant, livemode=livemode, limit=end + 1)
    return LedgerPage(lines=lines[end - size:end], number=number, has_next=len(lines) > end)


def billing_overview(*, tenant: Tenant, livemode: bool, period: Period, ledger_page_number: int = 1) -> BillingOverview:
    return BillingOverview(
        livemode=livemode,
        by_day=usage_report(tenant=tenant, livemode=livemode, period=period, group_by="day"),
        by_model=usage_report(tenant=tenant, livemode=livemode, period=period, group_by="model"),
        account=StripeAccount.objects.for_tenant(tenant).first(),
        balance=ledger_balance(tenant=tenant, livemode=True) if livemode else None,
        ledger=ledger_page(tenant=tenant, livemode=livemode, number=ledger_page_number),
    )
