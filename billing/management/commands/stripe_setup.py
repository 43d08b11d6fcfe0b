"""``python manage.py stripe_setup``: make sure Stripe holds the meter, product and metered price
(idempotent: a rerun finds them and creates nothing)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from billing.stripe_catalog import stripe_catalog_ensure


class Command(BaseCommand):
    help = "Create the Stripe Billing Meter, Product and metered Price if missing (found by name and lookup key)."

    def handle(self, *args: Any, **options: Any) -> None:
        catalog = stripe_catalog_ensure()
        where = "the stand-in" if settings.STRIPE_STANDIN else "Stripe"
        self.stdout.write(f"{where} at {settings.STRIPE_API_BASE}: meter {catalog.meter_id} "
                          f"({catalog.event_name}), product {catalog.product_id}, price {catalog.price_id}")
        self.stdout.write(("created: " + ", ".join(catalog.created)) if catalog.created else "nothing to create")
