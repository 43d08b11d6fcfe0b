"""Whether a tenant may start live work: not while a Stripe invoice of theirs is unpaid.
Test mode is never limited."""

from __future__ import annotations

from accounts.models import Tenant

from .models import StripeAccount
from .stripe_client import PaymentRequired


def stripe_live_jobs_check(*, tenant: Tenant, livemode: bool) -> None:
    """Raise PaymentRequired (402) for a live job while the tenant is past due."""
    if not livemode:
        return
    unpaid = StripeAccount.objects.filter(tenant=tenant).values_list("unpaid_invoice_ids", flat=True).first()
    if unpaid:
        raise PaymentRequired(
            f"Your last invoice could not be paid ({len(unpaid)} unpaid). Update your card in the billing portal "
            "(Billing page of the dashboard, “Manage billing”); live jobs start again once the invoice is paid. "
            "Test-mode keys keep working."
        )
