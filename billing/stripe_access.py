"""Whether a tenant may start live work: not while a Stripe invoice of theirs is unpaid, nor
without an active plan once its credit (the free allowance and grants) is spent. Test mode is
never limited."""

from __future__ import annotations

from django.conf import settings

from accounts.models import Tenant

from .models import StripeAccount
from .selectors import budget_amounts, ledger_balance, month_start
from .stripe_client import PaymentRequired

# Stripe's subscription statuses that bill the tenant's usage (https://docs.stripe.com/billing/subscriptions/overview)
ACTIVE_PLAN = frozenset({"active", "trialing"})


def _billing_url() -> str:
    return f"{settings.PUBLIC_BASE_URL}/billing/"


def stripe_live_jobs_check(*, tenant: Tenant, account: StripeAccount | None) -> None:
    """Raise PaymentRequired (402) for a live job while the tenant is past due, or while it has no
    active plan and its live spend (charges less refunds, plus the quotes of live jobs still
    running) has reached its credit.

    The free allowance every new tenant gets is the trial (usage before a card is on file), and
    credit is what a tenant without a plan may spend, as a prepaid SaaS does: a new tenant can try
    live jobs at once, and nobody runs up usage that no payment method covers. The rule applies
    once the tenant is known to billing (its ``StripeAccount`` row, which the outbox makes before
    it reports the first live charge or credit, seconds after it is written, even while Stripe is
    unreachable); before that the tenant has nothing billed yet, and its budget still bounds it.
    ``account`` is our copy of the Stripe state (kept by webhooks; None until the outbox made it),
    read by the caller under the lock of the tenant's live creations (``admission``); the rest
    comes from the ledger, never from Stripe itself: job creation makes no HTTP call."""
    if account is not None and account.unpaid_invoice_ids:
        where = (f"the billing portal (“Manage billing” on {_billing_url()})" if account.stripe_customer_id
                 else f"the billing page, {_billing_url()}")
        unpaid = len(account.unpaid_invoice_ids)
        raise PaymentRequired(
            f"Your last invoice could not be paid ({unpaid} unpaid). Update your card in {where}; live jobs "
            "start again once the invoice is paid. Test-mode keys keep working."
        )
    if account is None or account.subscription_status in ACTIVE_PLAN:
        return
    balance = ledger_balance(tenant=tenant, livemode=True)
    _spend, reserved = budget_amounts(tenant=tenant, api_key_id=None, since=month_start())
    if balance.spend + reserved >= balance.credits:
        raise PaymentRequired(
            f"Your credit of {balance.credits} {balance.currency.upper()} is used up ({balance.spend} spent, "
            f"{reserved} held by running jobs) and you have no active plan. Start the plan (add a card) on "
            f"the billing page, {_billing_url()}; live jobs start again at once. Test-mode keys keep working."
        )
