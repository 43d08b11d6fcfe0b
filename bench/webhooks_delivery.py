"""Webhooks benchmark: what recording events costs a job's status change, and how fast one
process delivers signed messages to a receiver on loopback, on a fresh database.

    .venv/bin/python bench/webhooks_delivery.py --messages 400 --threads 4
    createdb -h 127.0.0.1 -U postgres parley_bench_webhooks
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parley_bench_webhooks \\
        .venv/bin/python bench/webhooks_delivery.py --messages 400 --threads 4

1. Transitions: N jobs moved queued -> canceled by ``job_transition`` with no endpoint, then with
   three endpoints (two listening to job.canceled): the milliseconds per transition, which include
   the JobEvent, the budget release, the outbox rows and the on-commit enqueue.
2. Delivery: the messages of (1) and test events, sent by T threads calling
   ``webhook_message_send`` as django-q2 workers would (lease, sign with standardwebhooks, POST,
   log): messages per second and each attempt's latency p50/p95 as logged.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="parley-bench-webhooks-"))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{work / 'bench.sqlite3'}")
    os.environ.update({"DJANGO_SETTINGS_MODULE": "config.settings", "MEDIA_ROOT": str(work / "media"),
                       "Q_CLUSTER_NAME": f"bench-{os.getpid()}", "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",
                       "WEBHOOK_ALLOW_HTTP": "1", "LOG_LEVEL": "WARNING"})
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    call_command("migrate", verbosity=0)

    from accounts.actors import Actor
    from accounts.models import Role
    from accounts.services import tenant_create, user_create
    from jobs.models import Job, JobStatus
    from jobs.transitions import job_transition
    from webhooks.delivery import webhook_message_send
    from webhooks.models import WebhookAttempt, WebhookMessage
    from webhooks.services import webhook_endpoint_create

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("content-length", 0)))
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *a: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks"

    owner = user_create(email=f"bench-{uuid.uuid4().hex[:6]}@example.com", password="pw-Secret-123")
    tenant = tenant_create(name="Bench", owner=owner)

    def transitions(n: int) -> float:
        jobs = [Job.objects.create(tenant=tenant, model_id="local/still", provider="local", input={}, livemode=False,
                                   quote_seconds=1, quote_amount=0) for _ in range(n)]
        started = time.perf_counter()
        for job in jobs:
            job_transition(job=job, to=JobStatus.CANCELED, message="bench")
        return (time.perf_counter() - started) * 1000 / n

    n = args.messages // 2
    bare = transitions(n)
    test_actor = Actor(tenant=tenant, role=Role.OWNER, livemode=False)
    for events in (["job.canceled"], ["job.canceled", "job.failed"], ["job.running"]):
        webhook_endpoint_create(tenant=tenant, actor=test_actor, url=url, events=events)
    with_endpoints = transitions(n)
    ids = list(WebhookMessage.objects.values_list("id", flat=True))
    connection.close()

    def send(pk: int) -> None:
        try:
            webhook_message_send(message_id=pk)
        finally:
            connection.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(args.threads) as pool:
        list(pool.map(send, ids))
    wall = time.perf_counter() - started
    latencies = sorted(WebhookAttempt.objects.values_list("latency_ms", flat=True))
    delivered = WebhookMessage.objects.filter(status="delivered").count()
    server.shutdown()
    engine = connection.vendor
    print(f"database: {engine}; jobs per run: {n}; messages: {len(ids)}; threads: {args.threads}")
    print(f"job_transition queued->canceled: {bare:.2f} ms with no endpoint, {with_endpoints:.2f} ms with 3 "
          f"endpoints (2 listening)")
    print(f"delivered {delivered}/{len(ids)} in {wall:.2f} s: {len(ids) / wall:.0f} messages/s; "
          f"attempt latency p50 {statistics.median(latencies)} ms, "
          f"p95 {latencies[int(len(latencies) * 0.95) - 1]} ms")


if __name__ == "__main__":
    main()
