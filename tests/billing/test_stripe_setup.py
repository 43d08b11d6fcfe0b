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
