"""What Stripe must hold for usage billing, found by name and created if missing: the Billing
Meter (summing cents per customer), the Product and its metered Price (found by lookup key).
See https://docs.stripe.com/billing/subscriptions/usage-based/implementation-guide."""

from __future__ import annotations

from dataclasses import dataclass

import stripe
from django.conf import settings

from .stripe_client import stripe_client


@dataclass(frozen=True)
class StripeCatalog:
    meter_id: str
    event_name: str
    product_id: str
    price_id: str
    created: tuple[str, ...]  # what this call created (empty on a rerun)


def stripe_catalog_ensure() -> StripeCatalog:
    """Idempotent: a rerun finds the meter by event name, the product by its id and the price by
    its lookup key, and creates nothing."""
    client = stripe_client()
    created: list[str] = []
    event_name = settings.STRIPE_METER_EVENT_NAME
    meters = client.v1.billing.meters.list(params={"status": "active", "limit": 100})
    meter = next((m for m in meters.auto_paging_iter() if m.event_name == event_name), None)
    if meter is None:
        # https://docs.stripe.com/api/billing/meter/create
        meter = client.v1.billing.meters.create(params={
            "display_name": "Parley usage (cents)", "event_name": event_name,
            "default_aggregation": {"formula": "sum"},
            "customer_mapping": {"type": "by_id", "event_payload_key": "stripe_customer_id"},
            "value_settings": {"event_payload_key": "value"},
        })
        created.append(f"meter {meter.id}")
    try:
        product = client.v1.products.retrieve(settings.STRIPE_PRODUCT_ID)
    except stripe.InvalidRequestError as exc:
        if exc.http_status != 404:
            raise
        # https://docs.stripe.com/api/products/create (a product id of our choosing)
        product = client.v1.products.create(params={
            "id": settings.STRIPE_PRODUCT_ID, "name": "Parley video generation", "unit_label": "cent",
        })
        created.append(f"product {product.id}")
    lookup_key = settings.STRIPE_PRICE_LOOKUP_KEY
    prices = client.v1.prices.list(params={"lookup_keys": [lookup_key], "active": "true", "limit": 1}).data
    if prices:
        price = prices[0]
    else:
        # https://docs.stripe.com/api/prices/create: one cent per unit the meter sums
        price = client.v1.prices.create(params={
            "product": product.id, "currency": "usd", "unit_amount_decimal": "1", "lookup_key": lookup_key,
            "nickname": "Usage, per cent", "recurring": {"interval": "month", "usage_type": "metered",
                                                         "meter": meter.id},
        })
        created.append(f"price {price.id}")
    return StripeCatalog(meter_id=meter.id, event_name=event_name, product_id=product.id, price_id=price.id,
                         created=tuple(created))


def stripe_price_id() -> str:
    """The metered price's id, found by its lookup key (``stripe_setup`` must have run)."""
    prices = stripe_client().v1.prices.list(params={"lookup_keys": [settings.STRIPE_PRICE_LOOKUP_KEY],
                                                    "active": "true", "limit": 1}).data
    if not prices:
        raise LookupError("No metered price in Stripe yet: run `python manage.py stripe_setup`.")
    return prices[0].id
