"""The one ``stripe.StripeClient`` of the process, pointed at ``STRIPE_API_BASE`` (Stripe, or the
local stand-in when ``STRIPE_SECRET_KEY`` is unset), and the billing errors Stripe's answers map to."""

from __future__ import annotations

import functools

import stripe
from django.conf import settings

from config.errors import ParleyError


class PaymentRequired(ParleyError):
    """A live job refused until the tenant's unpaid invoice is paid."""

    status_code = 402
    code = "payment_required"


class StripeUnavailable(ParleyError):
    """Stripe (or the stand-in) could not be reached or answered an error; try again later."""

    status_code = 503
    code = "billing_unavailable"


def stripe_client() -> stripe.StripeClient:
    """Built once per process per configuration (tests point it at their own stand-in)."""
    return _client(settings.STRIPE_API_KEY, settings.STRIPE_API_BASE, settings.STRIPE_MAX_NETWORK_RETRIES,
                   settings.STRIPE_TIMEOUT_S)


@functools.lru_cache(maxsize=4)
def _client(api_key: str, api_base: str, retries: int, timeout_s: float) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base, "meter_events": api_base},
        max_network_retries=retries,
        http_client=stripe.RequestsClient(timeout=timeout_s),
    )
