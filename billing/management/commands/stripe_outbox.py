"""``python manage.py stripe_outbox``: send pending meter events and balance credits to Stripe, once
or every N seconds."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from billing.stripe_outbox import stripe_balance_outbox_run, stripe_outbox_run


class Command(BaseCommand):
    help = ("Send the outboxes' pending meter events (one per live usage record) and balance credits "
            "(one per live refund or credit grant) to Stripe.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=float, default=0, help="Repeat every N seconds (0: run once).")

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            for name, run in (("meter events", stripe_outbox_run()), ("balance credits", stripe_balance_outbox_run())):
                if run.queued or run.sent or run.failed or not options["every"]:
                    self.stdout.write(f"stripe outbox, {name}: {run.queued} queued, {run.sent} sent, "
                                      f"{run.failed} not sent")
            if not options["every"]:
                return
            time.sleep(options["every"])
