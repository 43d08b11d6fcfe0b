"""``python manage.py provider_emulator``: run the provider emulator in the foreground.

Thin by design: everything lives in ``providers.emulator`` (no Django there); this reads the key and
the WaveSpeed webhook secret from settings so that the platform's clients and the emulator agree.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from providers.emulator import EmulatorConfig, start_emulator


class Command(BaseCommand):
    help = "Run the WaveSpeed / fal / DashScope emulator (real paths, real downloads and renders) until Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        defaults = EmulatorConfig()
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8700)
        parser.add_argument("--public-url", default=None,
                            help="Base URL put in the URLs the emulator answers (default: http://host:port).")
        parser.add_argument("--queued-s", type=float, default=defaults.queued_s,
                            help="Seconds a task spends queued (at least).")
        parser.add_argument("--running-s", type=float, default=defaults.running_s,
                            help="Seconds a task spends running (at least).")
        parser.add_argument("--running-spread", type=float, default=defaults.running_spread,
                            help="Each task runs running-s x uniform(1 - spread, 1 + spread).")
        parser.add_argument("--reuse-renders", action="store_true",
                            help="Render identical inputs once (benchmarks of thousands of tasks).")
        parser.add_argument("--render-workers", type=int, default=defaults.render_workers,
                            help="Threads that download inputs and render (not held while a task runs).")
        parser.add_argument("--max-logged", type=int, default=defaults.max_logged,
                            help="Requests and webhook deliveries kept for inspection.")
        parser.add_argument("--concurrency", type=int, default=2,
                            help="Tasks each provider account runs at once; the rest stay queued (WaveSpeed: 2).")
        parser.add_argument("--output-ttl-s", type=float, default=defaults.output_ttl_s,
                            help="How long output URLs stay valid (DashScope's real ones: 24 h).")
        parser.add_argument("--work-dir", default=None, help="Where inputs and outputs go (default: a temp dir).")
        parser.add_argument("--fal-user-id", default=defaults.fal_user_id)

    def handle(self, *args: Any, **options: Any) -> None:
        config = EmulatorConfig(
            host=options["host"],
            port=options["port"],
            public_url=options["public_url"],
            api_key=settings.PROVIDER_EMULATOR_KEY,
            webhook_secret=settings.PROVIDER_EMULATOR_WEBHOOK_SECRET,
            fal_user_id=options["fal_user_id"],
            queued_s=options["queued_s"],
            running_s=options["running_s"],
            running_spread=options["running_spread"],
            reuse_renders=options["reuse_renders"],
            render_workers=options["render_workers"],
            max_logged=options["max_logged"],
            concurrency=options["concurrency"],
            output_ttl_s=options["output_ttl_s"],
            work_dir=options["work_dir"],
        )
        emulator = start_emulator(config)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        urls = emulator.base_urls
        self.stdout.write(
            f"Provider emulator on {emulator.url}\n"
            f"  WAVESPEED_BASE_URL={urls['wavespeed']}\n"
            f"  FAL_QUEUE_BASE_URL={urls['fal']}  FAL_JWKS_URL={urls['fal_jwks']}\n"
            f"  DASHSCOPE_BASE_URL={urls['dashscope']}\n"
            f"  control: {emulator.url}/_emulator/(requests|tasks|webhooks|faults|reset)\n"
            "Quit with Ctrl-C."
        )
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            emulator.stop()
            self.stdout.write("Provider emulator stopped.")
