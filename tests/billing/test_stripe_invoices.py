"""Invoices on the billing page: the invoice.* webhooks, delivered by the stand-in over real HTTP,
store each invoice's number, amount, state and hosted page; the page lists them with links, and
the link opens the stand-in's hosted invoice. A late event never reopens a paid one."""

from __future__ import annotations

import json
import urllib.request
from decimal import Decimal

import pytest
from django.test import Client

from accounts.actors import Actor
from billing.models import StripeAccount, StripeInvoice
from billing.stripe_catalog import stripe_catalog_ensure
from billing.stripe_checkout import stripe_checkout_create
from billing.stripe_outbox import stripe_outbox_run
from billing.stripe_standin.webhooks import sign
from tests.billing.test_stripe_billing import _submit_card
from tests.billing.test_stripe_outbox import _usage


@pytest.fixture
def subscribed(stripe_standin, live_server, transactional_db, tenant):
    """The tenant has paid Checkout with 4242; webhooks reach our endpoint on the live server."""
    stripe_standin.set_webhook(f"{live_server.url}/webhooks/stripe")
    stripe_catalog_ensure()
    url = stripe_checkout_create(tenant=tenant, actor=Actor.system(tenant), success_url="https://parley.test/ok",
                                 cancel_url="https://parley.test/no")
    assert _submit_card(url, "4242 4242 4242 4242")[0] == 303
    stripe_standin.wait_for_webhooks()
    return StripeAccount.objects.get(tenant=tenant)


def _close(standin, account: StripeAccount, amount: str) -> dict:
    _usage(account.tenant, amount=amount)
    stripe_outbox_run()
    [invoice] = standin.close_period(account.stripe_customer_id)
    standin.wait_for_webhooks()
    return invoice


def test_paid_and_failed_invoices_are_listed_with_links(stripe_standin, subscribed, tenant, dashboard_login):
    paid = _close(stripe_standin, subscribed, "1.35")
    stripe_standin.store.cards[subscribed.stripe_customer_id] = "4000000000000002"
    failed = _close(stripe_standin, subscribed, "0.40")

    stored = {i.stripe_invoice_id: i for i in StripeInvoice.objects.filter(tenant=tenant)}
    assert set(stored) == {paid["id"], failed["id"]}
    first, second = stored[paid["id"]], stored[failed["id"]]
    assert (first.number, first.amount_due, first.currency, first.status) == (
        paid["number"], Decimal("1.35"), "usd", "paid")
    assert (second.amount_due, second.status) == (Decimal("0.40"), "open")
    assert first.hosted_invoice_url == paid["hosted_invoice_url"]
    assert first.hosted_invoice_url.startswith(stripe_standin.url + "/i/")

    html = dashboard_login(tenant).get("/billing/").content.decode()
    for invoice, state in ((paid, "paid"), (failed, "payment failed")):
        row = html.split(f'id="invoice-{invoice["id"]}"', 1)[1].split("</tr>", 1)[0]
        assert f'href="{invoice["hosted_invoice_url"]}"' in row and f'>{invoice["number"]}</a>' in row
        assert f">{state}<" in row
    assert "1.35 USD" in html and "0.40 USD" in html
    assert html.index(f'id="invoice-{failed["id"]}"') < html.index(f'id="invoice-{paid["id"]}"')  # unpaid first

    # The link opens the stand-in's hosted invoice: its number, lines and total.
    with urllib.request.urlopen(first.hosted_invoice_url, timeout=10) as response:
        page = response.read().decode()
    assert response.status == 200 and f"Invoice {paid['number']}" in page and "Total $1.35" in page and "paid" in page


def test_a_late_event_does_not_reopen_a_paid_invoice(stripe_standin, subscribed, tenant, settings):
    stripe_standin.store.cards[subscribed.stripe_customer_id] = "4000000000000002"
    invoice = _close(stripe_standin, subscribed, "0.25")
    assert StripeInvoice.objects.get(stripe_invoice_id=invoice["id"]).status == "open"
    stripe_standin.store.cards[subscribed.stripe_customer_id] = "4242424242424242"
    stripe_standin.store.invoice_pay(invoice["id"])
    stripe_standin.wait_for_webhooks()
    assert StripeInvoice.objects.get(stripe_invoice_id=invoice["id"]).status == "paid"

    # A late event describing the invoice while it was still open (a new event id, so not a
    # redelivery) arrives after the payment: the invoice stays paid.
    finalized = next(e for e in stripe_standin.store.events.values()
                     if e["type"] == "invoice.finalized" and e["data"]["object"]["id"] == invoice["id"])
    late = json.dumps({**finalized, "id": "evt_late_update", "type": "invoice.updated"}).encode()
    response = Client().post("/webhooks/stripe", late, content_type="application/json",
                             HTTP_STRIPE_SIGNATURE=sign(late, settings.STRIPE_WEBHOOK_SECRET))
    assert response.status_code == 200
    stored = StripeInvoice.objects.get(stripe_invoice_id=invoice["id"])
    assert stored.status == "paid" and StripeInvoice.objects.filter(tenant=tenant).count() == 1


def test_test_mode_dashboard_without_stripe_shows_no_invoice(dashboard_login, tenant):
    html = dashboard_login(tenant).get("/billing/").content.decode()
    assert 'id="invoices"' not in html and "No invoice yet" in html
