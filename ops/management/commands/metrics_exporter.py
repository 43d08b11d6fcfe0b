"""``python manage.py metrics_exporter --port 9464``: serve this machine's per-process metrics (the
provider request latencies and errors of its workers and pollers, summed over the processes sharing
``PROMETHEUS_MULTIPROC_DIR``) to Prometheus, on a machine that runs no web process to ask. The
platform's own figures (jobs, queues, outboxes) come from any web process's /metrics; this serves
none of them, so nothing is counted twice. Bind it to an address only Prometheus reaches."""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from prometheus_client import start_http_server

from ops.scrape import machine_registry


class Command(BaseCommand):
    help = "Serve the metrics of this machine's processes (PROMETHEUS_MULTIPROC_DIR) over HTTP for Prometheus."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=9464)
        parser.add_argument("--addr", default="127.0.0.1", help="Address to listen on (an internal one).")

    def handle(self, *args: Any, **options: Any) -> None:
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            raise CommandError("Set PROMETHEUS_MULTIPROC_DIR to the folder this machine's processes share.")
        registry = machine_registry(os.environ["PROMETHEUS_MULTIPROC_DIR"])
        server, thread = start_http_server(options["port"], addr=options["addr"], registry=registry)
        self.stdout.write(f"Serving {os.environ['PROMETHEUS_MULTIPROC_DIR']} at "
                          f"http://{options['addr']}:{server.server_port}/metrics")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        stop.wait()
        server.shutdown()
