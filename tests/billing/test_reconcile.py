"""The daily reconciliation against the stand-in's meter event summaries, over the real SDK: it
finds a missing meter event and a mismatched amount, lists them in the admin, fixes nothing, and
finds nothing when the ledger and Stripe agree."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.management import call_command

from accounts.models import User
from billing.models import ReconciliationDifference, ReconciliationKind, StripeAccount
from billing.stripe_catalog import stripe_catalog_ensure
from billing.stripe_outbox import stripe_outbox_run
from billing.stripe_reconcile import billing_reconcile
from billing.tasks import billing_reconcile_task
from tests.billing.test_stripe_outbox import _usage


@pytest.fixture
def catalog(stripe_standin):
    return stripe_catalog_ensure()


def _today():
    return datetime.now(UTC).date()


@pytest.mark.django_db
def test_agreeing_ledger_and_meter_make_no_difference(stripe_standin, catalog, tenant, other_tenant):
    _usage(tenant, amount="0.15")
    _usage(tenant, amount="1.05")
    _usage(other_tenant, amount="0.40")
    _usage(tenant, amount="9.99", livemode=False)  # test mode is never metered nor compared
    stripe_outbox_run()
    run = billing_reconcile(day=_today())
    assert run.tenants == 2 and run.differences == []
    assert not ReconciliationDifference.objects.exists()
    assert billing_reconcile_task(_today().isoformat()) == 0


@pytest.mark.django_db
def test_a_missing_event_and_a_mismatch_are_recorded_not_fixed(stripe_standin, catalog, tenant, other_tenant):
    _usage(tenant, amount="1.20")
    stripe_outbox_run()
    customer = StripeAccount.objects.get(tenant=tenant).stripe_customer_id
    # Someone reported extra usage to Stripe by hand: the meter says 1.50.
    stripe_standin.store.meter_event_create({
        "event_name": catalog.event_name, "identifier": "manual-1",
        "payload": {"stripe_customer_id": customer, "value": "30"}})
    _usage(other_tenant, amount="0.70")  # never sent: Stripe's meter has nothing for it
    events_before = dict(stripe_standin.meter_events)

    run = billing_reconcile(day=_today())
    found = {d.tenant_id: d for d in run.differences}
    assert (found[tenant.id].kind, found[tenant.id].ours_cents, found[tenant.id].theirs_cents) == (
        ReconciliationKind.AMOUNT_MISMATCH, 120, 150)
    assert (found[other_tenant.id].kind, found[other_tenant.id].ours_cents, found[other_tenant.id].theirs_cents) == (
        ReconciliationKind.MISSING_IN_STRIPE, 70, 0)
    assert stripe_standin.meter_events == events_before  # nothing sent, nothing fixed

    billing_reconcile(day=_today())  # a rerun records nothing new
    assert ReconciliationDifference.objects.count() == 2


@pytest.mark.django_db
def test_usage_unknown_to_us_and_the_command(stripe_standin, catalog, tenant):
    from billing.stripe_customers import stripe_customer_ensure
    customer = stripe_customer_ensure(tenant=tenant).stripe_customer_id
    stripe_standin.store.meter_event_create({
        "event_name": catalog.event_name, "identifier": "stray", "payload": {"stripe_customer_id": customer,
                                                                               "value": "25"}})
    call_command("billing_reconcile", "--date", _today().isoformat())
    [diff] = ReconciliationDifference.objects.all()
    assert (diff.tenant_id, diff.kind, diff.ours_cents, diff.theirs_cents) == (
        tenant.id, ReconciliationKind.UNKNOWN_TO_US, 0, 25)
    # Another day has nothing on either side.
    call_command("billing_reconcile", "--date", "2020-01-01")
    assert ReconciliationDifference.objects.count() == 1


@pytest.mark.django_db
def test_the_operator_sees_differences_and_stripe_state_in_the_admin(stripe_standin, catalog, tenant, client):
    _usage(tenant, amount="0.70")
    stripe_standin.fail_next(1)
    stripe_outbox_run()  # fails: one pending meter event with an error
    billing_reconcile(day=_today())
    staff = User.objects.create_superuser(email="op@parley.example", password="pw-Secret-123")
    client.force_login(staff)
    page = client.get("/admin/billing/reconciliationdifference/").content.decode()
    assert "Missing in Stripe" in page and "0.70" in page
    page = client.get("/admin/billing/stripeaccount/").content.decode()
    assert "1 meter events, 0 credits pending" in page and "APIError" in page
    assert StripeAccount.objects.get(tenant=tenant).stripe_customer_id in page
