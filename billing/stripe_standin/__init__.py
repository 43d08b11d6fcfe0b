"""A local Stripe-compatible server, because Stripe cannot be reached from our machines: it speaks
Stripe's wire format for every call the platform makes, so the official ``stripe`` SDK talks to it
as to Stripe (point ``STRIPE_API_BASE`` at it; any ``sk_test_`` key is accepted).

No Django here: ``python manage.py stripe_standin`` is a thin wrapper. Where things live:
``form_params`` (Stripe's bracketed form encoding), ``objects`` (Stripe's objects and ids),
``store`` (the state and the operations), ``webhooks`` (signed delivery), ``pages`` (Checkout,
Portal and invoice pages), ``server`` (HTTP, auth, idempotency, faults, control endpoints).

Control endpoints (no auth, JSON): ``GET /_standin/health``, ``POST /_standin/faults``
``{"server_error": N}`` (the next N API calls answer 500), ``POST /_standin/close_period``
``{"customer": "cus_..."}`` (optional: sums each subscription's uninvoiced meter events, creates the
invoice less the customer's balance credit, charges the card on file and sends invoice.paid or invoice.payment_failed),
``GET /_standin/meter_events``, ``GET /_standin/webhooks``, ``POST /_standin/events/<id>/resend``,
``POST /_standin/customers/<id>/card`` ``{"number": "4242..."}``, ``POST /_standin/reset``.
"""

from .server import RunningStandin, StandinConfig, start_standin

__all__ = ["RunningStandin", "StandinConfig", "start_standin"]
