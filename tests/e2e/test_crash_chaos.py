"""Crash safety under load, the short run (the long one is bench/crash_chaos.py): on PostgreSQL and
Redis, two worker clusters, two pollers and the Stripe outbox sender are SIGKILLed again and again,
each at a step of a job (submitting, running, finalizing, charging, delivering the tenant's
webhook), while jobs of the three hosted providers run through the emulator. Every job must end,
each succeeded job be charged once and the others never, Stripe's meter hold each charge once, every
provider task be a job's own or a recorded duplicate, and every webhook message reach the tenant's
receiver. Leases are short (JOB_LEASE_S=2) so recovery takes seconds."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import Role
from billing.stripe_standin import StandinConfig, start_standin
from providers.emulator.config import EmulatorConfig
from providers.emulator.server import start_emulator
from tests.conftest import database_url, upload
from tests.e2e.chaos import (
    MODELS,
    STEP_PROBES,
    Chaos,
    Fleet,
    all_final,
    books,
    inputs_for,
    outbox_drained,
    wait_until,
    webhooks_undelivered,
)
from tests.media_fixtures import make_png, make_wav
from webhooks.models import MessageStatus, WebhookMessage
from webhooks.services import webhook_endpoint_create
from webhooks.tasks import webhook_deliver_due_task

pytestmark = pytest.mark.e2e

JOBS = 12
MORE_JOBS = 24
REQUIRED = os.environ.get("REQUIRE_SERVICES") == "1"


class _Receiver(BaseHTTPRequestHandler):
    """The tenant's webhook receiver: slow (so a worker is caught mid-delivery), records each message id."""

    received: set[str] = set()

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(0.4)
        type(self).received.add(self.headers.get("webhook-id", ""))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(autouse=True)
def _services_and_credit(settings):
    if connection.vendor != "postgresql" or not django_settings.REDIS_URL:
        if REQUIRED:
            pytest.fail("REQUIRE_SERVICES=1 but PostgreSQL and Redis are not both configured")
        pytest.skip("crash chaos runs on PostgreSQL and Redis (set DATABASE_URL and REDIS_URL)")
    settings.FREE_ALLOWANCE_USD = Decimal("100000")  # before the tenant exists: live jobs are never refused


def test_kills_at_every_step_lose_nothing_and_charge_once(transactional_db, live_server, settings, api_client,
                                                          tenant, tmp_path):
    emulator = start_emulator(EmulatorConfig(
        api_key=settings.PROVIDER_EMULATOR_KEY, webhook_secret=settings.PROVIDER_EMULATOR_WEBHOOK_SECRET,
        queued_s=0.2, running_s=1.5, concurrency=50))
    standin = start_standin(StandinConfig(port=0, webhook_secret=settings.STRIPE_WEBHOOK_SECRET))
    settings.PROVIDER_EMULATOR_URL = emulator.url
    settings.WAVESPEED_API_KEY = settings.FAL_KEY = settings.DASHSCOPE_API_KEY = ""
    settings.STRIPE_API_BASE, settings.STRIPE_MAX_NETWORK_RETRIES = standin.url, 0
    settings.PUBLIC_BASE_URL = live_server.url
    settings.PROVIDER_CONCURRENCY = {name: 50 for name in settings.PROVIDER_CONCURRENCY}
    call_command("stripe_setup", stdout=open(os.devnull, "w"))  # noqa: SIM115
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    settings.OUTBOUND_ALLOWED_NETWORKS, settings.WEBHOOK_ALLOW_HTTP = "127.0.0.0/8", True
    emulator.set_faults(None, latency_s=0.5, output_latency_s=1.0)  # submits on the wire, slow downloads

    env = {**os.environ, "DATABASE_URL": database_url(), "MEDIA_ROOT": str(settings.MEDIA_ROOT),
           "PUBLIC_BASE_URL": live_server.url, "PROVIDER_EMULATOR_URL": emulator.url,
           "STRIPE_API_BASE": standin.url, "Q_CLUSTER_NAME": django_settings.Q_CLUSTER["name"], "Q_WORKERS": "2",
           "JOB_LEASE_S": "2", "JOB_SUBMIT_REPORT_WAIT_S": "8", "JOB_POLL_INTERVAL_S": "0.3",
           "JOB_POLL_MAX_INTERVAL_S": "1", "JOB_RETRY_BASE_S": "0.5", "STRIPE_OUTBOX_CLAIM_S": "3",
           "POLLER_CLAIM_S": "3", "POLLER_HOLD_S": "4",  # a killed poller's held jobs come back in seconds
           "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8", "WEBHOOK_ALLOW_HTTP": "1",
           "WEBHOOK_TIMEOUT_S": "2", "WEBHOOK_RETRY_BASE_S": "1",
           "PYTHONUNBUFFERED": "1",
           "WAVESPEED_CONCURRENCY": "50", "FAL_CONCURRENCY": "50", "DASHSCOPE_CONCURRENCY": "50", "LOG_LEVEL": "INFO"}
    env.pop("PYTEST_XDIST_WORKER", None)
    from django_q.brokers import get_broker

    get_broker().purge_queue()
    fleet = Fleet(env, tmp_path, {"worker": 2, "poller": 2, "outbox": 1})
    job_ids: list[str] = []
    chaos = Chaos(fleet, job_ids, seed=int(time.time()), pause_s=(0.5, 1.5), restart_s=(0.5, 1.5), aim_s=1.5)
    client = api_client(Role.MEMBER)
    try:
        webhook_endpoint_create(tenant=tenant, actor=Actor.system(tenant),
                                url=f"http://127.0.0.1:{receiver.server_port}/hooks", events=["job.succeeded"])
        image = upload(client, make_png(tmp_path / "face.png"))["id"]
        audio = upload(client, make_wav(tmp_path / "speech.wav", seconds=1.5))["id"]
        fleet.start_all()
        chaos.start()
        started = time.monotonic()
        # JOBS jobs, then more (up to MORE_JOBS) until every step has been struck or time is up.
        i = 0
        while i < JOBS or (i < MORE_JOBS and time.monotonic() - started < 40 and
                           {k.step for k in chaos.kills if k.aimed} != set(STEP_PROBES)):
            model = MODELS[i % len(MODELS)]
            response = client.post("/api/v1/jobs", {"model": model, "input": inputs_for(model, image, audio)},
                                   format="json")
            assert response.status_code == 201, response.content
            job_ids.append(response.json()["id"])
            i += 1
            time.sleep(1.5)
        created_at = time.monotonic()
        ended = wait_until(lambda: all_final(job_ids), timeout=75)
        ended_at = time.monotonic()
        chaos.stop()
        fleet.ensure_running()
        ended = ended or wait_until(lambda: all_final(job_ids), timeout=20)
        drained = wait_until(lambda: outbox_drained(job_ids), timeout=20)

        def delivered() -> bool:
            # Time shifted, not waited: a message whose worker was killed is handed out again by the
            # minute's sweep once its next attempt is due (5 minutes after its event) and its worker's
            # claim has lapsed (34 s here); the sweep runs here, its due time brought forward.
            WebhookMessage.objects.filter(job_id__in=job_ids, status=MessageStatus.PENDING).update(
                next_attempt_at=timezone.now())
            webhook_deliver_due_task()
            return not webhooks_undelivered(job_ids, _Receiver.received)

        delivered_all = wait_until(delivered, timeout=90)
        print(f"\nchaos: created in {created_at - started:.1f} s, all ended {ended_at - started:.1f} s, "
              f"drained {time.monotonic() - started:.1f} s")
        result = books(job_ids, provider_tasks=emulator.tasks, meter_events=standin.meter_events,
                       meter_rejections=httpx.get(f"{standin.url}/_standin/meter_events").json()["rejected_duplicates"])
    finally:
        chaos.stop()
        fleet.stop()
        emulator.stop()
        standin.stop()
        receiver.shutdown()
    kills = [(k.step, k.kind, k.aimed) for k in chaos.kills]
    print(f"chaos: {len(kills)} kills, aimed by step {dict(Counter(k.step for k in chaos.kills if k.aimed))}; "
          f"{result if 'result' in locals() else None}")
    detail = f"\nkills: {kills}\nbooks: {result if 'result' in locals() else None}\n{fleet.output()}"
    assert not chaos.errors, chaos.errors
    assert ended and drained, detail
    assert delivered_all, f"undelivered webhooks: {webhooks_undelivered(job_ids, _Receiver.received)}{detail}"
    assert result.problems() == [], detail
    assert result.jobs == len(job_ids) >= JOBS and result.statuses.get("succeeded", 0) == len(job_ids), detail
    assert {k.step for k in chaos.kills if k.aimed} == set(STEP_PROBES), detail  # each step struck
    assert len(chaos.kills) >= 6, detail
