"""Stripe-hosted pages for the tenant's owner: Checkout (mode subscription) to add a card and
start the metered plan, and the Customer Portal for cards and invoices."""

from __future__ import annotations

from accounts.actors import Actor
from accounts.models import Role, Tenant

from .stripe_catalog import stripe_price_id
from .stripe_client import stripe_client
from .stripe_customers import stripe_customer_ensure


def stripe_checkout_create(*, tenant: Tenant, actor: Actor, success_url: str, cancel_url: str) -> str:
    """The URL of a Checkout Session that subscribes the tenant's customer to the metered price
    (https://docs.stripe.com/api/checkout/sessions/create)."""
    actor.require(Role.OWNER)
    account = stripe_customer_ensure(tenant=tenant)
    session = stripe_client().v1.checkout.sessions.create(params={
        "mode": "subscription", "customer": account.stripe_customer_id,
        "line_items": [{"price": stripe_price_id()}], "client_reference_id": str(tenant.id),
        "success_url": success_url, "cancel_url": cancel_url, "metadata": {"tenant_id": str(tenant.id)},
    })
    return session.url


def stripe_portal_create(*, tenant: Tenant, actor: Actor, return_url: str) -> str:
    """The URL of a Customer Portal session (https://docs.stripe.com/api/customer_portal/sessions/create)."""
    actor.require(Role.OWNER)
    account = stripe_customer_ensure(tenant=tenant)
    session = stripe_client().v1.billing_portal.sessions.create(params={
        "customer": account.stripe_customer_id, "return_url": return_url,
    })
    return session.url
