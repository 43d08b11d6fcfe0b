"""``python manage.py provider_prices_reconcile [--date YYYY-MM-DD]``: ask the providers that answer
their own price (WaveSpeed) what they charge for each job charged that day, and record each
difference from our metering for the operator (admin: Reconciliation differences)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobs.provider_prices import provider_prices_reconcile


class Command(BaseCommand):
    help = "Compare one UTC day (yesterday by default) of charged jobs with the providers' own prices."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="The UTC day, YYYY-MM-DD (default: yesterday).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            day = date.fromisoformat(options["date"]) if options["date"] else \
                (datetime.now(UTC) - timedelta(days=1)).date()
        except ValueError:
            raise CommandError(f"--date {options['date']!r} is not a day: use YYYY-MM-DD.") from None
        run = provider_prices_reconcile(day=day)
        self.stdout.write(f"provider prices {day}: {run.checked} jobs priced, {run.unpriced} without a price "
                          f"endpoint, {len(run.errors)} errors, {len(run.differences)} differences")
        for diff in run.differences:
            self.stdout.write(f"  job {diff.job_id} ({diff.model_id}): ours {diff.ours_amount}, "
                              f"provider {diff.theirs_amount}")
        for error in run.errors:
            self.stderr.write(f"  {error}")
