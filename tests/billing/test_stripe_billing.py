"""Stripe billing end to end against the stand-in, webhooks delivered over real HTTP to our
endpoint: Checkout with 4242 -> plan active -> usage metered -> the period closes and is paid;
a declined card -> invoice.payment_failed -> live jobs 402, test-mode jobs still run -> the card
is fixed in the portal -> the invoice is paid -> live jobs again. Plus redeliveries and forgeries."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from django.test import Client

from accounts.actors import Actor
from accounts.models import ApiKeyMode
from billing.models import StripeAccount, StripeWebhookEvent
from billing.stripe_catalog import stripe_catalog_ensure
from billing.stripe_checkout import stripe_checkout_create, stripe_portal_create
from billing.stripe_outbox import stripe_outbox_run
from billing.stripe_standin.webhooks import sign
from tests.billing.test_stripe_outbox import _usage
from tests.conftest import upload


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        return None


def _submit_card(url: str, number: str, **extra: str) -> tuple[int, str]:
    """What a person does on the hosted page: type the card and press the button."""
    body = urllib.parse.urlencode({"cardNumber": number, "cardExpiry": "12 / 34", "cardCvc": "123", **extra}).encode()
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, data=body, method="POST"), timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _create_job(client, png_file, wav_file) -> object:
    image, audio = upload(client, png_file)["id"], upload(client, wav_file)["id"]
    return client.post("/api/v1/jobs", {"model": "local/still", "input": {"image": image, "audio": audio}},
                       format="json")


@pytest.fixture
def hooked(stripe_standin, live_server, transactional_db):
    stripe_standin.set_webhook(f"{live_server.url}/webhooks/stripe")
    stripe_catalog_ensure()
    return stripe_standin


def _account(tenant) -> StripeAccount:
    return StripeAccount.objects.get(tenant=tenant)


def test_checkout_usage_invoice_decline_and_recovery(hooked, tenant, api_client, png_file, wav_file):
    owner = Actor.system(tenant)
    url = stripe_checkout_create(tenant=tenant, actor=owner, success_url="https://parley.test/billing?ok=1",
                                 cancel_url="https://parley.test/billing")
    status, page = _submit_card(url, "4000 0000 0000 0002")
    assert status == 402 and "Your card was declined." in page
    status, _ = _submit_card(url, "4242 4242 4242 4242")
    assert status == 303
    hooked.wait_for_webhooks()
    account = _account(tenant)
    assert account.subscription_id.startswith("sub_") and account.subscription_status == "active"

    records = [_usage(tenant, amount="0.15"), _usage(tenant, amount="1.20")]
    assert stripe_outbox_run().sent == 2
    [invoice] = hooked.close_period(account.stripe_customer_id)
    assert invoice["amount_due"] == 135 and invoice["status"] == "paid"  # exactly the ledger's sum, in cents
    hooked.wait_for_webhooks()
    assert invoice["id"] in _account(tenant).paid_invoice_ids and not _account(tenant).past_due

    # The card starts declining: the next invoice fails and live jobs are refused.
    hooked.store.cards[account.stripe_customer_id] = "4000000000000002"
    _usage(tenant, amount="0.40")
    stripe_outbox_run()
    [failed] = hooked.close_period(account.stripe_customer_id)
    assert failed["status"] == "open" and failed["amount_due"] == 40
    hooked.wait_for_webhooks()
    account = _account(tenant)
    assert account.past_due and account.subscription_status == "past_due"

    live, test = api_client(), api_client(mode=ApiKeyMode.TEST)
    refused = _create_job(live, png_file, wav_file)
    assert refused.status_code == 402, refused.content
    assert refused.json()["error"]["code"] == "payment_required"
    assert _create_job(test, png_file, wav_file).status_code == 201  # test mode is never limited

    # The owner puts a working card in through the portal: the open invoice is paid.
    portal = stripe_portal_create(tenant=tenant, actor=owner, return_url="https://parley.test/billing")
    status, page = _submit_card(portal, "4242424242424242")
    assert status == 200 and "Your card was saved." in page
    hooked.wait_for_webhooks()
    account = _account(tenant)
    assert not account.past_due and account.subscription_status == "active"
    assert _create_job(live, png_file, wav_file).status_code == 201
    # the identifiers are the ledger ids (compared as a set: "10" sorts before "8" as text)
    assert len(hooked.meter_events) == 3 and {str(r.pk) for r in records} <= set(hooked.meter_events)


def test_the_same_webhook_twice_is_handled_once(hooked, tenant):
    url = stripe_checkout_create(tenant=tenant, actor=Actor.system(tenant), success_url="https://x.test/ok",
                                 cancel_url="https://x.test/no")
    _submit_card(url, "4242424242424242")
    hooked.wait_for_webhooks()
    account = _account(tenant)
    hooked.store.cards[account.stripe_customer_id] = "4000000000000002"
    _usage(tenant, amount="0.10")
    stripe_outbox_run()
    [inv] = hooked.close_period(account.stripe_customer_id)
    hooked.wait_for_webhooks()
    failed_event = next(e for e in hooked.store.events.values() if e["type"] == "invoice.payment_failed")
    handled = StripeWebhookEvent.objects.count()
    # The invoice gets paid; then Stripe redelivers the old payment_failed (a retry after a lost 2xx).
    hooked.store.cards[account.stripe_customer_id] = "4242424242424242"
    hooked.store.invoice_pay(inv["id"])
    hooked.wait_for_webhooks()
    assert not _account(tenant).past_due
    hooked.resend(failed_event["id"])
    hooked.wait_for_webhooks()
    deliveries = [d for d in hooked.deliveries if d["event_id"] == failed_event["id"]]
    assert len(deliveries) == 2 and all(d["delivered"] for d in deliveries)
    assert StripeWebhookEvent.objects.filter(event_id=failed_event["id"]).count() == 1
    # invoice.paid, invoice.payment_succeeded, customer.subscription.updated; not the redelivery
    assert StripeWebhookEvent.objects.count() == handled + 3
    assert not _account(tenant).past_due


def test_a_bad_signature_is_refused_and_changes_nothing(stripe_standin, tenant, settings, db):
    StripeAccount.objects.create(tenant=tenant, stripe_customer_id="cus_forged")
    payload = json.dumps({"id": "evt_forged", "object": "event", "type": "invoice.payment_failed",
                          "created": int(time.time()), "livemode": False, "api_version": "2026-10-28.endive",
                          "data": {"object": {"id": "in_forged", "object": "invoice", "customer": "cus_forged"}},
                          "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None}}).encode()
    client = Client()
    for signature in (sign(payload, "whsec_someone_else"), "", "t=1,v1=00"):
        response = client.post("/webhooks/stripe", payload, content_type="application/json",
                               HTTP_STRIPE_SIGNATURE=signature)
        assert response.status_code == 400
    stale = sign(payload, settings.STRIPE_WEBHOOK_SECRET, timestamp=int(time.time()) - 3600)  # a replay
    assert client.post("/webhooks/stripe", payload, content_type="application/json",
                       HTTP_STRIPE_SIGNATURE=stale).status_code == 400
    assert not StripeWebhookEvent.objects.exists() and not _account(tenant).past_due
    good = sign(payload, settings.STRIPE_WEBHOOK_SECRET)
    assert client.post("/webhooks/stripe", payload, content_type="application/json",
                       HTTP_STRIPE_SIGNATURE=good).status_code == 200
    assert _account(tenant).past_due  # the same body, signed with our secret, is applied

