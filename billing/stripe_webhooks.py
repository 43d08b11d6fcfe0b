"""Stripe's events, verified and applied once: they keep each tenant's plan and payment state
(https://docs.stripe.com/billing/subscriptions/webhooks)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction

from .models import StripeAccount, StripeInvoice, StripeWebhookEvent

logger = logging.getLogger(__name__)

HANDLED = frozenset({
    "checkout.session.completed", "customer.subscription.created", "customer.subscription.updated",
    "customer.subscription.deleted", "invoice.created", "invoice.finalized", "invoice.updated", "invoice.paid",
    "invoice.payment_succeeded", "invoice.payment_failed", "invoice.voided", "invoice.marked_uncollectible",
})
# An invoice in one of these states stays there: a late or redelivered older event cannot reopen it
# (https://docs.stripe.com/invoicing/overview#invoice-statuses).
_FINAL_INVOICE_STATES = frozenset({"paid", "void"})


class WebhookSignatureInvalid(Exception):
    """The body is not signed with our endpoint's secret (or is not an event at all)."""


def stripe_webhook_receive(*, payload: bytes, signature: str | None) -> bool:
    """Verify ``Stripe-Signature`` with the SDK, then apply the event unless its id was seen.
    Returns whether it was applied now (False: a redelivery, or a type we do not use)."""
    try:
        event = stripe.Webhook.construct_event(payload, signature, settings.STRIPE_WEBHOOK_SECRET)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise WebhookSignatureInvalid(str(exc)) from exc
    obj: dict[str, Any] = event.data.object.to_dict()
    customer_id = obj.get("customer") or ""
    try:
        with transaction.atomic():
            StripeWebhookEvent.objects.create(event_id=event.id, type=event.type, customer_id=customer_id)
            if event.type not in HANDLED:
                return False
            _apply(event_type=event.type, obj=obj, customer_id=customer_id)
    except IntegrityError:
        logger.info("stripe webhook %s (%s) already handled", event.id, event.type)
        return False
    return True


def _apply(*, event_type: str, obj: dict[str, Any], customer_id: str) -> None:
    account = StripeAccount.objects.select_for_update().filter(stripe_customer_id=customer_id).first()
    if account is None:
        logger.warning("stripe webhook %s for unknown customer %r ignored", event_type, customer_id)
        return
    if event_type.startswith("invoice."):
        _invoice_store(account=account, obj=obj)
    if event_type == "checkout.session.completed":
        if obj.get("subscription"):
            account.subscription_id = obj["subscription"]
    elif event_type.startswith("customer.subscription."):
        account.subscription_id = obj["id"]
        account.subscription_status = "canceled" if event_type.endswith(".deleted") else obj["status"]
    elif event_type == "invoice.paid":
        # Paid is final for an invoice: remembered, so a late payment_failed cannot reopen it.
        account.paid_invoice_ids = sorted({*account.paid_invoice_ids, obj["id"]})
        account.unpaid_invoice_ids = [i for i in account.unpaid_invoice_ids if i != obj["id"]]
    elif event_type == "invoice.payment_failed" and obj["id"] not in account.paid_invoice_ids:
        account.unpaid_invoice_ids = sorted({*account.unpaid_invoice_ids, obj["id"]})
    account.save()


def _invoice_store(*, account: StripeAccount, obj: dict[str, Any]) -> StripeInvoice:
    """Keep the tenant's copy of the invoice (number, amount, state, hosted page) as the event
    describes it; amounts arrive in cents and are kept as Decimal units."""
    invoice = (StripeInvoice.objects.select_for_update().filter(stripe_invoice_id=obj["id"]).first()
               or StripeInvoice(tenant=account.tenant, stripe_invoice_id=obj["id"]))
    invoice.number = obj.get("number") or ""
    invoice.amount_due = Decimal(int(obj.get("amount_due") or 0)).scaleb(-2)
    invoice.currency = obj.get("currency") or "usd"
    invoice.hosted_invoice_url = obj.get("hosted_invoice_url") or ""
    invoice.issued_at = datetime.fromtimestamp(int(obj.get("created") or 0), tz=UTC)
    if invoice.status not in _FINAL_INVOICE_STATES:
        invoice.status = obj.get("status") or "open"
    invoice.full_clean()
    invoice.save()
    return invoice
