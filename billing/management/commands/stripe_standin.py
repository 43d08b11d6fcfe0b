"""``python manage.py stripe_standin``: run the local Stripe stand-in in the foreground.

Thin by design: everything lives in ``billing.stripe_standin`` (no Django there); this reads the
webhook secret and our public URL from settings so that the stand-in signs what we verify."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from billing.stripe_standin import StandinConfig, start_standin


class Command(BaseCommand):
    help = "Run the Stripe stand-in (Stripe's API for the calls Parley makes, Checkout/Portal pages) until Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.STRIPE_STANDIN_PORT)
        parser.add_argument("--webhook-url", default=f"{settings.PUBLIC_BASE_URL}/webhooks/stripe",
                            help="Where events are delivered (default: this platform's /webhooks/stripe).")
        parser.add_argument("--state", default=None,
                            help="A JSON file to keep the state in across restarts (read at start, written at stop), "
                                 "as Stripe keeps customers and meters; default: none, every start is empty.")

    def handle(self, *args: Any, **options: Any) -> None:
        standin = start_standin(StandinConfig(host=options["host"], port=options["port"],
                                              webhook_url=options["webhook_url"] or None,
                                              webhook_secret=settings.STRIPE_WEBHOOK_SECRET,
                                              state_file=options["state"]))
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        self.stdout.write(
            f"Stripe stand-in on {standin.url} (STRIPE_API_BASE={standin.url}, any sk_test_ key)\n"
            f"  webhooks -> {options['webhook_url']}\n"
            f"  control: {standin.url}/_standin/(health|faults|close_period|meter_events|webhooks|reset)\n"
            "Quit with Ctrl-C."
        )
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            standin.stop()
            self.stdout.write("Stripe stand-in stopped.")
