"""Everything `make run` starts, in one terminal: the web server, a django-q2 worker cluster,
the job poller, the Stripe outbox sender, the provider emulator when a provider has no key and
the Stripe stand-in when STRIPE_SECRET_KEY is unset. Ctrl-C stops them all."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from providers.registry import hosted_provider_names, provider_is_emulated


class Command(BaseCommand):
    help = "Run web + worker + poller (+ provider emulator) together in the foreground."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument("--no-emulator", action="store_true")
        parser.add_argument("--no-stripe-standin", action="store_true")

    def _metrics_folder(self) -> str:
        """One folder the processes share their metrics through (prometheus_client's multiprocess
        mode), emptied at each start: the web's /metrics then shows the poller's and the workers'
        provider calls too, as in production (README, "Health and metrics")."""
        folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.path.join(settings.VAR_DIR, "metrics")
        os.makedirs(folder, exist_ok=True)
        for name in os.listdir(folder):
            if name.endswith(".db"):
                os.remove(os.path.join(folder, name))
        return folder

    def handle(self, *args: object, **options: object) -> None:
        python, manage = sys.executable, os.path.join(settings.BASE_DIR, "manage.py")
        processes: dict[str, list[str]] = {
            "web": [python, manage, "runserver", f"{options['host']}:{options['port']}", "--noreload"],
            "worker": [python, manage, "qcluster"],
            "poller": [python, manage, "job_poller"],
            "stripe-outbox": [python, manage, "stripe_outbox", "--every", "5"],
        }
        emulated = [p for p in hosted_provider_names() if provider_is_emulated(p)]
        if emulated and not options["no_emulator"]:
            port = settings.PROVIDER_EMULATOR_URL.rsplit(":", 1)[-1].split("/")[0]
            processes["emulator"] = [python, manage, "provider_emulator", "--port", port]
            self.stdout.write(f"Providers served by the emulator at {settings.PROVIDER_EMULATOR_URL}: "
                              f"{', '.join(emulated)} (set their API keys to call the real services).")
        if settings.STRIPE_STANDIN and not options["no_stripe_standin"]:
            # Its state kept in var/ as the database is: a restart still knows the customers the database names.
            processes["stripe-standin"] = [python, manage, "stripe_standin",
                                           "--port", str(settings.STRIPE_STANDIN_PORT),
                                           "--state", os.path.join(settings.VAR_DIR, "stripe_standin.json")]
            self.stdout.write(f"Stripe served by the stand-in at {settings.STRIPE_API_BASE} (set STRIPE_SECRET_KEY "
                              "to use Stripe, and run `manage.py stripe_setup` once against it).")
        children: dict[str, subprocess.Popen] = {}
        stopping = False

        def stop(*_: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": self._metrics_folder()}
        for name, cmd in processes.items():
            children[name] = subprocess.Popen(cmd, start_new_session=True, env=env)
        if "stripe-standin" in children:
            self._stripe_setup(python, manage)
        self.stdout.write(self.style.SUCCESS(
            f"Parley is up at http://{options['host']}:{options['port']}/ ({', '.join(children)}). Ctrl-C stops."))
        exit_code = 0
        try:
            while not stopping:
                for name, child in children.items():
                    if child.poll() is not None:
                        self.stderr.write(f"{name} exited with {child.returncode}; stopping the others.")
                        exit_code = child.returncode or 1
                        stopping = True
                        break
                time.sleep(0.3)
        finally:
            for child in children.values():
                if child.poll() is None:
                    os.killpg(child.pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            for child in children.values():
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    os.killpg(child.pid, signal.SIGKILL)
        if exit_code:
            sys.exit(exit_code)

    def _stripe_setup(self, python: str, manage: str) -> None:
        """The stand-in starts empty: create the meter and the price the outbox reports usage to, as
        `manage.py stripe_setup` does once against the real Stripe (it is idempotent)."""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", settings.STRIPE_STANDIN_PORT), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        subprocess.run([python, manage, "stripe_setup"], check=False)
