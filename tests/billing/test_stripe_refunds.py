"""Refunds and credit grants reach Stripe as customer balance credits, through the outbox, with the
real SDK over HTTP against the stand-in: one credit per entry, never two (a retry, a crash between
sending and recording); the period's invoice is the usage less the credits."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

import billing.stripe_outbox as outbox
from accounts.models import User
from billing.models import BalanceCreditOutbox, CreditGrant, StripeAccount
from billing.services import credit_grant_create, refund_create
from billing.stripe_catalog import stripe_catalog_ensure
from billing.stripe_outbox import stripe_balance_outbox_run, stripe_outbox_run
from tests.billing.test_stripe_outbox import _usage


@pytest.fixture
def operator(db) -> User:
    return User.objects.create_user(email="staff@parley.example", password="pw-Secret-123", is_staff=True)


@pytest.fixture
def catalog(stripe_standin):
    return stripe_catalog_ensure()


def _credits(standin, customer: str) -> list[dict]:
    return [t for t in standin.store.balance_transactions.values()
            if t["customer"] == customer and t["type"] == "adjustment"]


def _customer(tenant) -> str:
    return StripeAccount.objects.get(tenant=tenant).stripe_customer_id


@pytest.mark.django_db
def test_a_refund_after_its_meter_event_is_one_balance_credit(stripe_standin, catalog, tenant, operator):
    record = _usage(tenant, amount="1.20")
    assert stripe_outbox_run().sent == 1
    refund = refund_create(usage_record_id=record.pk, operator=operator, amount=Decimal("0.45"), reason="blurry")

    run = stripe_balance_outbox_run()
    assert (run.queued, run.sent, run.failed) == (2, 2, 0)  # the refund and the free allowance
    assert stripe_balance_outbox_run() == outbox.OutboxRun(queued=0, sent=0, failed=0)

    credits = {t["metadata"]["parley_key"]: t for t in _credits(stripe_standin, _customer(tenant))}
    allowance = CreditGrant.objects.get(tenant=tenant)
    assert set(credits) == {f"parley-refund-{refund.pk}", f"parley-credit-{allowance.pk}"}
    assert credits[f"parley-refund-{refund.pk}"]["amount"] == -45
    assert credits[f"parley-credit-{allowance.pk}"]["amount"] == -500
    assert stripe_standin.store.customers[_customer(tenant)]["balance"] == -545
    entry = BalanceCreditOutbox.objects.get(refund=refund)
    assert entry.sent_at and entry.attempts == 1 and entry.stripe_transaction_id.startswith("cbtxn_")
    assert entry.stripe_transaction_id == credits[f"parley-refund-{refund.pk}"]["id"]
    assert list(stripe_standin.meter_events) == [str(record.pk)]  # the charge is still metered once


@pytest.mark.django_db
def test_test_mode_refunds_are_never_sent(stripe_standin, catalog, tenant, operator, settings):
    record = _usage(tenant, amount="0.50", livemode=False)
    refund_create(usage_record_id=record.pk, operator=operator, reason="test mode")
    stripe_balance_outbox_run()
    assert not BalanceCreditOutbox.objects.filter(refund__isnull=False).exists()


@pytest.mark.django_db
def test_crash_between_sending_and_recording_credits_once(stripe_standin, catalog, tenant, operator, monkeypatch):
    record = _usage(tenant, amount="0.80")
    refund = refund_create(usage_record_id=record.pk, operator=operator, reason="wrong voice")

    def crash(**kwargs):
        raise SystemExit("killed after Stripe answered, before saving")

    monkeypatch.setattr(outbox, "_record_sent", crash)
    with pytest.raises(SystemExit):
        stripe_balance_outbox_run()
    monkeypatch.undo()
    BalanceCreditOutbox.objects.update(claimed_until=None)  # the dead sender's lease ends
    assert stripe_balance_outbox_run().sent == 2  # both entries again (the crash hit the first)

    customer = _customer(tenant)
    credits = _credits(stripe_standin, customer)
    assert sorted(t["amount"] for t in credits) == [-500, -80]
    replays = [r for r in stripe_standin.requests if r["idempotency_key"] and "balance_transactions" in r["path"]]
    assert len(replays) == 3  # sent, crashed; sent again with the same key: Stripe replayed its answer
    assert BalanceCreditOutbox.objects.get(refund=refund).sent_at is not None


@pytest.mark.django_db
def test_a_500_then_a_success_credits_once(stripe_standin, catalog, tenant, operator):
    record = _usage(tenant, amount="0.30")
    refund_create(usage_record_id=record.pk, operator=operator, reason="late")
    stripe_balance_outbox_run()  # the allowance and the refund, before any fault
    grant = credit_grant_create(tenant=tenant, operator=operator, amount=Decimal("2.00"), reason="goodwill")
    stripe_standin.fail_next(1)
    run = stripe_balance_outbox_run()
    assert (run.sent, run.failed) == (0, 1)
    entry = BalanceCreditOutbox.objects.get(credit_grant=grant)
    assert entry.attempts == 1 and "APIError" in entry.last_error and entry.sent_at is None
    BalanceCreditOutbox.objects.filter(pk=entry.pk).update(next_attempt_at=None)
    assert stripe_balance_outbox_run().sent == 1
    assert sorted(t["amount"] for t in _credits(stripe_standin, _customer(tenant))) == [-500, -200, -30]


@pytest.mark.django_db
def test_a_resend_after_the_idempotency_key_expired_finds_the_credit(stripe_standin, catalog, tenant):
    """Stripe forgets an Idempotency-Key after 24 hours: the resend looks the credit up instead."""
    stripe_balance_outbox_run()
    entry = BalanceCreditOutbox.objects.get()
    stripe_standin.store.idempotent.clear()  # the key expired at Stripe
    BalanceCreditOutbox.objects.filter(pk=entry.pk).update(
        sent_at=None, created_at=entry.created_at - timedelta(days=2))  # its acknowledgement was lost
    assert stripe_balance_outbox_run().sent == 1
    assert len(_credits(stripe_standin, _customer(tenant))) == 1


@pytest.mark.django_db
def test_the_period_invoice_is_usage_less_credits(stripe_standin, catalog, tenant, operator):
    from billing.stripe_customers import stripe_customer_ensure
    customer = stripe_customer_ensure(tenant=tenant).stripe_customer_id
    stripe_standin.store.cards[customer] = "4242424242424242"
    stripe_standin.store._subscribe(customer, [stripe_standin.store.prices[catalog.price_id]], {})
    records = [_usage(tenant, amount="4.00"), _usage(tenant, amount="2.50")]
    refund_create(usage_record_id=records[0].pk, operator=operator, amount=Decimal("1.00"), reason="artefacts")
    stripe_outbox_run()
    stripe_balance_outbox_run()

    [invoice] = stripe_standin.close_period(customer)
    # 650 cents of usage, less the 500 allowance and the 100 refund
    assert (invoice["total"], invoice["starting_balance"], invoice["amount_due"]) == (650, -600, 50)
    assert invoice["status"] == "paid" and invoice["ending_balance"] == 0
    assert stripe_standin.store.customers[customer]["balance"] == 0

    # Credit larger than the usage: nothing due, the rest stays on the balance for the next invoice.
    credit_grant_create(tenant=tenant, operator=operator, amount=Decimal("3.00"), reason="outage")
    _usage(tenant, amount="1.00")
    stripe_outbox_run()
    stripe_balance_outbox_run()
    [second] = stripe_standin.close_period(customer)
    assert (second["total"], second["amount_due"], second["ending_balance"]) == (100, 0, -200)
    assert stripe_standin.store.customers[customer]["balance"] == -200
