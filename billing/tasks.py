"""django-q2 tasks of billing: each calls one service and is safe to run twice."""

from __future__ import annotations

from .stripe_outbox import stripe_outbox_run


def stripe_outbox_task() -> None:
    """Send pending meter events to Stripe (the outbox's rows say what is left)."""
    stripe_outbox_run()
