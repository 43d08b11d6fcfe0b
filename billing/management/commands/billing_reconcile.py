"""``python manage.py billing_reconcile [--date YYYY-MM-DD]``: compare a day's live charges with
Stripe's meter, per tenant, and record the differences for the operator (admin: Reconciliation
differences)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.stripe_reconcile import billing_reconcile


class Command(BaseCommand):
    help = "Compare one UTC day (yesterday by default) of our ledger with Stripe's meter event summaries."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="The UTC day, YYYY-MM-DD (default: yesterday).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            day = date.fromisoformat(options["date"]) if options["date"] else \
                (datetime.now(UTC) - timedelta(days=1)).date()
        except ValueError:
            raise CommandError(f"--date {options['date']!r} is not a day: use YYYY-MM-DD.") from None
        run = billing_reconcile(day=day)
        self.stdout.write(f"billing reconcile {day}: {run.tenants} tenants, {len(run.differences)} differences")
        for diff in run.differences:
            self.stdout.write(f"  {diff.tenant_id}: {diff.get_kind_display()}: ours {diff.ours_cents} cents, "
                              f"Stripe {diff.theirs_cents} cents")
