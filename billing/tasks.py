"""django-q2 tasks of billing: each calls one service and is safe to run twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .stripe_outbox import stripe_balance_outbox_run, stripe_outbox_run
from .stripe_reconcile import billing_reconcile


def stripe_outbox_task() -> None:
    """Send pending meter events and balance credits to Stripe (the outboxes' rows say what is left)."""
    stripe_outbox_run()
    stripe_balance_outbox_run()


def billing_reconcile_task(day: str | None = None) -> int:
    """Reconcile one UTC day (yesterday by default: its usage is complete and sent); the django-q2
    schedule made by the billing migrations runs it daily. Returns the differences found."""
    when = datetime.fromisoformat(day).date() if day else (datetime.now(UTC) - timedelta(days=1)).date()
    return len(billing_reconcile(day=when).differences)
