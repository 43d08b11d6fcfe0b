"""The tenant's Stripe Customer, created on first need and remembered in ``StripeAccount``."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from accounts.models import Tenant

from .models import StripeAccount
from .stripe_client import stripe_client


def stripe_account_get(*, tenant: Tenant) -> StripeAccount:
    """The tenant's billing row (made empty on first use; no Stripe call)."""
    try:
        return StripeAccount.objects.get(tenant=tenant)
    except StripeAccount.DoesNotExist:
        try:
            with transaction.atomic():
                return StripeAccount.objects.create(tenant=tenant)
        except IntegrityError:  # created meanwhile by another process
            return StripeAccount.objects.get(tenant=tenant)


def stripe_customer_ensure(*, tenant: Tenant) -> StripeAccount:
    """The tenant's account with a Stripe customer id. Called outside any transaction (it calls
    Stripe). Two concurrent first calls send the same Idempotency-Key, so Stripe creates one
    customer and answers both with it (https://docs.stripe.com/api/idempotent_requests)."""
    account = stripe_account_get(tenant=tenant)
    if account.stripe_customer_id:
        return account
    # https://docs.stripe.com/api/customers/create
    customer = stripe_client().v1.customers.create(
        params={"name": tenant.name, "metadata": {"tenant_id": str(tenant.id)}},
        options={"idempotency_key": f"parley-customer-{tenant.id}"},
    )
    StripeAccount.objects.filter(pk=account.pk, stripe_customer_id="").update(stripe_customer_id=customer.id)
    account.refresh_from_db()
    return account
