"""stripe_setup against the stand-in: creates the meter, product and metered price once."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from billing.stripe_catalog import stripe_catalog_ensure, stripe_price_id


def test_stripe_setup_is_idempotent(stripe_standin):
    first = stripe_catalog_ensure()
    assert [c.split()[0] for c in first.created] == ["meter", "product", "price"]
    out = StringIO()
    call_command("stripe_setup", stdout=out)
    assert "nothing to create" in out.getvalue()
    again = stripe_catalog_ensure()
    assert (again.meter_id, again.product_id, again.price_id) == (first.meter_id, first.product_id, first.price_id)
    assert again.created == ()
    store = stripe_standin.store
    assert (len(store.meters), len(store.products), len(store.prices)) == (1, 1, 1)
    price = store.prices[first.price_id]
    assert price["recurring"]["usage_type"] == "metered" and price["recurring"]["meter"] == first.meter_id
    assert stripe_price_id() == first.price_id


def test_price_lookup_before_setup_says_what_to_do(stripe_standin):
    with pytest.raises(LookupError, match="stripe_setup"):
        stripe_price_id()


def test_a_restarted_standin_keeps_what_stripe_keeps(settings, tmp_path):
    """``make run`` stopped and started again: the platform's database still names the customer and
    the meter, and the stand-in (given a state file) still knows them, with the meter's events."""
    import stripe

    from billing.stripe_client import stripe_client
    from billing.stripe_standin import StandinConfig, start_standin

    state = tmp_path / "standin.json"
    config = StandinConfig(port=0, webhook_secret=settings.STRIPE_WEBHOOK_SECRET, state_file=str(state))
    settings.STRIPE_API_KEY, settings.STRIPE_STANDIN, settings.STRIPE_MAX_NETWORK_RETRIES = "sk_test_x", True, 0
    first = start_standin(config)
    settings.STRIPE_API_BASE = first.url
    catalog = stripe_catalog_ensure()
    customer = stripe_client().v1.customers.create(params={"name": "Acme"})
    stripe_client().v1.billing.meter_events.create(params={
        "event_name": first.store.meters[catalog.meter_id]["event_name"], "identifier": "usage-1",
        "payload": {"stripe_customer_id": customer.id, "value": "150"}})
    first.stop()
    assert state.exists()

    again = start_standin(config)  # a new process, maybe on another port
    settings.STRIPE_API_BASE = again.url
    try:
        assert stripe_client().v1.customers.retrieve(customer.id).name == "Acme"
        assert stripe_catalog_ensure().created == ()  # the meter, product and price are still there
        assert set(again.meter_events) == {"usage-1"}
        with pytest.raises(stripe.InvalidRequestError):  # the same identifier is still a duplicate
            stripe_client().v1.billing.meter_events.create(params={
                "event_name": again.store.meters[catalog.meter_id]["event_name"], "identifier": "usage-1",
                "payload": {"stripe_customer_id": customer.id, "value": "150"}})
    finally:
        again.stop()
